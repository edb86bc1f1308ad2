import { OUTBOX_FIELD, outboxOf, toStored, withEffects } from './outbox-store.js';
import { Schema, type Connection } from 'mongoose';
import type { CheckInRecord, CheckInRepository } from '../core/checkin-service.js';
import { trustedId } from '../core/ids.js';
import { keyed } from './keyed.js';

const DUPLICATE_KEY = 11000;

/**
 * Check-in results, each agent's next due time, and the sweeps' claims: a claim is a unique key
 * per agent and due time, so a sweep on two replicas runs each check-in once; it is deleted when
 * the check-in is done, and forgotten after its lease if the sweep died.
 */
export function createCheckInRepository(connection: Connection): CheckInRepository & { ensureIndexes(): Promise<void> } {
  const schema = new Schema(
    { _id: String, agentId: String, at: String },
    { collection: 'checkins', strict: false, minimize: false, versionKey: false },
  );
  schema.index({ agentId: 1, at: -1 });
  const CheckIn = connection.models.CheckIn ?? connection.model('CheckIn', schema);
  const Schedule =
    connection.models.CheckInSchedule ??
    connection.model('CheckInSchedule', new Schema({ _id: String, nextAt: Date }, { collection: 'checkin_schedule', versionKey: false }));
  const Claim =
    connection.models.CheckInClaim ??
    connection.model(
      'CheckInClaim',
      new Schema({ _id: String, agentId: String, leaseUntil: Date }, { collection: 'checkin_claims', versionKey: false }),
    );
  const fromDoc = (d: Record<string, unknown>): CheckInRecord => {
    const { _id, outbox: _outbox, outboxLeaseUntil: _lease, ...rest } = d;
    return { id: trustedId('CheckInId', String(_id)), ...(rest as Omit<CheckInRecord, 'id'>) };
  };
  return {
    async ensureIndexes() {
      await CheckIn.init();
      await Schedule.init();
      await Claim.init();
    },
    async save(record, effects = []) {
      const { id, ...rest } = record;
      await keyed(CheckIn).insertOne({
        _id: id,
        ...rest,
        ...(effects.length > 0 ? { [OUTBOX_FIELD]: effects.map(toStored) } : {}),
      });
    },
    async get(id) {
      const doc = await keyed(CheckIn).findOne({ _id: id });
      return doc ? fromDoc(doc) : undefined;
    },
    async latest(agentId) {
      const doc = await keyed(CheckIn).find({ agentId: agentId }).sort({ at: -1 }).limit(1).next();
      return doc ? fromDoc(doc) : undefined;
    },
    async agentsByLastVerdict(verdict) {
      if (verdict === 'any') return (await keyed(CheckIn).distinct('agentId', {})).map(String);
      // Sorted on the { agentId, at } index, the first of each group is the latest check-in.
      const rows = await keyed(CheckIn)
        .aggregate([
          { $sort: { agentId: 1, at: -1 } },
          { $group: { _id: '$agentId', verdict: { $first: '$verdict' } } },
          { $match: { verdict: String(verdict) } },
        ])
        .toArray();
      return rows.map((r) => r._id);
    },
    async listForAgent(agentId) {
      return (await keyed(CheckIn).find({ agentId: agentId }).sort({ at: 1 }).toArray()).map(fromDoc);
    },
    async decide(id, decision, effects = []) {
      const result = await keyed(CheckIn).updateOne(
        { _id: id, decision: { $exists: false } },
        withEffects({ $set: { decision } }, effects),
      );
      return result.modifiedCount === 1;
    },
    async dueTimes(agentIds) {
      if (agentIds.length === 0) return new Map();
      const docs = await keyed(Schedule)
        .find({ _id: { $in: agentIds.map(String) } })
        .toArray();
      return new Map(docs.filter((d) => d.nextAt instanceof Date).map((d) => [d._id, d.nextAt as Date]));
    },
    async claim(claims, leaseUntil) {
      const held = new Set(claims.map((c) => c.key));
      if (claims.length === 0) return held;
      const docs = claims.map((c) => ({ _id: String(c.key), agentId: c.agentId, leaseUntil }));
      for (const index of await duplicatesOf(() => keyed(Claim).insertMany(docs, { ordered: false }))) held.delete(claims[index]!.key);
      return held;
    },
    async releaseExpiredClaims(now) {
      await keyed(Claim).deleteMany({ leaseUntil: { $lt: now } });
    },
    async saveMany(records, effects) {
      const existing = new Set<string>();
      if (records.length === 0) return existing;
      const docs = records.map(({ id, ...rest }) => {
        const mine = effects?.get(id) ?? [];
        return { _id: id, ...rest, ...(mine.length > 0 ? { [OUTBOX_FIELD]: mine.map(toStored) } : {}) };
      });
      for (const index of await duplicatesOf(() => keyed(CheckIn).insertMany(docs, { ordered: false }))) existing.add(records[index]!.id);
      return existing;
    },
    async getMany(ids) {
      if (ids.length === 0) return [];
      return (
        await keyed(CheckIn)
          .find({ _id: { $in: ids.map(String) } })
          .toArray()
      ).map(fromDoc);
    },
    async getManyWithEffects(ids) {
      if (ids.length === 0) return [];
      const docs = await keyed(CheckIn)
        .find({ _id: { $in: ids.map(String) } })
        .toArray();
      return docs.map((d) => ({ record: fromDoc(d), effects: outboxOf(d) }));
    },
    async complete(next, claimKeys) {
      if (next.length > 0) {
        await keyed(Schedule).bulkWrite(
          next.map((n) => ({
            updateOne: { filter: { _id: n.agentId }, update: { $set: { nextAt: n.nextAt } }, upsert: true },
          })),
          { ordered: false },
        );
      }
      if (claimKeys.length > 0) await keyed(Claim).deleteMany({ _id: { $in: claimKeys.map(String) } });
    },
  };
}

/** Runs an unordered insert; resolves the indexes of the documents refused as duplicates (any other error is thrown). */
async function duplicatesOf(insert: () => Promise<unknown>): Promise<number[]> {
  try {
    await insert();
    return [];
  } catch (err) {
    const writeErrors = (err as { writeErrors?: Array<{ code?: number; index?: number; err?: { index?: number; code?: number } }> })
      .writeErrors;
    if (!writeErrors) throw err;
    return writeErrors.map((w) => {
      const code = w.code ?? w.err?.code;
      const index = w.index ?? w.err?.index;
      if (code !== DUPLICATE_KEY || index === undefined) throw err;
      return index;
    });
  }
}
