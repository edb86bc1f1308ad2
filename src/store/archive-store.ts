import { Schema, type Connection } from 'mongoose';
import type { ArchiveRepository } from '../core/retirement.js';
import { keyed } from './keyed.js';

/** Archive bundles, one per agent (the agent id is the key: a repeated completion keeps the first). */
export function createArchiveRepository(connection: Connection): ArchiveRepository & { ensureIndexes(): Promise<void> } {
  const Archive =
    connection.models.Archive ??
    connection.model('Archive', new Schema({ _id: String }, { collection: 'archives', strict: false, versionKey: false }));
  return {
    async ensureIndexes() {
      await Archive.init();
    },
    async save(record) {
      const { agentId, ...rest } = record;
      await keyed(Archive).updateOne({ _id: agentId }, { $setOnInsert: rest }, { upsert: true });
    },
    async get(agentId) {
      const doc = await keyed(Archive).findOne({ _id: agentId });
      return doc ? { agentId, digest: doc.digest, bundle: doc.bundle, createdAt: doc.createdAt } : undefined;
    },
  };
}
