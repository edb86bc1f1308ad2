import { Schema, type Connection } from 'mongoose';
import type { BoundaryChangeRecord, BoundaryChangeRepository } from '../core/boundary-changes.js';
import type { HandoffRecord, HandoffRepository } from '../core/handoffs.js';
import type { PendingEffect } from '../core/ports.js';
import type { RuntimeApprovalRecord, RuntimeApprovalRepository } from '../core/runtime-approvals.js';
import { readAllPages } from './paging.js';
import { telling } from './access-writes.js';
import { OUTBOX_FIELD, toStored, withEffects, withoutOutbox } from './outbox-store.js';
import { keyed } from './keyed.js';
import { groupedWrites } from './grouped-writes.js';

type Doc = Record<string, unknown>;

function fromDoc<T extends { id: string }>(d: Doc): T {
  const { _id, outboxLeaseUntil: _lease, ...rest } = withoutOutbox(d);
  return { id: String(_id), ...rest } as T;
}

/**
 * One document per record under a business id: insert-or-return-the-existing (a replayed request
 * meets the first one's unique `_id`; inserts asked for at once go as a group commit, see
 * {@link groupedWrites}), and conditional single-document updates. Each write may carry outbox
 * effects, stored in the same document write as the change they follow from.
 */
function keyedRepository<T extends { id: string }>(
  connection: Connection,
  options: { model: string; collection: string; fields: Record<string, unknown>; index: Record<string, 1 | -1> },
) {
  const schema = new Schema(
    { _id: String, ...options.fields },
    { collection: options.collection, strict: false, minimize: false, versionKey: false },
  );
  schema.index(options.index);
  const Model = connection.models[options.model] ?? connection.model(options.model, schema);
  // Records stored at once (many agents answered at once, issue 19) go in one insert command.
  const inserts = groupedWrites(() => keyed(Model));
  return {
    Model,
    async ensureIndexes(): Promise<void> {
      await Model.init();
    },
    async insert(record: T, effects: readonly PendingEffect[] = []): Promise<{ record: T; created: boolean }> {
      const { id, ...rest } = record;
      try {
        await inserts({
          insertOne: { document: { _id: id, ...rest, ...(effects.length ? { [OUTBOX_FIELD]: effects.map(toStored) } : {}) } },
        });
        return { record, created: true };
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
        const existing = await keyed(Model).findOne({ _id: id });
        if (!existing) throw err;
        return { record: fromDoc<T>(existing), created: false };
      }
    },
    async get(id: string): Promise<T | undefined> {
      const d = await keyed(Model).findOne({ _id: id });
      return d ? fromDoc<T>(d) : undefined;
    },
    async update(
      id: string,
      when: Record<string, unknown>,
      patch: Partial<T>,
      effects: readonly PendingEffect[] = [],
    ): Promise<T | undefined> {
      const filter: Doc = { ...when, _id: id };
      const result = await keyed(Model).findOneAndUpdate(filter as never, withEffects({ $set: patch }, effects) as never, {
        returnDocument: 'after',
      });
      return result ? fromDoc<T>(result) : undefined;
    },
  };
}

/**
 * Agents' runtime approval requests, one document each. The id is derived from the agent and its
 * idempotency key, so a replayed request meets the first one's unique `_id` and never creates a
 * second card; every state change is a conditional single-document update.
 */
export function createRuntimeApprovalRepository(connection: Connection): RuntimeApprovalRepository & { ensureIndexes(): Promise<void> } {
  const { Model, ...base } = keyedRepository<RuntimeApprovalRecord>(connection, {
    model: 'RuntimeApproval',
    collection: 'runtime_approvals',
    fields: { agentId: String, action: String, status: String, createdAt: String },
    index: { agentId: 1, createdAt: -1 },
  });
  return {
    ...base,
    async recent(agentId, limit) {
      return (await keyed(Model).find({ agentId: agentId }).sort({ createdAt: -1 }).limit(limit).toArray()).map((d) =>
        fromDoc<RuntimeApprovalRecord>(d),
      );
    },
    async attemptNumbers(attempts) {
      if (attempts.length === 0) return [];
      const DAY_MS = 86_400_000;
      const dayBefore = (createdAt: string) => new Date(Date.parse(createdAt) - DAY_MS).toISOString();
      const earliest = attempts.reduce((min, a) => (a.createdAt < min ? a.createdAt : min), attempts[0]!.createdAt);
      const latest = attempts.reduce((max, a) => (a.createdAt > max ? a.createdAt : max), attempts[0]!.createdAt);
      // Attempts from a day before the latest up to the earliest are in every window: counted per
      // agent and action in the database. The few others (the group's own, and those leaving the
      // windows) come back one row each and are counted here per attempt. So the read costs one
      // comparison per stored attempt, not one per stored attempt and asked-for attempt (a group of
      // 200 against a day of 2,000 attempts took seconds of the database's CPU).
      const common = { $and: [{ $gte: ['$createdAt', dayBefore(latest)] }, { $lt: ['$createdAt', earliest] }] };
      const key = (agentId: string, action: string) => `${agentId}\u0000${action}`;
      const pairs = [
        ...new Map(attempts.map((a) => [key(a.agentId, a.action), { agentId: String(a.agentId), action: String(a.action) }])).values(),
      ];
      const rows = await keyed(Model)
        .aggregate<{ _id: { agentId: string; action: string; id: string | null }; n: number; createdAt: string }>([
          { $match: { mode: 'forbidden', createdAt: { $gte: dayBefore(earliest), $lte: latest }, $or: pairs } },
          {
            $group: {
              _id: { agentId: '$agentId', action: '$action', id: { $cond: [common, null, '$_id'] } },
              n: { $sum: 1 },
              createdAt: { $min: '$createdAt' },
            },
          },
        ])
        .toArray();
      const inAll = new Map<string, number>();
      const others = new Map<string, Array<{ id: string; createdAt: string }>>();
      for (const { _id, n, createdAt } of rows) {
        const k = key(_id.agentId, _id.action);
        if (_id.id === null) inAll.set(k, n);
        else {
          const list = others.get(k) ?? [];
          list.push({ id: _id.id, createdAt });
          others.set(k, list);
        }
      }
      return attempts.map((a) => {
        const k = key(a.agentId, a.action);
        const from = dayBefore(a.createdAt);
        const upTo = (o: { id: string; createdAt: string }) =>
          o.createdAt >= from && (o.createdAt < a.createdAt || (o.createdAt === a.createdAt && o.id <= a.id));
        return (inAll.get(k) ?? 0) + (others.get(k) ?? []).filter(upTo).length;
      });
    },
  };
}

/** Hand-offs, one document each; claimed and resolved by conditional updates (exactly once). */
export function createHandoffRepository(connection: Connection): HandoffRepository & { ensureIndexes(): Promise<void> } {
  const { Model, ...base } = keyedRepository<HandoffRecord>(connection, {
    model: 'Handoff',
    collection: 'handoffs',
    fields: { agentId: String, status: String, createdAt: String },
    index: { status: 1, createdAt: -1 },
  });
  return {
    ...base,
    async addMessage(id, message) {
      await keyed(Model).updateOne({ _id: id }, { $push: { messages: message } } as never);
    },
    async open(person) {
      // Filtered in the query and read page by page: every case the person may work, however many are open.
      const docs = await readAllPages(
        keyed(Model),
        { status: { $in: ['open', 'taken'] }, $or: [{ people: String(person) }, { takenBy: String(person) }] },
        { field: 'createdAt' },
      );
      return docs.map((d) => fromDoc<HandoffRecord>(d));
    },
  };
}

/** Sponsors' boundary change requests, one document each; decided by a conditional update (exactly once). */
export function createBoundaryChangeRepository(connection: Connection): BoundaryChangeRepository & { ensureIndexes(): Promise<void> } {
  const { Model, ...base } = keyedRepository<BoundaryChangeRecord>(connection, {
    model: 'BoundaryChange',
    collection: 'boundary_changes',
    fields: { agentId: String, action: String, status: String, createdAt: String },
    index: { agentId: 1, action: 1, createdAt: -1 },
  });
  return {
    ...base,
    // A decided change alters what the agent may do: the agent API forgets the agent (src/store/access-writes.ts).
    insert: telling(connection, base.insert, ([record]) => [record.agentId]),
    update: telling(connection, base.update, (_args, record) => [record?.agentId]),
    async forAction(agentId, action) {
      // The whole history: its length names the next change's id, so a cut would reuse an old id.
      const docs = await readAllPages(keyed(Model), { agentId: agentId, action: String(action) }, { field: 'createdAt' });
      return docs.map((d) => fromDoc<BoundaryChangeRecord>(d));
    },
    async latestApproved(agentId, action) {
      const [d] = await keyed(Model)
        .find({ agentId: agentId, action: String(action), status: 'approved' })
        .sort({ createdAt: -1 })
        .limit(1)
        .toArray();
      return d ? fromDoc<BoundaryChangeRecord>(d) : undefined;
    },
    async approvedFor(agentId) {
      const docs = await readAllPages(keyed(Model), { agentId: agentId, status: 'approved' }, { field: 'createdAt' });
      return docs.map((d) => fromDoc<BoundaryChangeRecord>(d));
    },
    async pendingExcept(requester) {
      const docs = await readAllPages(keyed(Model), { status: 'pending', requestedBy: { $ne: String(requester) } }, { field: 'createdAt' });
      return docs.map((d) => fromDoc<BoundaryChangeRecord>(d));
    },
  };
}
