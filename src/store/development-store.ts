import { Schema, type Connection } from 'mongoose';
import type { DevelopmentRepository, RetrainingRecord, VersionRecord } from '../core/development.js';

/** Versions (`agentId:version` is unique) and each agent's retraining state (replaced conditionally). */
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
    const { _id, ...rest } = d;
    void _id;
    return rest as T;
  };
  return {
    async ensureIndexes() {
      await Version.init();
      await Retraining.init();
    },
    async saveVersion(v: VersionRecord) {
      try {
        await Version.collection.insertOne({ _id: `${v.agentId}:${v.version}` as never, ...v });
        return true;
      } catch (err) {
        if ((err as { code?: number }).code === 11000) return false;
        throw err;
      }
    },
    async versions(agentId) {
      return (
        await Version.collection
          .find({ agentId: String(agentId) })
          .sort({ proposedAt: 1 })
          .toArray()
      ).map((d) => strip<VersionRecord>(d));
    },
    async updateVersion(agentId, version, patch) {
      await Version.collection.updateOne({ _id: `${String(agentId)}:${String(version)}` as never }, { $set: patch });
    },
    async retraining(agentId) {
      const d = await Retraining.collection.findOne({ _id: String(agentId) as never });
      return d ? strip<RetrainingRecord>(d) : undefined;
    },
    async setRetraining(record, expected) {
      if (expected === undefined) {
        try {
          await Retraining.collection.insertOne({ _id: record.agentId as never, ...record });
          return true;
        } catch (err) {
          if ((err as { code?: number }).code === 11000) return false;
          throw err;
        }
      }
      const result = await Retraining.collection.replaceOne({ _id: record.agentId as never, state: expected }, record);
      return result.modifiedCount === 1;
    },
  };
}
