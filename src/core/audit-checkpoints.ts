import { z } from 'zod';
import { canonicalJson, type Actor, type AuditEntry, type AuditLog } from './audit.js';

/*
 * Signed checkpoints of the audit chain's head. The chain alone proves that nothing inside it was
 * changed, but not that nothing was cut off its end, nor that the whole chain was not rebuilt and
 * re-hashed from some entry on: anyone who can write to the database can do both. A checkpoint
 * signs `(seq, headHash, at)` with a key that lives outside the database, so a verifier holding
 * that key notices a chain that no longer contains what was signed. Each checkpoint is also
 * recorded in the chain itself, so deleting the latest checkpoint leaves a trace.
 */

/** The action of the entry that records a checkpoint in the chain. */
export const CHECKPOINT_ACTION = 'audit.checkpointed';

/** A signed statement: "the audit chain had `seq` entries, the last one hashing to `headHash`, at `at`". */
export interface AuditCheckpoint {
  seq: number;
  headHash: string;
  at: Date;
  /** Which key signed it: the first 16 hex characters of the SHA-256 of the raw public key. */
  keyId: string;
  /** Ed25519 signature of {@link checkpointPayload}, base64url. */
  signature: string;
}

/** Verifies checkpoints signed by one key: a public key is enough, so an auditor needs no secret. */
export interface CheckpointVerifier {
  readonly keyId: string;
  verify(payload: Buffer, signature: string): boolean;
}

/** Signs and verifies checkpoints; the key never touches the database. */
export interface CheckpointSigner extends CheckpointVerifier {
  readonly algorithm: 'Ed25519';
  sign(payload: Buffer): string;
}

/** The stored checkpoints; a second checkpoint of the same `seq` is refused by a unique key. */
export interface CheckpointRepository {
  /** Stores the checkpoint, or returns the one already stored for its `seq`. */
  insert(checkpoint: AuditCheckpoint): Promise<{ created: boolean; checkpoint: AuditCheckpoint }>;
  /** Every stored document, by `seq`, as found (a tampered one may not be a checkpoint any more). */
  listRaw(): Promise<unknown[]>;
  /** The stored document for this `seq`, as found, or null. */
  getRaw(seq: number): Promise<unknown>;
}

/** What checkpoints need to read from the chain, besides the {@link AuditLog} port. */
export interface ChainReader {
  /** The last entry, or null for an empty log. */
  last(): Promise<AuditEntry | null>;
  /** The stored hash of each of these entries that exists. */
  hashesAt(seqs: readonly number[]): Promise<Map<number, string>>;
  /** Every entry with this action, by `seq`. */
  withAction(action: string): Promise<AuditEntry[]>;
}

const PAYLOAD_PREFIX = 'roster.audit.checkpoint.v1\n';

/** The exact bytes a checkpoint's signature covers: a fixed prefix, then canonical JSON of its fields. */
export function checkpointPayload(checkpoint: Omit<AuditCheckpoint, 'signature'>): Buffer {
  const { seq, headHash, at, keyId } = checkpoint;
  return Buffer.from(PAYLOAD_PREFIX + canonicalJson({ seq, headHash, at: at.toISOString(), keyId }), 'utf8');
}

const checkpointSchema = z.object({
  seq: z.number().int().positive(),
  headHash: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.date().refine((d) => !Number.isNaN(d.getTime())),
  keyId: z.string().min(1),
  signature: z.string().min(1),
});

/**
 * The idempotency key of the entry recording a checkpoint. Derived from the checkpoint (one per
 * `seq`, unique in the store), so recording it again after a crash or from a racing run is a no-op.
 */
export function checkpointRecordKey(checkpoint: Pick<AuditCheckpoint, 'seq'>): string {
  return `${CHECKPOINT_ACTION}:${checkpoint.seq}`;
}

/** How a set of checkpoints disagrees with the chain. */
export type CheckpointProblemKind = 'forged' | 'truncated' | 'rewritten' | 'deleted' | 'malformed' | 'no-key' | 'unknown-key';

/**
 * Problems that are not evidence against the chain: a checkpoint signed by a key nobody gave us
 * (a rotated key whose public half was not supplied, or a stranger's) proves nothing either way.
 */
const UNPROVEN: ReadonlySet<CheckpointProblemKind> = new Set(['no-key', 'unknown-key']);

export interface CheckpointProblem {
  kind: CheckpointProblemKind;
  /** The checkpoint concerned, when there is one. */
  seq?: number;
  message: string;
}

/** The outcome of {@link assessCheckpoints}. */
export interface CheckpointAssessment {
  ok: boolean;
  problems: CheckpointProblem[];
  /** Checkpoints whose signature verified and whose (seq, hash) the chain still holds. */
  verified: number;
  /** The latest of those; undefined when none verified. */
  latest?: AuditCheckpoint;
  /** Entries 1 to `covered` are vouched for by a verified checkpoint. */
  covered: number;
  /** The chain's last `seq` (0 when empty). */
  lastSeq: number;
  /** Verified checkpoints no chain entry records yet (a run that stopped between the two writes). */
  unrecorded: AuditCheckpoint[];
}

const when = (d: Date) => d.toISOString();

/**
 * Compares the stored checkpoints with the chain. For every checkpoint: it must be signed by a key
 * of the keyring (else **unknown-key**: it cannot be checked), its signature must verify with that
 * key (else **forged**), the chain must still reach its `seq` (else **truncated**) and hold its
 * `headHash` there (else **rewritten**). For every entry recording a checkpoint, that checkpoint
 * must still be stored (else **deleted**). Pure: the caller reads.
 *
 * The keyring is the signing key, when at hand, and any public keys given (older keys after a
 * rotation, or an auditor's copy of the public key): each checkpoint is checked with the key its
 * `keyId` names.
 */
export function assessCheckpoints(input: {
  lastSeq: number;
  checkpoints: readonly unknown[];
  hashAt: ReadonlyMap<number, string>;
  records: readonly AuditEntry[];
  signer: CheckpointSigner | undefined;
  publicKeys?: readonly CheckpointVerifier[];
}): CheckpointAssessment {
  const { lastSeq, hashAt, signer } = input;
  const publicKeys = input.publicKeys ?? [];
  const keyring = new Map<string, CheckpointVerifier>(publicKeys.map((k) => [k.keyId, k]));
  if (signer) keyring.set(signer.keyId, signer);
  const problems: CheckpointProblem[] = [];
  const stored = new Map<number, AuditCheckpoint>();
  for (const raw of input.checkpoints) {
    const parsed = checkpointSchema.safeParse(raw);
    if (!parsed.success) {
      const seq = (raw as { seq?: unknown } | null)?.seq;
      problems.push({
        kind: 'malformed',
        ...(typeof seq === 'number' ? { seq } : {}),
        message: `a checkpoint${typeof seq === 'number' ? ` at seq ${seq}` : ''} is malformed (${parsed.error.issues[0]?.path.join('.') || 'document'}): it was altered`,
      });
      continue;
    }
    stored.set(parsed.data.seq, parsed.data);
  }
  if (stored.size > 0 && keyring.size === 0) {
    problems.push({
      kind: 'no-key',
      message: `${stored.size} checkpoint(s) cannot be verified: no audit key is configured (ROSTER_AUDIT_SIGNING_KEY or ROSTER_AUDIT_SIGNING_KEY_FILE, or the public keys with --public-key or ROSTER_AUDIT_VERIFY_KEYS)`,
    });
  }
  const unknownKey = (name: string, keyId: string) => {
    const known = signer
      ? `not the configured audit signing key ${signer.keyId}${publicKeys.length > 0 ? ` nor any of the ${publicKeys.length} public key(s) given` : ''}`
      : `none of the ${publicKeys.length} public key(s) given (${[...keyring.keys()].join(', ')})`;
    return `${name} is signed by key ${keyId}, ${known}: it cannot be verified. If the audit signing key was rotated, give its old public key (roster audit verify --public-key FILE, or ROSTER_AUDIT_VERIFY_KEYS); otherwise it is forged`;
  };
  const good: AuditCheckpoint[] = [];
  for (const cp of stored.values()) {
    const name = `checkpoint at seq ${cp.seq} (${when(cp.at)})`;
    if (keyring.size > 0) {
      const key = keyring.get(cp.keyId);
      if (!key) {
        problems.push({ kind: 'unknown-key', seq: cp.seq, message: unknownKey(name, cp.keyId) });
        continue;
      }
      const { signature, ...fields } = cp;
      if (!key.verify(checkpointPayload(fields), signature)) {
        problems.push({
          kind: 'forged',
          seq: cp.seq,
          message: `${name} is forged: its signature does not verify with the audit signing key ${cp.keyId} it names`,
        });
        continue;
      }
    }
    if (cp.seq > lastSeq) {
      const ends = lastSeq === 0 ? 'the log is empty' : `the log ends at entry ${lastSeq}`;
      problems.push({
        kind: 'truncated',
        seq: cp.seq,
        message: `entries were removed from the end: ${name} signed a chain of ${cp.seq} entries, but ${ends}`,
      });
      continue;
    }
    const hash = hashAt.get(cp.seq);
    if (hash !== cp.headHash) {
      problems.push({
        kind: 'rewritten',
        seq: cp.seq,
        message:
          hash === undefined
            ? `entry ${cp.seq} is missing: ${name} signed it, so entries were removed`
            : `the chain was rewritten: entry ${cp.seq} no longer has the hash ${name} signed (entries up to ${cp.seq} were changed and re-hashed)`,
      });
      continue;
    }
    if (keyring.size > 0) good.push(cp);
  }
  const recorded = new Set<number>();
  for (const record of input.records) {
    const seq = record.details.seq;
    const headHash = record.details.headHash;
    if (typeof seq !== 'number' || typeof headHash !== 'string') continue;
    recorded.add(seq);
    const cp = stored.get(seq);
    if (cp && cp.headHash === headHash) continue;
    const made = `made at ${when(record.at)}, recorded in entry ${record.seq}`;
    problems.push({
      kind: 'deleted',
      seq,
      message: cp
        ? `the checkpoint at seq ${seq} (${made}) was replaced by one for another hash`
        : `the checkpoint at seq ${seq} (${made}) is missing: it was deleted`,
    });
  }
  good.sort((a, b) => a.seq - b.seq);
  const latest = good.at(-1);
  problems.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  return {
    ok: problems.length === 0,
    problems,
    verified: good.length,
    ...(latest ? { latest } : {}),
    covered: latest?.seq ?? 0,
    lastSeq,
    unrecorded: good.filter((cp) => !recorded.has(cp.seq)),
  };
}

/**
 * The chain no longer matches its checkpoints, so signing its head would vouch for a tampered
 * trail: nothing is signed until someone has looked (`roster audit verify` names the problems).
 */
export class CheckpointRefusedError extends Error {
  constructor(readonly problems: CheckpointProblem[]) {
    super(`not signing the audit chain's head: it no longer matches its checkpoints: ${problems.map((p) => p.message).join('; ')}`);
    this.name = 'CheckpointRefusedError';
  }
}

/** The outcome of {@link AuditCheckpoints.checkpoint}. */
export type CheckpointOutcome =
  | { kind: 'created'; checkpoint: AuditCheckpoint }
  /** The head was already checkpointed (only the entry recording that checkpoint came since). */
  | { kind: 'current'; checkpoint: AuditCheckpoint }
  | { kind: 'empty' };

export interface AuditCheckpointsDeps {
  audit: AuditLog;
  chain: ChainReader;
  repo: CheckpointRepository;
  /** Absent where no key is at hand (an auditor's verify-only run): checkpoints are then checked with `publicKeys`. */
  signer: CheckpointSigner | undefined;
  /** Public keys checkpoints may also be signed with: the keys used before a rotation, or an auditor's copy. */
  publicKeys?: readonly CheckpointVerifier[];
  clock: () => Date;
}

/** Makes and checks signed checkpoints of the audit chain's head. */
export class AuditCheckpoints {
  constructor(private readonly deps: AuditCheckpointsDeps) {}

  /**
   * Signs the current head and records the checkpoint in the chain. Safe to run from several
   * places at once (the periodic job, `roster audit checkpoint`): one checkpoint per `seq`, and the
   * recording entry carries an idempotency key. Nothing new is signed when the only entry since the
   * last checkpoint is the one recording it, so an idle log does not grow. Before signing, the
   * stored checkpoints are checked against the chain: a truncated or rewritten chain is never
   * signed over (which would launder the tampering into a fresh, valid checkpoint); a checkpoint
   * signed by a key not in the keyring (one rotated out) proves nothing either way and does not
   * stop the signing.
   *
   * Storing a checkpoint and recording it in the chain are two writes: a run that stopped between
   * them left a checkpoint no entry records, and the next run records it (once: the entry's
   * idempotency key is derived from the checkpoint) before it signs anything new.
   *
   * `signer` replaces the configured one for this run (the job re-reads a key kept in a file).
   *
   * @throws CheckpointRefusedError when the chain no longer matches its checkpoints.
   */
  async checkpoint(actor: Actor, signer = this.deps.signer): Promise<CheckpointOutcome> {
    const { chain, repo, clock } = this.deps;
    if (!signer) throw new Error('no audit signing key: checkpoints cannot be signed');
    const report = await this.verify(signer);
    const proven = report.problems.filter((p) => !UNPROVEN.has(p.kind));
    if (proven.length > 0) throw new CheckpointRefusedError(proven);
    for (const missed of report.unrecorded) await this.record(actor, missed);
    const head = await chain.last();
    if (!head) return { kind: 'empty' };
    // Current only when the record directly follows the head it signed: a record written late (the
    // repair above) comes after entries no checkpoint covers yet.
    if (head.action === CHECKPOINT_ACTION && head.details.seq === head.seq - 1) {
      const previous = await this.storedAt(head.seq - 1);
      if (previous && previous.headHash === head.details.headHash) return { kind: 'current', checkpoint: previous };
    }
    const fields = { seq: head.seq, headHash: head.hash, at: clock(), keyId: signer.keyId };
    const { created, checkpoint } = await repo.insert({ ...fields, signature: signer.sign(checkpointPayload(fields)) });
    // Recorded even when the checkpoint was already there: another run may have stored it and stopped.
    await this.record(actor, checkpoint);
    return { kind: created ? 'created' : 'current', checkpoint };
  }

  /** Records a stored checkpoint in the chain, once: the idempotency key names its `seq`, one checkpoint per `seq`. */
  private async record(actor: Actor, checkpoint: AuditCheckpoint): Promise<void> {
    await this.deps.audit.append(
      {
        actor,
        action: CHECKPOINT_ACTION,
        subject: { type: 'audit-checkpoint', id: String(checkpoint.seq) },
        details: { seq: checkpoint.seq, headHash: checkpoint.headHash, keyId: checkpoint.keyId, checkpointAt: checkpoint.at },
      },
      { key: checkpointRecordKey(checkpoint) },
    );
  }

  /** Checks every stored checkpoint against the chain and the keyring (see {@link assessCheckpoints}). */
  async verify(signer = this.deps.signer): Promise<CheckpointAssessment> {
    const { chain, repo, publicKeys } = this.deps;
    const [last, checkpoints, records] = await Promise.all([chain.last(), repo.listRaw(), chain.withAction(CHECKPOINT_ACTION)]);
    const seqs = checkpoints
      .map((c) => (c as { seq?: unknown } | null)?.seq)
      .filter((s): s is number => typeof s === 'number' && Number.isInteger(s));
    const hashAt = await chain.hashesAt(seqs);
    return assessCheckpoints({ lastSeq: last?.seq ?? 0, checkpoints, hashAt, records, signer, ...(publicKeys ? { publicKeys } : {}) });
  }

  private async storedAt(seq: number): Promise<AuditCheckpoint | undefined> {
    const parsed = checkpointSchema.safeParse(await this.deps.repo.getRaw(seq));
    return parsed.success ? parsed.data : undefined;
  }
}
