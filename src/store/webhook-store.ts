import type { Connection } from 'mongoose';
import type { AuditEntry } from '../core/audit.js';
import type { MessageRef } from '../core/notifications.js';
import type { WebhookDelivery, WebhookRepository, WebhookSubscriptionState } from '../core/webhooks.js';
import { AUDIT_COLLECTION } from './audit-store.js';
import { withEffects, withoutOutbox } from './outbox-store.js';

/*
 * Deliveries and per-subscription state. Every write is one atomic single-document update or an
 * insert under a unique `_id` (the embedded server has no transactions), which is what makes
 * several replicas safe: a delivery id is `<subscription>:<audit seq>`, the cursor moves only by
 * compare-and-set, and an attempt is claimed by a conditional update on (status, attempts, lease).
 * A subscription's state record is an outbox holder: its changes carry their audit entries.
 */

/** Collection of webhook deliveries. */
export const WEBHOOK_DELIVERIES = 'webhook_deliveries';
/** Collection of per-subscription state (cursor, owner's card). */
export const WEBHOOK_SUBSCRIPTIONS = 'webhook_subscriptions';

type DeliveryDoc = Omit<WebhookDelivery, 'id'> & { _id: string };
type StateDoc = Omit<WebhookSubscriptionState, 'id'> & { _id: string; outboxLeaseUntil?: Date; cardPostUntil?: Date };

/** The MongoDB webhook repository, plus index creation for start-up. */
export function createWebhookRepository(connection: Connection): WebhookRepository & { ensureIndexes(): Promise<void> } {
  const deliveries = connection.collection<DeliveryDoc>(WEBHOOK_DELIVERIES);
  const states = connection.collection<StateDoc>(WEBHOOK_SUBSCRIPTIONS);
  const audit = connection.collection(AUDIT_COLLECTION);

  const toDelivery = ({ _id, ...rest }: DeliveryDoc): WebhookDelivery => ({ id: _id, ...rest });
  // The record also holds its outbox (and a worker's lease on it) and a claim to post the card: not part of the state.
  const toState = (doc: StateDoc): WebhookSubscriptionState => {
    const { _id, outboxLeaseUntil: _lease, cardPostUntil: _claim, ...rest } = withoutOutbox(doc);
    return { id: _id, ...rest };
  };

  return {
    async ensureIndexes() {
      await deliveries.createIndex({ subscriptionId: 1, status: 1, seq: 1 });
      await deliveries.createIndex({ subscriptionId: 1, orderKey: 1, status: 1, seq: 1 });
    },

    async auditHead() {
      const [last] = await audit
        .find({}, { projection: { _id: 0, seq: 1 } })
        .sort({ seq: -1 })
        .limit(1)
        .toArray();
      return typeof last?.seq === 'number' ? last.seq : 0;
    },

    async auditAfter(seq, limit) {
      const docs = await audit
        .find({ seq: { $gt: seq } }, { projection: { _id: 0, key: 0 } })
        .sort({ seq: 1 })
        .limit(limit)
        .toArray();
      return docs as unknown as AuditEntry[];
    },

    async ensureState(subscriptionId, cursor) {
      try {
        await states.insertOne({ _id: subscriptionId, cursor, cardVersion: 0, cardShown: 0 });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      return toState((await states.findOne({ _id: subscriptionId }))!);
    },

    async state(subscriptionId) {
      const doc = await states.findOne({ _id: subscriptionId });
      return doc ? toState(doc) : undefined;
    },

    async advance(subscriptionId, from, to) {
      const result = await states.updateOne({ _id: subscriptionId, cursor: from }, { $set: { cursor: to } });
      return result.modifiedCount === 1;
    },

    async insert(items) {
      if (items.length === 0) return;
      try {
        // One command for the batch; unordered, so a duplicate does not stop the ones after it.
        await deliveries.insertMany(
          items.map(({ id, ...rest }) => ({ _id: id, ...rest })),
          { ordered: false },
        );
      } catch (err) {
        // Another replica queued some first: theirs are the same deliveries.
        if (!onlyDuplicateKeys(err)) throw err;
      }
    },

    async undelivered(subscriptionId, limit, orderKey) {
      const docs = await deliveries
        .find({ subscriptionId, status: { $in: ['pending', 'failed'] }, ...(orderKey === undefined ? {} : { orderKey }) })
        .sort({ seq: 1 })
        .limit(limit)
        .toArray();
      return docs.map(toDelivery);
    },

    async undeliveredKeys(subscriptionId) {
      const keys = await deliveries.distinct('orderKey', { subscriptionId, status: { $in: ['pending', 'failed'] } });
      return keys.filter((k): k is string => typeof k === 'string');
    },

    async claim(id, attempts, now, leaseUntil) {
      const result = await deliveries.updateOne(
        { _id: id, status: 'pending', attempts, $or: [{ leaseUntil: { $exists: false } }, { leaseUntil: { $lte: now } }] },
        { $set: { leaseUntil } },
      );
      return result.modifiedCount === 1;
    },

    async delivered(id, at, attempts) {
      await deliveries.updateOne({ _id: id }, { $set: { status: 'delivered', deliveredAt: at, attempts }, $unset: { leaseUntil: '' } });
    },

    async retryLater(id, update) {
      await deliveries.updateOne({ _id: id, status: 'pending' }, { $set: { ...update }, $unset: { leaseUntil: '' } });
    },

    async failed(id, update) {
      await deliveries.updateOne({ _id: id, status: 'pending' }, { $set: { status: 'failed', ...update }, $unset: { leaseUntil: '' } });
    },

    async requeueFailed(subscriptionId, now) {
      const result = await deliveries.updateMany(
        { subscriptionId, status: 'failed' },
        {
          $set: { status: 'pending', attempts: 0, nextAttemptAt: now },
          $unset: { firstAttemptAt: '', failedAt: '', leaseUntil: '', refusedStatus: '' },
        },
      );
      return result.modifiedCount;
    },

    async countFailed(subscriptionId) {
      return deliveries.countDocuments({ ...(subscriptionId ? { subscriptionId } : {}), status: 'failed' });
    },

    async refusals(subscriptionId) {
      const filter = { subscriptionId, status: 'failed' as const, refusedStatus: { $exists: true } };
      const [count, last] = await Promise.all([
        deliveries.countDocuments(filter),
        deliveries
          .find(filter, { projection: { refusedStatus: 1 } })
          .sort({ failedAt: -1 })
          .limit(1)
          .toArray(),
      ]);
      const lastStatus = last[0]?.refusedStatus;
      return { count, ...(typeof lastStatus === 'number' ? { lastStatus } : {}) };
    },

    async touchCard(subscriptionId, retried, effects = []) {
      await states.updateOne(
        { _id: subscriptionId },
        withEffects(
          {
            $inc: { cardVersion: 1 },
            ...(retried ? { $set: { retriedBy: retried.by, retriedAt: retried.at, retriedCount: retried.count } } : {}),
          },
          effects,
        ),
      );
    },

    async claimCardPost(subscriptionId, now, until) {
      const result = await states.updateOne(
        {
          _id: subscriptionId,
          cardRef: { $exists: false },
          $or: [{ cardPostUntil: { $exists: false } }, { cardPostUntil: { $lte: now } }],
        },
        { $set: { cardPostUntil: until } },
      );
      return result.modifiedCount === 1;
    },

    async releaseCardPost(subscriptionId) {
      await states.updateOne({ _id: subscriptionId, cardRef: { $exists: false } }, { $unset: { cardPostUntil: '' } });
    },

    async cardShown(subscriptionId, version, ref: MessageRef) {
      // The first post's reference is kept whatever the version: losing it would post a second card.
      await states.updateOne(
        { _id: subscriptionId, cardRef: { $exists: false } },
        { $set: { cardRef: ref }, $unset: { cardPostUntil: '' } },
      );
      // Only forwards: a slower process that rendered an older version never hides a newer one.
      await states.updateOne({ _id: subscriptionId, cardShown: { $lt: version } }, { $set: { cardShown: version, cardRef: ref } });
    },

    async disable(subscriptionId, at, reason, effects = []) {
      const result = await states.updateOne(
        { _id: subscriptionId, disabledAt: { $exists: false } },
        withEffects({ $set: { disabledAt: at, disabledReason: reason }, $inc: { cardVersion: 1 } }, effects),
      );
      return result.modifiedCount === 1;
    },

    async enable(subscriptionId, by, at, effects = []) {
      const result = await states.updateOne(
        { _id: subscriptionId, disabledAt: { $exists: true } },
        withEffects(
          { $set: { enabledBy: by, enabledAt: at }, $unset: { disabledAt: '', disabledReason: '' }, $inc: { cardVersion: 1 } },
          effects,
        ),
      );
      return result.modifiedCount === 1;
    },

    async staleCards() {
      // A handful of subscriptions: filtered here rather than with $expr (the embedded server lacks it).
      const docs = await states.find({ cardVersion: { $gt: 0 } }).toArray();
      return docs.filter((d) => d.cardVersion > d.cardShown).map(toState);
    },
  };
}

/** A bulk insert whose every failure is a duplicate `_id` (the rest were inserted). */
function onlyDuplicateKeys(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { writeErrors } = err as { writeErrors?: unknown };
  const list: unknown[] = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  if (list.length === 0) return isDuplicateKey(err);
  return list.every((e) => isDuplicateKey(e));
}

function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}
