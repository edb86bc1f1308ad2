import { Schema, type Connection, type Model } from 'mongoose';
import type { AuditCheckpoint, CheckpointRepository } from '../core/audit-checkpoints.js';
import { CHECKPOINT_HEALTH_HOLDER, type CheckpointHealthRepository } from '../core/audit-checkpoint-alarm.js';
import { indexesOnce } from './model-indexes.js';
import { withEffects } from './outbox-store.js';

/** The collection that holds the signed checkpoints of the audit chain. */
export const AUDIT_CHECKPOINT_COLLECTION = 'audit_checkpoints';

const MODEL_NAME = 'AuditCheckpoint';
const FIELDS = { _id: 0, seq: 1, headHash: 1, at: 1, keyId: 1, signature: 1 } as const;

const checkpointSchema = new Schema<AuditCheckpoint>(
  {
    seq: { type: Number, required: true },
    headHash: { type: String, required: true },
    at: { type: Date, required: true },
    keyId: { type: String, required: true },
    signature: { type: String, required: true },
  },
  { collection: AUDIT_CHECKPOINT_COLLECTION, versionKey: false, strict: 'throw' },
);
/* One checkpoint per chain position: the periodic job and `roster audit checkpoint` may race. */
checkpointSchema.index({ seq: 1 }, { unique: true });

/** The checkpoint repository, plus index creation for start-up. */
export type CheckpointStore = CheckpointRepository & { ensureIndexes(): Promise<void> };

/** Checkpoints stored in `audit_checkpoints`, unique on `seq`. */
export function createCheckpointStore(connection: Connection): CheckpointStore {
  const model =
    (connection.models[MODEL_NAME] as Model<AuditCheckpoint> | undefined) ??
    connection.model<AuditCheckpoint>(MODEL_NAME, checkpointSchema);
  const ensureIndexes = indexesOnce(model);
  return {
    ensureIndexes,
    async insert(checkpoint) {
      await ensureIndexes();
      try {
        await model.create(checkpoint);
        return { created: true, checkpoint };
      } catch (err) {
        if ((err as { code?: unknown }).code !== 11000) throw err;
        const existing = await model.findOne({ seq: checkpoint.seq }, FIELDS).lean<AuditCheckpoint>().exec();
        if (!existing) throw err;
        return { created: false, checkpoint: existing };
      }
    },
    // Read through the driver, not the schema: a hand-edited document must reach the verifier as it is.
    async listRaw() {
      return model.collection.find({}, { projection: FIELDS }).sort({ seq: 1 }).toArray();
    },
    async getRaw(seq) {
      return model.collection.findOne({ seq }, { projection: FIELDS });
    },
  };
}

/** The collection holding the checkpoint job's state (the failure IT was told about) and its outbox. */
export const CHECKPOINT_HEALTH_COLLECTION = 'audit_checkpoint_health';

const HEALTH_ID = 'job';

/**
 * The checkpoint job's state: one document, whose `cause` is the failure IT was last told about,
 * `runs` the number of runs begun and `decided` the number of the latest run whose outcome is stored.
 * Storing a cause is conditional on it being a different one, so racing replicas tell IT once, and
 * on no later run having stored its outcome, so a run that overlapped a later one cannot overrule it.
 */
export function createCheckpointHealthStore(connection: Connection): CheckpointHealthRepository {
  const collection = connection.collection<{ _id: string; cause?: string; since?: Date; runs?: number; decided?: number }>(
    CHECKPOINT_HEALTH_COLLECTION,
  );
  /** No run begun after `run` has stored its outcome (a document from before runs were numbered has none). */
  const latest = (run: number) => ({ $or: [{ decided: { $exists: false } }, { decided: { $lte: run } }] });
  /** Records `run`'s outcome as the latest, unless a later run's is. */
  const decide = (run: number) => collection.updateOne({ _id: HEALTH_ID }, { $max: { decided: run } });
  return {
    holder: { kind: CHECKPOINT_HEALTH_HOLDER, id: HEALTH_ID },
    async begin() {
      const count = () =>
        collection.findOneAndUpdate(
          { _id: HEALTH_ID },
          { $inc: { runs: 1 } },
          { upsert: true, returnDocument: 'after', projection: { runs: 1 } },
        );
      // The very first runs of two replicas may both insert the document: the one refused counts again.
      const begun = await count().catch((err: unknown) => {
        if ((err as { code?: unknown }).code === 11000) return count();
        throw err;
      });
      if (begun?.runs === undefined) throw new Error('the audit checkpoint job state was not stored');
      return begun.runs;
    },
    async fail(cause, at, effects, run) {
      // Matches unless this cause is already stored or a later run decided (the document exists: begin stored it).
      const result = await collection.updateOne(
        { _id: HEALTH_ID, cause: { $ne: cause }, ...latest(run) },
        withEffects({ $set: { cause, since: at, decided: run } }, effects),
      );
      if (result.modifiedCount > 0) return true;
      await decide(run);
      return false;
    },
    async recover(effects, run) {
      const current = await collection.findOne({ _id: HEALTH_ID, cause: { $exists: true } }, { projection: { cause: 1 } });
      if (current?.cause) {
        const result = await collection.updateOne(
          { _id: HEALTH_ID, cause: current.cause, ...latest(run) },
          withEffects({ $unset: { cause: '', since: '' }, $set: { decided: run } }, effects),
        );
        if (result.modifiedCount > 0) return current.cause;
      }
      await decide(run);
      return undefined;
    },
  };
}
