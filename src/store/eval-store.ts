import { trustedId } from '../core/ids.js';
import { Schema, type Connection } from 'mongoose';
import type { EndpointRecord, EvalCaseRecord, EvalRepository, EvalRunRecord } from '../evals/types.js';
import { outboxOf, toStored, withEffects, withoutOutbox } from './outbox-store.js';
import { keyed } from './keyed.js';

/**
 * Suite runs, their cases and endpoints. A running run carries `activeKey` = its agent id, which
 * is unique, so two suites never run against one agent at once (even from two processes); a
 * finished run's key becomes `<agentId>#<runId>`. Cases are keyed `<runId>:<caseId>`, so a case
 * finished twice (a resume racing a slow process) counts once; the run's `done` and `passed`
 * are refreshed with its progress and set from the cases when it ends. A run's end and its
 * effects (audit entry, verdict cards, the gate's signal) are one update: the run carries an outbox.
 */
export function createEvalRepository(connection: Connection): EvalRepository & { ensureIndexes(): Promise<void> } {
  const runSchema = new Schema(
    { _id: String, activeKey: { type: String, unique: true }, agentId: String, status: String },
    { collection: 'eval_runs', strict: false, minimize: false, versionKey: false },
  );
  runSchema.index({ agentId: 1, startedAt: -1 });
  const Run = connection.models.EvalRun ?? connection.model('EvalRun', runSchema);
  const caseSchema = new Schema({ _id: String, runId: String }, { collection: 'eval_cases', strict: false, versionKey: false });
  caseSchema.index({ runId: 1, index: 1 });
  const Case = connection.models.EvalCase ?? connection.model('EvalCase', caseSchema);
  const endpointSchema = new Schema({ _id: String, agentId: String }, { collection: 'eval_endpoints', strict: false, versionKey: false });
  const Endpoint = connection.models.EvalEndpoint ?? connection.model('EvalEndpoint', endpointSchema);

  const fromRun = (d: Record<string, unknown>): EvalRunRecord => {
    const { _id, activeKey: _k, outboxLeaseUntil: _lease, ...rest } = withoutOutbox(d);
    return { id: trustedId('EvalRunId', String(_id)), ...(rest as Omit<EvalRunRecord, 'id'>) };
  };
  const strip = <T>(d: Record<string, unknown>): T => {
    const { _id, outboxLeaseUntil: _lease, ...rest } = withoutOutbox(d);
    void _id;
    return rest as T;
  };
  const duplicate = (err: unknown) => (err as { code?: number }).code === 11000;

  return {
    async ensureIndexes() {
      await Promise.all([Run.init(), Case.init(), Endpoint.init()]);
    },
    async insertRun(run, effects = []) {
      const { id, ...rest } = run;
      try {
        await keyed(Run).insertOne({ _id: id, activeKey: run.agentId, ...rest, outbox: effects.map(toStored) });
        return true;
      } catch (err) {
        if (duplicate(err)) return false;
        throw err;
      }
    },
    async getRun(id) {
      const d = await keyed(Run).findOne({ _id: id });
      return d ? fromRun(d) : undefined;
    },
    async activeRun(agentId) {
      const d = await keyed(Run).findOne({ activeKey: agentId });
      return d ? fromRun(d) : undefined;
    },
    async runs(filter) {
      const query: Record<string, unknown> = {};
      if (filter.agentId) query.agentId = filter.agentId;
      else if (filter.agentIds) query.agentId = { $in: filter.agentIds.map(String) };
      if (filter.status) query.status = { $in: filter.status };
      if (filter.purpose) query.purpose = filter.purpose;
      return (await keyed(Run).find(query).sort({ startedAt: -1 }).toArray()).map(fromRun);
    },
    async patchRunning(id, patch) {
      await keyed(Run).updateOne({ _id: id, status: 'running' }, { $set: patch });
    },
    async takeLease(id, owner, until, now) {
      const r = await keyed(Run).updateOne(
        { _id: id, status: 'running', $or: [{ leaseUntil: { $lt: now } }, { leaseOwner: owner }] },
        { $set: { leaseOwner: owner, leaseUntil: until } },
      );
      return r.modifiedCount === 1 || r.matchedCount === 1;
    },
    async renewLease(id, owner, until) {
      const r = await keyed(Run).updateOne({ _id: id, status: 'running', leaseOwner: owner }, { $set: { leaseUntil: until } });
      return r.matchedCount === 1;
    },
    async finish(id, patch, effects = []) {
      const current = await keyed(Run).findOne({ _id: id, status: 'running' });
      if (!current) return undefined;
      const after = await keyed(Run).findOneAndUpdate(
        { _id: id, status: 'running' },
        withEffects(
          {
            $set: { ...withoutOutbox(patch as Record<string, unknown>), activeKey: `${String(current.agentId)}#${id}` },
            $unset: { leaseOwner: '', leaseUntil: '' },
          },
          effects,
        ),
        { returnDocument: 'after', projection: { outbox: 1 } },
      );
      return after ? outboxOf(after) : undefined;
    },
    async orphans(now) {
      return (
        await keyed(Run)
          .find({ status: 'running', leaseUntil: { $lt: now } })
          .toArray()
      ).map(fromRun);
    },
    async saveCase(c) {
      try {
        await keyed(Case).insertOne({ _id: `${c.runId}:${c.caseId}`, ...c });
      } catch (err) {
        if (!duplicate(err)) throw err;
      }
    },
    async cases(runId) {
      return (await keyed(Case).find({ runId: runId }).sort({ index: 1 }).toArray()).map((d) => strip<EvalCaseRecord>(d));
    },
    async saveEndpoint(e, effects = []) {
      // Set field by field (what the record lacks is removed), so the endpoint's outbox is kept with the new effects added.
      const absent = (['target', 'secret'] as const).filter((k) => e[k] === undefined);
      await keyed(Endpoint).updateOne(
        { _id: `${e.agentId}:${e.version}` },
        withEffects({ $set: e, ...(absent.length > 0 ? { $unset: Object.fromEntries(absent.map((k) => [k, ''])) } : {}) }, effects),
        { upsert: true },
      );
    },
    async endpoint(agentId, version) {
      const d = await keyed(Endpoint).findOne({ _id: `${agentId}:${String(version)}` });
      return d ? strip<EndpointRecord>(d) : undefined;
    },
    async latestEndpoint(agentId) {
      const [d] = await keyed(Endpoint).find({ agentId: agentId }).sort({ registeredAt: -1 }).limit(1).toArray();
      return d ? strip<EndpointRecord>(d) : undefined;
    },
  };
}
