import type { Connection } from 'mongoose';
import type { ReviewCycle, ReviewCycleRepository } from '../core/access-review.js';
import { toStored, withEffects, withoutOutbox } from './outbox-store.js';
import type { KeyedDoc } from './keyed.js';

/** The collection of access review cycles, one document per cycle id. */
export const REVIEW_CYCLES = 'access_review_cycles';

const isDuplicate = (err: unknown) => (err as { code?: unknown }).code === 11000;

/**
 * Access review cycles, one document each (the cycle id is `_id`, so a cycle exists once): the
 * record whose outbox holds a cycle's start (audit entry, review cards, deadline timer) and its
 * escalation (audit entry, notices), each written with the update that records it.
 */
export function createReviewCycleRepository(connection: Connection): ReviewCycleRepository {
  const col = connection.collection<KeyedDoc>(REVIEW_CYCLES);
  const strip = (doc: Record<string, unknown> | null): ReviewCycle | undefined => {
    if (!doc) return undefined;
    const { _id, outboxLeaseUntil: _lease, ...rest } = withoutOutbox(doc);
    return { ...(rest as Omit<ReviewCycle, 'id'>), id: String(_id) };
  };
  return {
    async create(cycle, effects = []) {
      const { id, ...rest } = cycle;
      try {
        await col.insertOne({ _id: id, ...rest, ...(effects.length ? { outbox: effects.map(toStored) } : {}) });
        return true;
      } catch (err) {
        if (isDuplicate(err)) return false;
        throw err;
      }
    },
    async get(id) {
      return strip(await col.findOne({ _id: id }));
    },
    async announce(id, announced, effects = []) {
      const result = await col.updateOne({ _id: id, announced: { $exists: false } }, withEffects({ $set: { announced } }, effects));
      return result.modifiedCount === 1;
    },
    async escalate(id, escalated, effects = []) {
      try {
        // An upsert: a cycle started before cycles had records gets one now.
        const result = await col.updateOne({ _id: id, escalated: { $exists: false } }, withEffects({ $set: { escalated } }, effects), {
          upsert: true,
        });
        return result.modifiedCount === 1 || result.upsertedCount === 1;
      } catch (err) {
        // Escalated already: the filter missed the record, and the upsert met its id.
        if (isDuplicate(err)) return false;
        throw err;
      }
    },
  };
}
