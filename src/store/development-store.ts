import { OUTBOX_FIELD, toStored, withEffects } from './outbox-store.js';
import { Schema, type Connection } from 'mongoose';
import type { DevelopmentRepository, RetrainingRecord, VersionRecord } from '../core/development.js';
import { keyed } from './keyed.js';

/** Versions (`agentId:version` is unique) and each agent's retraining state (replaced conditionally). */
/** The fields a retraining record may leave out; one it leaves out is removed from the stored record. */
const RETRAINING_OPTIONAL = ['postponedUntil', 'reason', 'by', 'overdueNotifiedAt'] as const satisfies ReadonlyArray<
  keyof RetrainingRecord
>;

export function createDevelopmentRepository(connection: Connection): DevelopmentRepository & { ensureIndexes(): Promise<void> } {
  const versionSchema = new Schema(
    { _id: String, agentId: String },
    { collection: 'agent_versions', strict: false, minimize: false, versionKey: false },
  );
  versionSchema.index({ agentId: 1 });
  const Version = connection.models.AgentVersion ?? connection.model('AgentVersion', versionSchema);
  const Retraining =
    connection.models.Retraining ??
    connection.model(
      'Retraining',
      new Schema({ _id: String, state: String }, { collection: 'retraining', strict: false, versionKey: false }),
    );
  const strip = <T>(d: Record<string, unknown>): T => {
    const { _id, [OUTBOX_FIELD]: _outbox, outboxLeaseUntil: _lease, ...rest } = d;
    void _id;
    return rest as T;
  };
  return {
    async ensureIndexes() {
      await Version.init();
      await Retraining.init();
    },
    async saveVersion(v: VersionRecord, effects = []) {
      try {
        await keyed(Version).insertOne({
          _id: `${v.agentId}:${v.version}`,
          ...v,
          ...(effects.length > 0 ? { [OUTBOX_FIELD]: effects.map(toStored) } : {}),
        });
        return true;
      } catch (err) {
        if ((err as { code?: number }).code === 11000) return false;
        throw err;
      }
    },
    async versions(agentId) {
      return (await keyed(Version).find({ agentId: agentId }).sort({ proposedAt: 1 }).toArray()).map((d) => strip<VersionRecord>(d));
    },
    async updateVersion(agentId, version, patch, effects = []) {
      await keyed(Version).updateOne({ _id: `${agentId}:${String(version)}` }, withEffects({ $set: patch }, effects));
    },
    async retraining(agentId) {
      const d = await keyed(Retraining).findOne({ _id: agentId });
      return d ? strip<RetrainingRecord>(d) : undefined;
    },
    async setRetraining(record, expected, effects = []) {
      if (expected === undefined) {
        try {
          await keyed(Retraining).insertOne({
            _id: record.agentId,
            ...record,
            ...(effects.length > 0 ? { [OUTBOX_FIELD]: effects.map(toStored) } : {}),
          });
          return true;
        } catch (err) {
          if ((err as { code?: number }).code === 11000) return false;
          throw err;
        }
      }
      // $set and $unset, not a replacement: a replacement would drop the record's pending effects.
      const gone = RETRAINING_OPTIONAL.filter((k) => record[k] === undefined);
      const result = await keyed(Retraining).updateOne(
        { _id: record.agentId, state: expected },
        withEffects({ $set: { ...record }, ...(gone.length > 0 ? { $unset: Object.fromEntries(gone.map((k) => [k, ''])) } : {}) }, effects),
      );
      return result.modifiedCount === 1;
    },
  };
}
