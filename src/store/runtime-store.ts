import { Schema, type Connection } from 'mongoose';
import type { HandoffRecord, HandoffRepository } from '../core/handoffs.js';
import type { RuntimeApprovalRecord, RuntimeApprovalRepository } from '../core/runtime-approvals.js';

type Doc = Record<string, unknown>;

function fromDoc<T extends { id: string }>(d: Doc): T {
  const { _id, ...rest } = d;
  return { id: String(_id), ...rest } as T;
}

/**
 * Agents' runtime approval requests, one document each. The id is derived from the agent and its
 * idempotency key, so a replayed request meets the first one's unique `_id` and never creates a
 * second card; every state change is a conditional single-document update.
 */
export function createRuntimeApprovalRepository(connection: Connection): RuntimeApprovalRepository & { ensureIndexes(): Promise<void> } {
  const schema = new Schema(
    { _id: String, agentId: String, action: String, status: String, createdAt: String },
    { collection: 'runtime_approvals', strict: false, minimize: false, versionKey: false },
  );
  schema.index({ agentId: 1, createdAt: -1 });
  const Model = connection.models.RuntimeApproval ?? connection.model('RuntimeApproval', schema);
  return {
    async ensureIndexes() {
      await Model.init();
    },
    async insert(record) {
      const { id, ...rest } = record;
      try {
        await Model.collection.insertOne({ _id: id, ...rest } as never);
        return { record, created: true };
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
        const existing = await Model.collection.findOne({ _id: id as never });
        if (!existing) throw err;
        return { record: fromDoc<RuntimeApprovalRecord>(existing), created: false };
      }
    },
    async get(id) {
      const d = await Model.collection.findOne({ _id: String(id) as never });
      return d ? fromDoc<RuntimeApprovalRecord>(d) : undefined;
    },
    async update(id, when, patch) {
      const filter: Doc = { _id: String(id) };
      for (const [k, v] of Object.entries(when)) filter[k] = v;
      const result = await Model.collection.findOneAndUpdate(filter as never, { $set: patch } as never, { returnDocument: 'after' });
      return result ? fromDoc<RuntimeApprovalRecord>(result) : undefined;
    },
    async recent(agentId, limit) {
      return (
        await Model.collection
          .find({ agentId: String(agentId) })
          .sort({ createdAt: -1 })
          .limit(limit)
          .toArray()
      ).map((d) => fromDoc<RuntimeApprovalRecord>(d));
    },
    async countSince(agentId, action, mode, since) {
      return Model.collection.countDocuments({ agentId: String(agentId), action: String(action), mode, createdAt: { $gte: since } });
    },
  };
}

/** Hand-offs, one document each; claimed and resolved by conditional updates (exactly once). */
export function createHandoffRepository(connection: Connection): HandoffRepository & { ensureIndexes(): Promise<void> } {
  const schema = new Schema(
    { _id: String, agentId: String, status: String, createdAt: String },
    { collection: 'handoffs', strict: false, minimize: false, versionKey: false },
  );
  schema.index({ status: 1, createdAt: -1 });
  const Model = connection.models.Handoff ?? connection.model('Handoff', schema);
  return {
    async ensureIndexes() {
      await Model.init();
    },
    async insert(record) {
      const { id, ...rest } = record;
      try {
        await Model.collection.insertOne({ _id: id, ...rest } as never);
        return { record, created: true };
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
        const existing = await Model.collection.findOne({ _id: id as never });
        if (!existing) throw err;
        return { record: fromDoc<HandoffRecord>(existing), created: false };
      }
    },
    async get(id) {
      const d = await Model.collection.findOne({ _id: String(id) as never });
      return d ? fromDoc<HandoffRecord>(d) : undefined;
    },
    async update(id, when, patch) {
      const filter: Doc = { _id: String(id) };
      for (const [k, v] of Object.entries(when)) filter[k] = v;
      const result = await Model.collection.findOneAndUpdate(filter as never, { $set: patch } as never, { returnDocument: 'after' });
      return result ? fromDoc<HandoffRecord>(result) : undefined;
    },
    async open(person) {
      return (
        await Model.collection
          .find({ status: { $in: ['open', 'taken'] } })
          .sort({ createdAt: -1 })
          .limit(200)
          .toArray()
      )
        .map((d) => fromDoc<HandoffRecord>(d))
        .filter((h) => h.people.includes(person) || h.takenBy === person);
    },
  };
}
