import { randomBytes } from 'node:crypto';
import { Schema, type Connection } from 'mongoose';
import type { FlowRun, RunRepository, StoredMessage } from '../flows/types.js';
import { withEffects, withoutOutbox, toStored, outboxOf } from './outbox-store.js';
import { readAllPages } from './paging.js';
import { currentFlowId, storedFlowIds } from '../flows/renamed-flows.js';
import { trustedId } from '../core/ids.js';
import { keyed, type KeyedDoc } from './keyed.js';
import { groupedWrites } from './grouped-writes.js';

const DUPLICATE_KEY = 11000;

interface RunDoc extends Omit<FlowRun, 'id'> {
  _id: string;
  /** Agent the run concerns, for queries by agent. */
  agentId?: string;
}

/**
 * Runs are stored whole, as plain JSON, and replaced with a compare-and-set on `version`
 * (single-document atomic update: no transactions needed).
 */
export function createRunRepository(
  connection: Connection,
  options: { pageSize?: number } = {},
): RunRepository & { ensureIndexes(): Promise<void> } {
  const runSchema = new Schema<RunDoc>(
    {
      _id: String,
      flowId: String,
      status: String,
      requester: String,
      subject: Schema.Types.Mixed,
      agentId: String,
      context: Schema.Types.Mixed,
      current: Number,
      steps: Schema.Types.Mixed,
      waitingFor: [String],
      events: Schema.Types.Mixed,
      version: Number,
      createdAt: String,
      updatedAt: String,
      endedAt: String,
      outcome: String,
    },
    { collection: 'flow_runs', minimize: false, versionKey: false, strict: false },
  );
  runSchema.index({ requester: 1, status: 1 });
  runSchema.index({ waitingFor: 1, status: 1 });
  runSchema.index({ agentId: 1, createdAt: -1 });
  const Run = connection.models.FlowRun ?? connection.model<RunDoc>('FlowRun', runSchema);

  const messageSchema = new Schema(
    { _id: String, runId: String, stepId: String, person: String, kind: String, ref: Schema.Types.Mixed, at: Date },
    { collection: 'flow_messages', minimize: false, versionKey: false },
  );
  messageSchema.index({ runId: 1, stepId: 1 });
  const Message = connection.models.FlowMessage ?? connection.model('FlowMessage', messageSchema);

  const toDoc = (run: FlowRun): RunDoc => {
    const { id, ...rest } = run;
    return { _id: id, agentId: run.subject.agentId, ...rest };
  };
  const fromDoc = (doc: Record<string, unknown>): FlowRun => {
    const { _id, agentId: _agentId, outboxLeaseUntil: _lease, ...rest } = withoutOutbox(doc);
    const run = rest as Omit<FlowRun, 'id'>;
    return { id: trustedId('RunId', String(_id)), ...run, flowId: currentFlowId(String(run.flowId)) };
  };

  // Runs started and cards sent at once (many agents asking at once) are written together.
  const runWrites = groupedWrites(() => keyed(Run));
  const messageWrites = groupedWrites(() => keyed(Message));

  return {
    async ensureIndexes() {
      await Run.init();
      await Message.init();
    },
    async create(run, effects = []) {
      try {
        await runWrites({ insertOne: { document: { ...toDoc(run), outbox: effects.map(toStored) } as KeyedDoc } });
        return true;
      } catch (err) {
        if ((err as { code?: number }).code === DUPLICATE_KEY) return false;
        throw err;
      }
    },
    async get(id) {
      if (typeof id !== 'string') return undefined;
      const doc = await keyed(Run).findOne({ _id: id });
      return doc ? fromDoc(doc) : undefined;
    },
    async replace(run, expectedVersion, effects = []) {
      // `$set` of the run's fields and `$push` of its effects: the outbox itself is never rewritten,
      // so effects the worker removed meanwhile stay removed.
      const { _id, ...fields } = toDoc(run);
      const after = await keyed(Run).findOneAndUpdate(
        { _id: _id, version: expectedVersion },
        withEffects({ $set: withoutOutbox(fields as unknown as Record<string, unknown>) }, effects),
        { returnDocument: 'after', projection: { outbox: 1 } },
      );
      return after ? outboxOf(after) : undefined;
    },
    async list(filter) {
      const query: Record<string, unknown> = {};
      if (filter.requester) query.requester = String(filter.requester);
      if (filter.waitingFor) query.waitingFor = String(filter.waitingFor);
      if (filter.status) query.status = { $in: filter.status.map(String) };
      if (filter.agentId) query.agentId = filter.agentId;
      if (filter.flowId) query.flowId = { $in: storedFlowIds(String(filter.flowId)) };
      const docs = await readAllPages(keyed(Run), query, {
        field: 'createdAt',
        ...(options.pageSize ? { pageSize: options.pageSize } : {}),
      });
      return docs.map(fromDoc);
    },
    async saveMessage(message: StoredMessage, id?: string) {
      const doc = { ...message, at: new Date() };
      if (!id) {
        await keyed(Message).insertOne({ _id: `msg_${randomBytes(8).toString('hex')}`, ...doc });
        return;
      }
      await messageWrites({ updateOne: { filter: { _id: id }, update: { $set: doc }, upsert: true } });
    },
    async claimMessage(id, now, staleBefore) {
      // The claim has no runId, so no query for a run's messages sees it before the ref is saved.
      const inserted = await messageWrites({
        updateOne: { filter: { _id: id }, update: { $setOnInsert: { claimedAt: now } }, upsert: true },
      });
      if (inserted.upserted) return 'claimed';
      const existing = await keyed(Message).findOne({ _id: id });
      if (!existing || existing.ref) return 'sent';
      const taken = await keyed(Message).updateOne(
        { _id: id, ref: { $exists: false }, claimedAt: { $lt: staleBefore } },
        { $set: { claimedAt: now } },
      );
      return taken.modifiedCount === 1 ? 'claimed' : 'busy';
    },
    async releaseMessage(id, claimedAt) {
      await keyed(Message).deleteOne({ _id: id, ref: { $exists: false }, claimedAt });
    },
    async messages(runId, filter = {}) {
      const query: Record<string, unknown> = { runId: runId };
      if (filter.stepId) query.stepId = String(filter.stepId);
      if (filter.kind) query.kind = String(filter.kind);
      const docs = await keyed(Message).find(query).toArray();
      return docs.map(
        (d) => ({ runId: d.runId, stepId: d.stepId ?? undefined, person: d.person, kind: d.kind, ref: d.ref }) as StoredMessage,
      );
    },
  };
}
