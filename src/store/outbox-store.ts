import type { Connection } from 'mongoose';
import type { CardDeliveries } from '../core/chat-effects.js';
import type { DueEffect, HolderRef, OutboxRepository, PendingEffect } from '../core/ports.js';
import type { KeyedDoc } from './keyed.js';

/*
 * The outbox lives inside each holder document, in an `outbox` array, so that a state change and
 * the effects it implies are one single-document atomic update (no transactions: the embedded
 * server has none, and real MongoDB works the same way). Writers only ever `$push` to the array
 * and workers `$pull` from it or `$set` one element: neither overwrites the other's change, so a
 * performed effect is never resurrected by a concurrent writer that read the record before.
 */

/** The field holding a document's pending effects. */
export const OUTBOX_FIELD = 'outbox';
/** Until when a worker holds a document's outbox. */
const LEASE_FIELD = 'outboxLeaseUntil';

/**
 * Adds `effects` to an update: `$push` to the outbox, beside whatever else the update `$set`s or
 * `$push`es. Use it in the store method that makes the state change, so both are written in one
 * atomic update.
 */
export function withEffects(update: Record<string, unknown>, effects: readonly PendingEffect[]): Record<string, unknown> {
  if (effects.length === 0) return update;
  const push = (update.$push ?? {}) as Record<string, unknown>;
  return { ...update, $push: { ...push, [OUTBOX_FIELD]: { $each: effects.map(toStored) } } };
}

/** Removes the outbox from a document read whole, so that a `$set` of the rest never rewrites it. */
export function withoutOutbox<T extends Record<string, unknown>>(doc: T): Omit<T, typeof OUTBOX_FIELD> {
  const { [OUTBOX_FIELD]: _outbox, ...rest } = doc;
  return rest;
}

/** The stored form of an effect (plain BSON). */
export function toStored(effect: PendingEffect): Record<string, unknown> {
  return {
    id: effect.id,
    type: effect.type,
    data: effect.data,
    due: effect.due,
    attempts: effect.attempts,
    createdAt: effect.createdAt,
    ...(effect.lastError ? { lastError: effect.lastError } : {}),
    ...(effect.parkedAt ? { parkedAt: effect.parkedAt } : {}),
  };
}

/** The pending effects of a document read with its outbox. */
export function outboxOf(doc: Record<string, unknown>): PendingEffect[] {
  return ((doc[OUTBOX_FIELD] as Record<string, unknown>[] | undefined) ?? []).map(fromStored);
}

function fromStored(doc: Record<string, unknown>): PendingEffect {
  return {
    id: String(doc.id),
    type: String(doc.type),
    data: doc.data,
    due: new Date(doc.due as Date),
    attempts: Number(doc.attempts ?? 0),
    createdAt: new Date((doc.createdAt as Date | undefined) ?? 0),
    ...(typeof doc.lastError === 'string' ? { lastError: doc.lastError } : {}),
    ...(doc.parkedAt ? { parkedAt: new Date(doc.parkedAt as Date) } : {}),
  };
}

/**
 * The outbox repository over the collections that hold effects: `holders` maps a holder kind
 * (`run`, `grant`, `alert`…) to its collection.
 */
export function createOutboxRepository(
  connection: Connection,
  holders: Record<string, string>,
): OutboxRepository & {
  ensureIndexes(): Promise<void>;
} {
  const collection = (kind: string) => {
    const name = holders[kind];
    if (!name) throw new Error(`no outbox holder of kind ${kind}`);
    return connection.collection<KeyedDoc>(name);
  };
  const byId = (holder: HolderRef) => ({ _id: holder.id });

  async function withOutboxes(query: Record<string, unknown>, visit: (holder: HolderRef, effects: PendingEffect[]) => void): Promise<void> {
    for (const kind of Object.keys(holders)) {
      const cursor = collection(kind).find(query, { projection: { [OUTBOX_FIELD]: 1 } });
      for await (const doc of cursor) {
        visit({ kind, id: doc._id }, outboxOf(doc));
      }
    }
  }

  return {
    async ensureIndexes() {
      // Multikey index: real MongoDB finds due effects without a scan (the embedded server ignores it).
      for (const kind of Object.keys(holders)) await collection(kind).createIndex({ [`${OUTBOX_FIELD}.due`]: 1 });
    },

    async due(now, limit) {
      const found: DueEffect[] = [];
      await withOutboxes({ [`${OUTBOX_FIELD}.due`]: { $lte: now } }, (holder, effects) => {
        // Parked effects come along: they hold back the later effects of their type.
        for (const effect of effects) if (effect.parkedAt || effect.due.getTime() <= now.getTime()) found.push({ holder, effect });
      });
      // Stable: within a holder, stored order is the order the effects were enqueued in.
      return found.sort((a, b) => a.effect.createdAt.getTime() - b.effect.createdAt.getTime()).slice(0, limit);
    },

    async claim(holder, now, until) {
      // One worker at a time per holder (the embedded server has no positional update by $elemMatch).
      const result = await collection(holder.kind).updateOne(
        { ...byId(holder), $or: [{ [LEASE_FIELD]: { $exists: false } }, { [LEASE_FIELD]: { $lte: now } }] },
        { $set: { [LEASE_FIELD]: until } },
      );
      return result.modifiedCount === 1;
    },

    async release(holder) {
      await collection(holder.kind).updateOne(byId(holder), { $unset: { [LEASE_FIELD]: '' } });
    },

    async done(holder, effectIds) {
      await collection(holder.kind).updateOne(byId(holder), { $pull: { [OUTBOX_FIELD]: { id: { $in: effectIds } } } } as never);
    },

    async doneMany(done) {
      const byKind = new Map<string, { ids: string[]; effectIds: string[] }>();
      for (const { holder, effectIds } of done) {
        if (effectIds.length === 0) continue;
        const group = byKind.get(holder.kind) ?? { ids: [], effectIds: [] };
        group.ids.push(holder.id);
        group.effectIds.push(...effectIds);
        byKind.set(holder.kind, group);
      }
      for (const [kind, { ids, effectIds }] of byKind) {
        // Effect ids are unique across Roster, so pulling all of them from each holder removes only its own.
        await collection(kind).updateMany({ _id: { $in: ids } }, {
          $pull: { [OUTBOX_FIELD]: { id: { $in: effectIds } } },
        } as never);
      }
    },

    async failed(holder, effectId, update) {
      await collection(holder.kind).updateOne(
        { ...byId(holder), [`${OUTBOX_FIELD}.id`]: effectId },
        {
          $set: {
            [`${OUTBOX_FIELD}.$.attempts`]: update.attempts,
            [`${OUTBOX_FIELD}.$.due`]: update.due,
            [`${OUTBOX_FIELD}.$.lastError`]: update.lastError,
            ...(update.parkedAt ? { [`${OUTBOX_FIELD}.$.parkedAt`]: update.parkedAt } : {}),
          },
        },
      );
    },

    async append(holder, effects) {
      const result = await collection(holder.kind).updateOne(byId(holder), withEffects({}, effects));
      return result.matchedCount === 1;
    },

    async depth() {
      let pending = 0;
      let parked = 0;
      await withOutboxes({ [`${OUTBOX_FIELD}.id`]: { $exists: true } }, (_holder, effects) => {
        for (const effect of effects) {
          if (effect.parkedAt) parked += 1;
          else pending += 1;
        }
      });
      return { pending, parked };
    },

    async parked(limit) {
      const found: DueEffect[] = [];
      await withOutboxes({ [`${OUTBOX_FIELD}.parkedAt`]: { $exists: true } }, (holder, effects) => {
        for (const effect of effects) if (effect.parkedAt) found.push({ holder, effect });
      });
      return limit === undefined ? found : found.slice(0, limit);
    },

    async parkedEffect(effectId) {
      let found: DueEffect | undefined;
      await withOutboxes({ [`${OUTBOX_FIELD}.id`]: effectId }, (holder, effects) => {
        const effect = effects.find((e) => e.id === effectId && e.parkedAt);
        if (effect) found = { holder, effect };
      });
      return found;
    },

    async unpark(holder, effectId, now) {
      const result = await collection(holder.kind).updateOne(
        { ...byId(holder), [`${OUTBOX_FIELD}.id`]: effectId },
        { $set: { [`${OUTBOX_FIELD}.$.due`]: now, [`${OUTBOX_FIELD}.$.attempts`]: 0 }, $unset: { [`${OUTBOX_FIELD}.$.parkedAt`]: '' } },
      );
      return result.modifiedCount === 1;
    },
  };
}

/** Card deliveries by effect id (`card_deliveries`), for the `chat.send` performer. */
export function createCardDeliveries(connection: Connection): CardDeliveries {
  const deliveries = connection.collection<KeyedDoc>('card_deliveries');
  const self: CardDeliveries = {
    async claim(id, now, staleBefore) {
      const inserted = await deliveries.updateOne({ _id: id }, { $setOnInsert: { claimedAt: now } }, { upsert: true });
      if (inserted.upsertedCount === 1) return 'claimed';
      const existing = await deliveries.findOne({ _id: id });
      if (!existing || existing.sentAt) return 'sent';
      const taken = await deliveries.updateOne(
        { _id: id, sentAt: { $exists: false }, claimedAt: { $lt: staleBefore } },
        { $set: { claimedAt: now } },
      );
      return taken.modifiedCount === 1 ? 'claimed' : 'busy';
    },
    async claimMany(ids, now, staleBefore) {
      const claims = new Map<string, 'sent' | 'busy' | 'claimed'>();
      if (ids.length === 0) return claims;
      const result = await deliveries.bulkWrite(
        ids.map((id) => ({ updateOne: { filter: { _id: id }, update: { $setOnInsert: { claimedAt: now } }, upsert: true } })),
        { ordered: false },
      );
      for (const index of Object.keys(result.upsertedIds)) claims.set(ids[Number(index)]!, 'claimed');
      // Deliveries met already (a retried effect) are rare: they are settled one by one, as claim() does.
      for (const id of ids) if (!claims.has(id)) claims.set(id, await self.claim(id, now, staleBefore));
      return claims;
    },
    async sent(id, to, ref) {
      await deliveries.updateOne({ _id: id }, { $set: { sentAt: new Date(), to, ...(ref ? { ref } : {}) } });
    },
    async sentMany(items) {
      if (items.length === 0) return;
      const sentAt = new Date();
      await deliveries.bulkWrite(
        items.map(({ id, to, ref }) => ({
          updateOne: { filter: { _id: id }, update: { $set: { sentAt, to, ...(ref ? { ref } : {}) } } },
        })),
        { ordered: false },
      );
    },
    async release(id, claimedAt) {
      await deliveries.deleteOne({ _id: id, sentAt: { $exists: false }, claimedAt });
    },
  };
  return self;
}
