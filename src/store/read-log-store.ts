import type { Connection } from 'mongoose';
import type { ReadLog } from '../core/audit.js';

/** The collection of recorded reads (who looked at which agents, when). */
export const READ_LOG_COLLECTION = 'audit_reads';

/**
 * Reads recorded beside the audit chain, one plain insert each: a `show` or `list` never waits for
 * the chain's next sequence number (which writers race for) or its append queue. Entries are
 * append-only like the chain's, but not hash-chained: they record access, not changes.
 */
export function createReadLog(connection: Connection, clock: () => Date = () => new Date()): ReadLog & { ensureIndexes(): Promise<void> } {
  const collection = connection.collection(READ_LOG_COLLECTION);
  return {
    async ensureIndexes() {
      await collection.createIndex({ 'subject.agentId': 1, at: 1 });
      await collection.createIndex({ at: 1 });
    },
    async record(entry) {
      await collection.insertOne({
        at: entry.at ?? clock(),
        actor: entry.actor,
        action: String(entry.action),
        subject: entry.subject,
        details: entry.details ?? {},
      });
    },
    async list(filter = {}) {
      const query: Record<string, unknown> = {};
      if (filter.agentId !== undefined) query['subject.agentId'] = filter.agentId;
      const docs = await collection
        .find(query, { projection: { _id: 0 } })
        .sort({ at: 1 })
        .limit(Math.min(filter.limit ?? 1000, 10_000))
        .toArray();
      return docs as unknown as Awaited<ReturnType<ReadLog['list']>>;
    },
  };
}
