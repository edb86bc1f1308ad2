import { setTimeout as sleep } from 'node:timers/promises';
import { Schema, type Connection, type Model } from 'mongoose';
import {
  AuditContentionError,
  ChainWalker,
  InvalidAuditInputError,
  linkEntry,
  prepareEntry,
  verifyChain,
  type AuditEntry,
  type AuditFilter,
  type AppendManyOptions,
  type AppendOptions,
  type AuditInput,
  type AuditLog,
  type AuditVerifyResult,
  type ChainHead,
  type PreparedEntry,
} from '../core/audit.js';
import type { ChainReader } from '../core/audit-checkpoints.js';
import { indexesOnce } from './model-indexes.js';
import { groupCommit } from './grouped-writes.js';

/** The collection that holds the audit trail. */
export const AUDIT_COLLECTION = 'audit_entries';

const MODEL_NAME = 'AuditEntry';
const DEFAULT_MAX_ATTEMPTS = 50;
const MAX_BACKOFF_MS = 40;
const MAX_CONCURRENT_APPENDS = 4;
/**
 * At most this many appends are written together: a whole check-in sweep chunk's entries (250
 * agents by default) fit in one group, one head read and one insert (entries are about 1 KB).
 */
const MAX_GROUP = 500;
const ENTRY_FIELDS = { _id: 0, seq: 1, at: 1, actor: 1, action: 1, subject: 1, details: 1, prevHash: 1, hash: 1 } as const;

const actorSchema = new Schema(
  {
    kind: { type: String, required: true, enum: ['person', 'system', 'agent'] },
    email: String,
    name: String,
    agentId: String,
  },
  { _id: false, strict: 'throw' },
);

const subjectSchema = new Schema(
  { type: { type: String, required: true }, id: { type: String, required: true }, agentId: String },
  { _id: false, strict: 'throw' },
);

/*
 * `details` is Mixed and `minimize` off so that what was hashed is stored untouched: no casting,
 * no empty objects dropped. Key order is irrelevant because hashes use canonical JSON.
 */
/** A stored entry: the hashed fields, and the idempotency key of an outbox effect. */
type StoredEntry = AuditEntry & { key?: string };

const auditEntrySchema = new Schema<StoredEntry>(
  {
    seq: { type: Number, required: true },
    at: { type: Date, required: true },
    actor: { type: actorSchema, required: true },
    action: { type: String, required: true },
    subject: { type: subjectSchema, required: true },
    details: { type: Schema.Types.Mixed },
    prevHash: { type: String, required: true },
    hash: { type: String, required: true },
    key: { type: String },
  },
  { collection: AUDIT_COLLECTION, minimize: false, versionKey: false, strict: 'throw' },
);
/* The unique index on `seq` is what keeps concurrent writers from forking the chain. */
auditEntrySchema.index({ seq: 1 }, { unique: true });
/* An entry appended for an outbox effect carries the effect id: appending it again finds it. */
auditEntrySchema.index({ key: 1 }, { unique: true, sparse: true });
auditEntrySchema.index({ 'subject.agentId': 1, seq: 1 });
auditEntrySchema.index({ at: 1 });
/* Checkpoints look up the entries recording them by action. */
auditEntrySchema.index({ action: 1, seq: 1 });

/** Options of {@link createAuditLog}. */
export interface AuditStoreOptions {
  /** The time recorded when an input has none; defaults to the system clock. */
  clock?: () => Date;
  /** How many times to race for the next number before giving up; default 50. */
  maxAttempts?: number;
}

/** The MongoDB audit log, plus index creation for start-up and the reads checkpoints need. */
export type AuditStore = AuditLog &
  ChainReader & {
    /** Creates the collection's indexes; `append` also awaits this before its first write. */
    ensureIndexes(): Promise<void>;
  };

/**
 * The audit log stored in `audit_entries`. Appends are safe across processes without
 * transactions: a writer reads the last entry, builds the next one and inserts it; the unique
 * index on `seq` rejects all but one writer per number, and the others re-read and retry after
 * a short random pause.
 */
export function createAuditLog(connection: Connection, options: AuditStoreOptions = {}): AuditStore {
  const clock = options.clock ?? (() => new Date());
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw new RangeError(`maxAttempts must be a positive whole number, got ${maxAttempts}`);
  const model =
    (connection.models[MODEL_NAME] as Model<StoredEntry> | undefined) ?? connection.model<StoredEntry>(MODEL_NAME, auditEntrySchema);

  const ensureIndexes = indexesOnce(model);

  async function head(): Promise<ChainHead | null> {
    return model.findOne({}, { _id: 0, seq: 1, hash: 1 }).sort({ seq: -1 }).lean<ChainHead>().exec();
  }

  async function hashesAt(seqs: readonly number[]): Promise<Map<number, string>> {
    if (seqs.length === 0) return new Map();
    const docs = await model
      .find({ seq: { $in: [...seqs] } }, { _id: 0, seq: 1, hash: 1 })
      .lean<ChainHead[]>()
      .exec();
    return new Map(docs.map((d) => [d.seq, d.hash]));
  }

  let inFlight = 0;
  const queued: Array<() => void> = [];
  async function takeTurn<T>(work: () => Promise<T>): Promise<T> {
    if (inFlight >= MAX_CONCURRENT_APPENDS) await new Promise<void>((resolve) => queued.push(resolve));
    else inFlight += 1;
    try {
      return await work();
    } finally {
      const next = queued.shift();
      if (next) next();
      else inFlight -= 1;
    }
  }

  /**
   * One entry to write: its input validated and converted once (when it was asked), and the
   * outbox effect it answers for. `fresh`: a new effect's entry (from `appendMany`), not looked
   * up before it is written.
   */
  type Ask = { entry: PreparedEntry; key: string | undefined; fresh?: boolean };

  /**
   * Writes the asks after the current head in one ordered insertMany, in order. When another
   * writer took a number first, the entries stored before it stay (their hashes prove they are
   * ours) and the rest are rebuilt after the new head. An effect's key already stored answers with
   * its entry, and a key asked twice is written once. An ask without an entry gets `failure`: the
   * error that stopped the run, or contention; an entry stored before the error is still reported.
   */
  async function writeRun(asks: readonly Ask[]): Promise<{ entries: Array<AuditEntry | undefined>; failure: unknown }> {
    const found = new Map<string, AuditEntry>();
    const written = new Map<Ask, AuditEntry>();
    const lookUp = async (keys: string[]) => {
      if (keys.length === 0) return;
      const docs = await model
        .find({ key: { $in: keys } }, { ...ENTRY_FIELDS, key: 1 })
        .lean<Array<AuditEntry & { key: string }>>()
        .exec();
      for (const d of docs) found.set(d.key, toEntry(d));
    };
    let failure: unknown = new AuditContentionError(maxAttempts);
    try {
      await ensureIndexes();
      // New effects skip the look-up: the unique index on `key` refuses one stored already, which is then looked up.
      await lookUp(asks.flatMap((a) => (a.key === undefined || a.fresh ? [] : [a.key])));
      for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
        const seen = new Set<string>();
        // A key asked twice in one group (an effect performed twice at once) is written once.
        const pending = asks.filter((a) => {
          if (written.has(a) || (a.key !== undefined && (found.has(a.key) || seen.has(a.key)))) return false;
          if (a.key !== undefined) seen.add(a.key);
          return true;
        });
        if (pending.length === 0) break;
        let previous = await head();
        const entries = pending.map((a) => {
          const entry = linkEntry(previous, a.entry);
          previous = { seq: entry.seq, hash: entry.hash };
          return entry;
        });
        try {
          // Straight to the driver: every entry was validated and converted by prepareEntry, so
          // casting each through the schema (a mongoose document per entry) checked nothing new.
          // Copies, as the driver adds an _id to what it inserts.
          await model.collection.insertMany(
            entries.map((e, i) => (pending[i]!.key === undefined ? { ...e } : { ...e, key: pending[i]!.key })),
            { ordered: true },
          );
          pending.forEach((a, i) => written.set(a, entries[i]!));
          break;
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
        }
        // Another process took a number, or stored one of these keys: keep what is ours, re-read the keys.
        const ours = await hashesAt(entries.map((e) => e.seq));
        for (const [i, e] of entries.entries()) {
          if (ours.get(e.seq) !== e.hash) break;
          written.set(pending[i]!, e);
        }
        await lookUp(pending.flatMap((a) => (a.key === undefined || written.has(a) ? [] : [a.key])));
        if (attempt < maxAttempts) await sleep(Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** attempt));
      }
    } catch (err) {
      failure = err;
    }
    const byKey = new Map<string, AuditEntry>();
    for (const [a, e] of written) if (a.key !== undefined) byKey.set(a.key, e);
    const entries = asks.map((a) => written.get(a) ?? (a.key === undefined ? undefined : (found.get(a.key) ?? byKey.get(a.key))));
    return { entries, failure };
  }

  /*
   * Group commit: appends from this process that arrive while one is being written wait and are
   * written together (one head read, one ordered insertMany), in the order they were asked for.
   * Racing one another for each next number cost a read and a retry per entry, so under load the
   * chain's throughput fell as writers were added; now it grows with the batch.
   */
  const commit = groupCommit<Ask, AuditEntry>(MAX_GROUP, async (group) => {
    const { entries, failure } = await takeTurn(() => writeRun(group.map((g) => g.ask)));
    group.forEach((w, i) => {
      const entry = entries[i];
      if (entry) w.resolve(entry);
      else w.reject(failure);
    });
  });

  return {
    ensureIndexes,

    append(input: AuditInput, options: AppendOptions = {}): Promise<AuditEntry> {
      if (options.key !== undefined && (typeof options.key !== 'string' || options.key.length === 0 || options.key.length > 200))
        return Promise.reject(new InvalidAuditInputError('cannot record this audit entry: key must be a text of 1 to 200 characters'));
      // A bad input is refused alone, before it joins a group.
      let entry: PreparedEntry;
      try {
        entry = prepareEntry(input, clock());
      } catch (err) {
        return Promise.reject(err as Error);
      }
      return commit.ask({ entry, key: options.key, ...(options.fresh ? { fresh: true } : {}) });
    },

    async appendMany(inputs: readonly AuditInput[], options: AppendManyOptions = {}): Promise<AuditEntry[]> {
      if (inputs.length === 0) return [];
      const { keys } = options;
      if (
        keys !== undefined &&
        (keys.length !== inputs.length || keys.some((k) => typeof k !== 'string' || k.length === 0 || k.length > 200))
      )
        throw new InvalidAuditInputError('cannot record these audit entries: keys must be one text of 1 to 200 characters per entry');
      const at = clock();
      // Validate every input before writing any, so a bad one leaves no partial run behind.
      const prepared = inputs.map((input) => prepareEntry(input, at));
      // They join the group commit, in order and together: many small batches at once (each
      // request's entries) are written in one insert instead of racing one another for each number.
      return Promise.all(commit.askAll(prepared.map((entry, i) => ({ entry, key: keys?.[i], fresh: true }))));
    },

    async verify(options: { onProgress?: (checked: number) => void } = {}): Promise<AuditVerifyResult> {
      const walker = new ChainWalker();
      const cursor = model.find({}, ENTRY_FIELDS).sort({ seq: 1 }).lean<AuditEntry>().cursor({ batchSize: 500 });
      let broken = false;
      try {
        for await (const doc of cursor) {
          if (!walker.accept(toEntry(doc as AuditEntry))) {
            broken = true;
            break;
          }
          if (walker.checked % 500 === 0) options.onProgress?.(walker.checked);
        }
      } finally {
        await cursor.close();
      }
      if (!broken) return { ok: true, checked: walker.checked, headHash: walker.headHash };
      // Naming the tampering needs to look ahead (where did entry n go?), so only a broken chain is read whole.
      const all = await model.find({}, ENTRY_FIELDS).sort({ seq: 1 }).lean<AuditEntry[]>().exec();
      return verifyChain(all.map(toEntry));
    },

    async last(): Promise<AuditEntry | null> {
      const doc = await model.findOne({}, ENTRY_FIELDS).sort({ seq: -1 }).lean<AuditEntry>().exec();
      return doc ? toEntry(doc) : null;
    },

    hashesAt,

    async withAction(action: string): Promise<AuditEntry[]> {
      const docs = await model.find({ action }, ENTRY_FIELDS).sort({ seq: 1 }).lean<AuditEntry[]>().exec();
      return docs.map(toEntry);
    },

    async export(filter: AuditFilter = {}): Promise<AuditEntry[]> {
      const query = toQuery(filter);
      const found = model.find(query, ENTRY_FIELDS).sort({ seq: 1 });
      if (filter.limit !== undefined) found.limit(filter.limit);
      const docs = await found.lean<AuditEntry[]>().exec();
      return docs.map(toEntry);
    },
  };
}

/** Picks the entry's fields from a stored document, whatever else a hand-edit may have added. */
function toEntry(doc: AuditEntry): AuditEntry {
  const { seq, at, actor, action, subject, details, prevHash, hash } = doc;
  return { seq, at, actor, action, subject, details, prevHash, hash };
}

function toQuery(filter: AuditFilter): Record<string, unknown> {
  const { agentId, since, until, limit } = filter;
  if (agentId !== undefined && (typeof agentId !== 'string' || agentId.length === 0)) {
    throw new InvalidAuditInputError('cannot export the audit log: agentId must be a non-empty text');
  }
  for (const [name, date] of [
    ['since', since],
    ['until', until],
  ] as const) {
    if (date !== undefined && (!(date instanceof Date) || Number.isNaN(date.getTime()))) {
      throw new InvalidAuditInputError(`cannot export the audit log: ${name} must be a valid date`);
    }
  }
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new InvalidAuditInputError(`cannot export the audit log: limit must be a positive whole number, got ${limit}`);
  }
  const query: Record<string, unknown> = {};
  if (agentId !== undefined) query['subject.agentId'] = agentId;
  if (since !== undefined || until !== undefined) {
    query.at = { ...(since && { $gte: since }), ...(until && { $lt: until }) };
  }
  return query;
}

function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}
