import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConflictError, InvalidInputError } from './errors.js';
import type { AgentId } from './ids.js';

/*
 * The audit trail: an append-only list of entries numbered 1, 2, 3, … where each entry records
 * the hash of the one before it. Changing, removing, reordering or slipping in an entry breaks a
 * hash or a link, and `verifyChain` says which entry and how.
 */

/** Who did something: a person (by e-mail), a part of Roster itself, or an AI agent. */
export type Actor = { kind: 'person'; email: string } | { kind: 'system'; name: string } | { kind: 'agent'; agentId: string };

/** What an entry is about, e.g. `{ type: 'grant', id: 'g-42', agentId: 'invoice-bot' }`. */
export interface AuditSubject {
  /** The kind of thing: `agent`, `run`, `grant`, `alert`, … */
  type: string;
  id: string;
  /** The agent concerned, when there is one; exports per agent filter on it. */
  agentId?: AgentId;
}

/** What a command or decision hands to {@link AuditLog.append}. */
export interface AuditInput {
  actor: Actor;
  /** A dotted verb such as `grant.approved` or `agent.retired`. */
  action: string;
  subject: AuditSubject;
  /** JSON data (see {@link canonicalJson}); Dates are recorded as ISO strings. */
  details?: Record<string, unknown>;
  /** When it happened; defaults to the log's clock. Recorded to the millisecond. */
  at?: Date;
}

/** One recorded entry, exactly as stored and hashed. */
export interface AuditEntry {
  /** 1 for the first entry, then consecutive. */
  seq: number;
  at: Date;
  actor: Actor;
  action: string;
  subject: AuditSubject;
  details: Record<string, unknown>;
  /** The previous entry's hash, or {@link GENESIS_HASH} for entry 1. */
  prevHash: string;
  /** {@link hashEntry} of this entry's other fields. */
  hash: string;
}

/** The fields an entry's hash covers: everything but the hash itself. */
export type AuditEntryFields = Omit<AuditEntry, 'hash'>;

/** How an audit trail was tampered with; see {@link verifyChain} for how each is recognised. */
export type AuditProblem = 'edited' | 'removed' | 'reordered' | 'inserted';

/**
 * The outcome of a verification. `checked` counts the entries that verified before the first
 * problem (all of them when `ok`). `headHash` is the last entry's hash: keep it somewhere else
 * (a ticket, an e-mail) to be able to notice later that entries were removed from the end, which
 * the chain alone cannot reveal.
 */
export type AuditVerifyResult =
  | { ok: true; checked: number; headHash: string }
  | { ok: false; checked: number; firstBad: { seq: number; problem: AuditProblem; message: string } };

/** Which entries to export: `since` is inclusive, `until` exclusive; results are in `seq` order. */
export interface AuditFilter {
  agentId?: AgentId;
  since?: Date;
  until?: Date;
  /** At most this many entries (the earliest ones). */
  limit?: number;
}

/** Options of {@link AuditLog.append}. */
export interface AppendOptions {
  /**
   * Idempotency key (an outbox effect id): an entry already appended with this key is returned
   * instead of appending a second one. Stored beside the entry, outside its hash.
   */
  key?: string;
  /**
   * The key is new (an outbox effect its writer has just stored): not looked up before the entry
   * is written. The unique index on the key still refuses a second entry, which is then looked up.
   */
  fresh?: boolean;
}

/** Options of {@link AuditLog.appendMany}. */
export interface AppendManyOptions {
  /** One idempotency key per input (see {@link AppendOptions.key}): a batch of outbox effects performed again writes each entry once. */
  keys?: readonly string[];
}

/**
 * Where reads (`show`, `list`) are recorded: an append-only log beside the audit chain, so looking
 * at an agent never queues behind the chain's appends.
 */
export interface ReadLog {
  record(entry: AuditInput): Promise<void>;
  /** Recorded reads, oldest first (of one agent when given). */
  list(filter?: { agentId?: string; limit?: number }): Promise<Array<AuditInput & { at: Date }>>;
}

/** The port every command and decision writes to. */
export interface AuditLog {
  /**
   * Records an entry after the current last one and returns it as stored.
   * @throws InvalidAuditInputError when the input cannot be recorded faithfully.
   * @throws AuditContentionError when other writers kept winning the race for the next number.
   */
  append(input: AuditInput, options?: AppendOptions): Promise<AuditEntry>;
  /**
   * Records the inputs as consecutive entries, in order, written with the other entries waiting in
   * this process (one read of the chain head and one write per group of them: a sweep's hundreds
   * of entries, or many requests' few at once), racing other processes' writers like `append`.
   * @throws InvalidAuditInputError when an input cannot be recorded faithfully (nothing is written).
   * @throws AuditContentionError when other writers kept winning the race for the next number.
   */
  appendMany(inputs: readonly AuditInput[], options?: AppendManyOptions): Promise<AuditEntry[]>;
  /** Checks every hash and link from the first entry to the last. */
  verify(options?: { onProgress?: (checked: number) => void }): Promise<AuditVerifyResult>;
  /** Entries matching the filter, in `seq` order. */
  export(filter?: AuditFilter): Promise<AuditEntry[]>;
}

/** The `prevHash` of entry 1: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/** The input (or an export filter) cannot be recorded faithfully; the message names the field. */
export class InvalidAuditInputError extends InvalidInputError {}

/**
 * Every attempt to take the next sequence number was beaten by another writer. The person is
 * asked to try again (`userMessage`); `message` tells IT what happened.
 */
export class AuditContentionError extends ConflictError {
  constructor(readonly attempts: number) {
    super('audit log');
    this.message = `could not append to the audit log after ${attempts} ${attempts === 1 ? 'attempt' : 'attempts'}: other writers kept taking the next number`;
  }
}

/** A value that survives a round trip through JSON and BSON unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Converts a value to plain JSON data, the form in which the audit log stores and hashes it:
 * Dates become ISO strings, object properties that are `undefined` are left out and `undefined`
 * array items become `null` (as `JSON.stringify` does). Anything that would not come back
 * unchanged from the database is refused rather than silently altered: non-finite numbers,
 * bigints, functions, symbols, Maps, class instances and other non-plain objects, circular
 * references, invalid Dates, strings with lone surrogates (UTF-8 cannot carry them) and keys
 * that start with `$` or contain a NUL character.
 *
 * @throws TypeError naming the path of the first value that cannot be represented.
 */
export function toJsonValue(value: unknown, path = '(value)'): JsonValue {
  return convert(value, path, new Set());
}

function convert(value: unknown, path: string, ancestors: Set<object>): JsonValue {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) throw new TypeError(`${path}: the text contains a lone surrogate, which cannot be stored`);
    return value;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} is not a finite number`);
    return value;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError(`${path}: the date is invalid`);
    return value.toISOString();
  }
  if (typeof value !== 'object') throw new TypeError(`${path}: a ${typeof value} has no JSON form`);
  if (ancestors.has(value)) throw new TypeError(`${path}: the value refers to itself`);
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((item, i) => (item === undefined ? null : convert(item, `${path}[${i}]`, ancestors)));
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      throw new TypeError(`${path}: a ${kind} is not plain JSON data`);
    }
    const entries: [string, JsonValue][] = [];
    for (const [key, item] of Object.entries(value)) {
      if (key.startsWith('$') || key.includes('\0')) throw new TypeError(`${path}: the key ${JSON.stringify(key)} cannot be stored`);
      if (LONE_SURROGATE.test(key)) throw new TypeError(`${path}: a key contains a lone surrogate, which cannot be stored`);
      if (item !== undefined) entries.push([key, convert(item, `${path}.${key}`, ancestors)]);
    }
    return Object.fromEntries(entries);
  } finally {
    ancestors.delete(value);
  }
}

/**
 * A deterministic JSON text for a value, so that equal data always hashes the same way:
 * - object keys are sorted by UTF-16 code units, at every depth, so key order never matters;
 * - no whitespace; strings and numbers are written as `JSON.stringify` writes them;
 * - Dates are written as their ISO 8601 string (`2024-05-01T09:30:00.000Z`);
 * - `undefined` properties are left out and `undefined` array items written as `null`.
 * For plain JSON data this is the JSON Canonicalization Scheme (RFC 8785).
 *
 * @throws TypeError for anything {@link toJsonValue} refuses.
 */
export function canonicalJson(value: unknown): string {
  return write(toJsonValue(value));
}

function write(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(write).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${write(value[key] as JsonValue)}`).join(',')}}`;
}

/** SHA-256 (hex) of the canonical JSON of `{ seq, at, actor, action, subject, details, prevHash }`. */
export function hashEntry(fields: AuditEntryFields): string {
  return digestOf(fields, (hashed) => canonicalJson(hashed));
}

/**
 * The one place that says which fields an entry's hash covers: `text` writes them canonically
 * ({@link hashEntry} converts them first; {@link linkEntry}'s are plain JSON data already).
 */
function digestOf(fields: AuditEntryFields, text: (hashed: Record<keyof AuditEntryFields, unknown>) => string): string {
  const { seq, at, actor, action, subject, details, prevHash } = fields;
  return createHash('sha256').update(text({ seq, at, actor, action, subject, details, prevHash }), 'utf8').digest('hex');
}

const nonEmpty = z.string().min(1, 'must not be empty');

const actorSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('person'), email: nonEmpty }),
  z.object({ kind: z.literal('system'), name: nonEmpty }),
  z.object({ kind: z.literal('agent'), agentId: nonEmpty }),
]);

const subjectSchema = z.object({ type: nonEmpty, id: nonEmpty, agentId: nonEmpty.optional() });

const inputSchema = z.object({
  actor: actorSchema,
  action: nonEmpty,
  subject: subjectSchema,
  details: z.record(z.string(), z.unknown()).optional(),
  at: z.date().optional(),
});

/** The last entry of a chain, which the next entry follows; `null` for an empty log. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/**
 * Builds the entry that follows `head`: validates the input, keeps only the documented fields
 * of the actor and subject, converts the details with {@link toJsonValue} and hashes the result.
 * `at` is used unless the input carries its own time.
 *
 * @throws InvalidAuditInputError naming the first field that cannot be recorded.
 */
export function nextEntry(head: ChainHead | null, input: AuditInput, at: Date): AuditEntry {
  return linkEntry(head, prepareEntry(input, at));
}

/** An input validated and converted by {@link prepareEntry}: an entry but for its place in the chain. */
export type PreparedEntry = Omit<AuditEntryFields, 'seq' | 'prevHash'>;

/**
 * The part of {@link nextEntry} that does not depend on the head: validates the input, keeps only
 * the documented fields and converts the details. A writer that races for the next number links
 * the same prepared entry again after each new head ({@link linkEntry}) instead of redoing this.
 *
 * @throws InvalidAuditInputError naming the first field that cannot be recorded.
 */
export function prepareEntry(input: AuditInput, at: Date): PreparedEntry {
  const parsed = inputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(input)';
    throw new InvalidAuditInputError(`cannot record this audit entry: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  const { actor, action, subject } = parsed.data;
  const when = parsed.data.at ?? at;
  let details: Record<string, unknown>;
  try {
    if (Number.isNaN(when.getTime())) throw new TypeError('at: the date is invalid');
    toJsonValue(actor, 'actor');
    toJsonValue(action, 'action');
    toJsonValue(subject, 'subject');
    details = toJsonValue(parsed.data.details ?? {}, 'details') as Record<string, unknown>;
  } catch (err) {
    throw new InvalidAuditInputError(`cannot record this audit entry: ${(err as Error).message}`);
  }
  return {
    at: new Date(when.getTime()),
    actor: cleanActor(actor),
    action,
    subject: subject.agentId === undefined ? { type: subject.type, id: subject.id } : ({ ...subject } as AuditSubject),
    details,
  };
}

/**
 * The entry that follows `head` for a {@link prepareEntry} result, hashed. Its fields are plain
 * JSON data already (checked and converted once), so the canonical text is written from them
 * directly: the same text {@link hashEntry} writes.
 */
export function linkEntry(head: ChainHead | null, prepared: PreparedEntry): AuditEntry {
  const fields: AuditEntryFields = {
    seq: (head?.seq ?? 0) + 1,
    at: new Date(prepared.at.getTime()),
    actor: prepared.actor,
    action: prepared.action,
    subject: prepared.subject,
    details: prepared.details,
    prevHash: head?.hash ?? GENESIS_HASH,
  };
  return { ...fields, hash: digestOf(fields, (hashed) => write({ ...hashed, at: fields.at.toISOString() } as JsonValue)) };
}

function cleanActor(actor: Actor): Actor {
  switch (actor.kind) {
    case 'person':
      return { kind: 'person', email: actor.email };
    case 'system':
      return { kind: 'system', name: actor.name };
    case 'agent':
      return { kind: 'agent', agentId: actor.agentId };
  }
}

const HASH_PATTERN = /^[0-9a-f]{64}$/;

/**
 * Checks entries one at a time, in stored order, keeping only the last good entry: the cheap
 * pass {@link verifyChain} and streaming verifiers share. `accept` returns false at the first
 * entry that does not continue the chain; from then on the walker refuses everything.
 */
export class ChainWalker {
  private last: AuditEntry | null = null;
  private count = 0;
  private broken = false;

  /** True when `entry` continues the chain: right number, right link, hash matching content. */
  accept(entry: AuditEntry): boolean {
    if (this.broken) return false;
    const good =
      isWellFormed(entry) &&
      entry.seq === (this.last?.seq ?? 0) + 1 &&
      entry.prevHash === (this.last?.hash ?? GENESIS_HASH) &&
      hashMatches(entry, entry.seq);
    if (!good) {
      this.broken = true;
      return false;
    }
    this.last = entry;
    this.count += 1;
    return true;
  }

  /** How many entries were accepted. */
  get checked(): number {
    return this.count;
  }

  /** The last accepted entry, or null. */
  get head(): AuditEntry | null {
    return this.last;
  }

  /** The hash the next entry must point to. */
  get headHash(): string {
    return this.last?.hash ?? GENESIS_HASH;
  }
}

/**
 * Walks the entries in the order given (the store gives them by `seq`) and reports the first
 * problem. An entry is good when its `seq` is one more than the previous good entry's (1 for the
 * first), its `prevHash` is that entry's hash ({@link GENESIS_HASH} for the first) and its hash
 * matches its content. At the first entry that is not good, with `n` the number expected there:
 *
 * - **reordered** at `n`: the genuine entry `n` (the one that links to entry `n - 1` and whose
 *   hash matches its content numbered `n`) exists, but elsewhere or under another number, e.g.
 *   two entries' `seq` values or contents were swapped, or an entry was renumbered. Also an
 *   entry stored after a later one (only possible in a hand-made list: the store sorts by `seq`).
 * - **inserted**: an entry that is not part of the chain sits in the way. Recognised when the
 *   genuine entry `n` comes right after it; when an entry claims to follow entry `n - 1` but is
 *   numbered beyond `n`; when the entry at `n` was genuinely recorded directly after an earlier
 *   entry, so the ones in between were slipped in and the rest renumbered; when it duplicates an
 *   earlier entry; or when its number is not a positive whole number.
 * - **removed** at `n`: the chain jumps past `n` (e.g. from 2 to 4) and entry `n` is nowhere to be
 *   found; also when entry 1 points to a predecessor that is missing.
 * - **edited** at `n`: the entry numbered `n` is in its place but its hash does not match its
 *   content (any field changed, including its `prevHash` or `hash`), or a field has the wrong
 *   type. When an entry's content and hash were both rewritten, its own check passes but the next
 *   entry still records the old hash: that entry, the previous one, is reported as edited.
 *
 * Limits: removing entries from the end, or rewriting the tail and recomputing every hash after
 * the change, leaves a consistent chain; compare `headHash` with a copy kept elsewhere to notice.
 */
export function verifyChain(entries: readonly AuditEntry[]): AuditVerifyResult {
  const walker = new ChainWalker();
  for (const [index, entry] of entries.entries()) {
    if (!walker.accept(entry)) return { ok: false, checked: walker.checked, firstBad: classify(entries, index, walker.head) };
  }
  return { ok: true, checked: walker.checked, headHash: walker.headHash };
}

type FirstBad = Extract<AuditVerifyResult, { ok: false }>['firstBad'];

function classify(entries: readonly AuditEntry[], index: number, prev: AuditEntry | null): FirstBad {
  const entry = entries[index] as AuditEntry;
  const expected = (prev?.seq ?? 0) + 1;
  const expectedPrevHash = prev?.hash ?? GENESIS_HASH;
  const after = prev ? `after entry ${prev.seq}` : 'at the start of the chain';

  if (!isWellFormed(entry)) {
    const seq = typeof entry?.seq === 'number' && Number.isFinite(entry.seq) ? entry.seq : expected;
    return { seq, problem: 'edited', message: `entry ${seq} was edited: ${malformation(entry)}` };
  }

  const genuineIndex = entries.findIndex(
    (other, i) => i >= index && isWellFormed(other) && other.prevHash === expectedPrevHash && hashMatches(other, expected),
  );
  if (genuineIndex === index) {
    return { seq: expected, problem: 'reordered', message: `entry ${expected} is out of order: it is stored as entry ${entry.seq}` };
  }
  if (genuineIndex > index) {
    const genuine = entries[genuineIndex] as AuditEntry;
    if (genuineIndex === index + 1 && entry.prevHash !== genuine.hash) {
      const renumbered = genuine.seq === expected ? '' : `, renumbered ${genuine.seq}`;
      return {
        seq: entry.seq,
        problem: 'inserted',
        message: `entry ${entry.seq} was inserted: it is not part of the chain; the genuine entry ${expected} comes right after it${renumbered}`,
      };
    }
    const where =
      genuine.seq === expected
        ? `it is stored after entry ${(entries[genuineIndex - 1] as AuditEntry).seq}`
        : `it is stored as entry ${genuine.seq}`;
    return { seq: expected, problem: 'reordered', message: `entry ${expected} is out of order: ${where}` };
  }

  if (!Number.isInteger(entry.seq) || entry.seq < 1) {
    return {
      seq: entry.seq,
      problem: 'inserted',
      message: `entry ${entry.seq} was inserted ${after}: entries are numbered 1, 2, 3, …`,
    };
  }
  if (entry.seq < expected) {
    if (entries.slice(0, index).some((earlier) => earlier.hash === entry.hash)) {
      return { seq: entry.seq, problem: 'inserted', message: `entry ${entry.seq} was inserted ${after}: it is a copy of an earlier entry` };
    }
    return { seq: entry.seq, problem: 'reordered', message: `entry ${entry.seq} is out of order: it is stored ${after}` };
  }
  if (entry.seq > expected) {
    if (entry.prevHash === expectedPrevHash) {
      const claim = prev ? `it claims to follow entry ${prev.seq}` : 'it claims to start the chain';
      return {
        seq: entry.seq,
        problem: 'inserted',
        message: `entry ${entry.seq} was inserted: ${claim}, so it should be entry ${expected}`,
      };
    }
    const missing = entry.seq - expected === 1 ? `entry ${expected} was removed` : `entries ${expected}–${entry.seq - 1} were removed`;
    const jump = prev ? `the chain goes from entry ${prev.seq} to entry ${entry.seq}` : `the chain starts at entry ${entry.seq}`;
    return { seq: expected, problem: 'removed', message: `${missing}: ${jump}` };
  }

  if (hashMatches(entry, entry.seq)) {
    if (prev) {
      return {
        seq: prev.seq,
        problem: 'edited',
        message: `entry ${prev.seq} was edited: its hash was recomputed, but entry ${entry.seq} records a different hash for it`,
      };
    }
    return { seq: 1, problem: 'removed', message: 'entry 1 was removed: the first entry points to a predecessor that is missing' };
  }
  const recordedAfter = entries.slice(0, index).find((earlier) => earlier.hash === entry.prevHash);
  const originalSeq = entry.prevHash === GENESIS_HASH ? 1 : recordedAfter ? recordedAfter.seq + 1 : undefined;
  if (originalSeq !== undefined && originalSeq < entry.seq && hashMatches(entry, originalSeq)) {
    const origin = originalSeq === 1 ? 'as the first entry' : `directly after entry ${originalSeq - 1}`;
    return {
      seq: originalSeq,
      problem: 'inserted',
      message: `entry ${originalSeq} was inserted: the entry now numbered ${entry.seq} was recorded as entry ${originalSeq}, ${origin}`,
    };
  }
  return { seq: entry.seq, problem: 'edited', message: `entry ${entry.seq} was edited: its hash does not match its content` };
}

function hashMatches(entry: AuditEntry, seq: number): boolean {
  try {
    return hashEntry({ ...entry, seq }) === entry.hash;
  } catch {
    return false;
  }
}

function isWellFormed(entry: AuditEntry): boolean {
  return malformation(entry) === undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformation(entry: AuditEntry | undefined): string | undefined {
  if (!isPlainObject(entry)) return 'it is not an entry';
  if (typeof entry.seq !== 'number' || !Number.isFinite(entry.seq)) return 'its number is not a number';
  if (!(entry.at instanceof Date) || Number.isNaN(entry.at.getTime())) return 'its time is not a valid date';
  if (!isPlainObject(entry.actor)) return 'its actor is missing';
  if (typeof entry.action !== 'string') return 'its action is not text';
  if (!isPlainObject(entry.subject)) return 'its subject is missing';
  if (!isPlainObject(entry.details)) return 'its details are missing';
  if (typeof entry.prevHash !== 'string' || !HASH_PATTERN.test(entry.prevHash)) return 'its link to the previous entry is not a hash';
  if (typeof entry.hash !== 'string' || !HASH_PATTERN.test(entry.hash)) return 'its hash is not a hash';
  return undefined;
}
