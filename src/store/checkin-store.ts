import { Schema, type Connection } from 'mongoose';
import type { CheckInRecord, CheckInRepository } from '../core/checkins.js';

/** Check-in results, and each agent's next due time (claimed atomically, so a sweep on two replicas runs it once). */
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
  const fromDoc = (d: Record<string, unknown>): CheckInRecord => {
    const { _id, ...rest } = d;
    return { id: String(_id), ...(rest as Omit<CheckInRecord, 'id'>) };
  };
  return {
    async ensureIndexes() {
      await CheckIn.init();
      await Schedule.init();
    },
    async save(record) {
      const { id, ...rest } = record;
      await CheckIn.collection.insertOne({ _id: id as never, ...rest });
    },
    async get(id) {
      const doc = await CheckIn.collection.findOne({ _id: String(id) as never });
      return doc ? fromDoc(doc) : undefined;
    },
    async latest(agentId) {
      const doc = await CheckIn.collection
        .find({ agentId: String(agentId) })
        .sort({ at: -1 })
        .limit(1)
        .next();
      return doc ? fromDoc(doc) : undefined;
    },
    async listForAgent(agentId) {
      return (
        await CheckIn.collection
          .find({ agentId: String(agentId) })
          .sort({ at: 1 })
          .toArray()
      ).map(fromDoc);
    },
    async decide(id, decision) {
      const result = await CheckIn.collection.updateOne({ _id: String(id) as never, decision: { $exists: false } }, { $set: { decision } });
      return result.modifiedCount === 1;
    },
    async claimDue(agentId, now, next) {
      const id = String(agentId);
      try {
        // The first sweep that sees an agent creates its schedule due now.
        await Schedule.collection.insertOne({ _id: id as never, nextAt: now });
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
      }
      const result = await Schedule.collection.updateOne({ _id: id as never, nextAt: { $lte: now } }, { $set: { nextAt: next } });
      return result.modifiedCount === 1;
    },
  };
}
