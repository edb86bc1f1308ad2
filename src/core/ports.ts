/*
 * Ports of the durable outbox (see src/core/outbox.ts for the service and README "Delivery
 * guarantee"). The core depends on these interfaces only; src/store implements the repository and
 * each module registers the performers of the effect types it owns.
 */

/** The record whose state change caused an effect: a run, a grant, an alert… (`kind` names its store). */
export interface HolderRef {
  kind: string;
  id: string;
}

/**
 * An effect waiting in a record's outbox. It is written in the same atomic update as the state
 * change that implies it, and removed once performed; `id` is its idempotency key.
 */
export interface PendingEffect<D = unknown> {
  /** Unique across Roster: performers use it as the idempotency key. */
  id: string;
  /** The registered performer, e.g. `audit.append`, `flow.send`. */
  type: string;
  /** Plain JSON data the performer needs (no secrets: it is stored). */
  data: D;
  /** When a worker may take it: a lease for the writer performing it now, or the next retry. */
  due: Date;
  /** Attempts that failed so far. */
  attempts: number;
  createdAt: Date;
  /** The last failure, for IT (an allow-listed message, never a payload). */
  lastError?: string;
  /** Set once the retry limit is reached: IT was told, workers leave it alone until it is retried by hand. */
  parkedAt?: Date;
}

/** What a performer knows about the effect it performs. */
export interface EffectContext {
  /** The effect's id: record it with the result (unique key, job key, message id) so that a second run changes nothing. */
  effectId: string;
  holder: HolderRef;
  /** 1 for the first attempt. */
  attempt: number;
  /**
   * The writer that stored the effect with its state change performs it for the first time: it
   * was very likely never performed (a performer may skip looking for an earlier result, as long
   * as its unique key still catches one).
   */
  fresh?: boolean;
}

/**
 * Performs one type of effect. `perform` may run more than once for the same effect (a crash
 * after performing and before the effect is marked done): it must be idempotent, keyed on
 * `ctx.effectId`. Throwing means "try again later" (with back-off).
 */
export interface EffectPerformer<D = unknown> {
  readonly type: string;
  /**
   * Effects of this type keep, in one holder, the order they were stored in whoever performs them
   * (audit entries): a writer performs the holder's earlier ones of the type before its own, even
   * those another writer still holds (deferred with `Outbox.later`). Only for a performer that is
   * idempotent when two perform one effect at once.
   */
  readonly ordered?: boolean;
  perform(data: D, ctx: EffectContext): Promise<void>;
  /**
   * Performs many effects of this type in a few round trips (a sweep's hundreds of audit entries
   * or cards), as idempotently as `perform`; resolves the ids performed. Those left out, or all of
   * them when it throws, stay in their outbox for the worker. Without it, `Outbox.settleMany`
   * performs them one by one.
   */
  performMany?(
    items: ReadonlyArray<{ data: D; effectId: string; holder: HolderRef }>,
    options: { concurrency: number },
  ): Promise<Set<string>>;
}

/** One due effect as the worker sees it. */
export interface DueEffect {
  holder: HolderRef;
  effect: PendingEffect;
}

/** Storage of the effects embedded in each holder record (src/store/outbox-store.ts). */
export interface OutboxRepository {
  /** Effects due at `now`, with the parked effects of the same holders (they hold back their type), oldest first. */
  due(now: Date, limit: number): Promise<DueEffect[]>;
  /** Takes a holder's outbox until `until`, unless another worker holds it; false then. */
  claim(holder: HolderRef, now: Date, until: Date): Promise<boolean>;
  /** Gives a holder's outbox back. */
  release(holder: HolderRef): Promise<void>;
  /** Removes performed effects; never touches the rest of the record. */
  done(holder: HolderRef, effectIds: string[]): Promise<void>;
  /** Removes performed effects of many holders, with one update per holder kind. */
  doneMany(done: ReadonlyArray<{ holder: HolderRef; effectIds: string[] }>): Promise<void>;
  /** Records a failed attempt and when to try again (or parks it). */
  failed(holder: HolderRef, effectId: string, update: { attempts: number; due: Date; lastError: string; parkedAt?: Date }): Promise<void>;
  /** Adds effects to a record without a state change (e.g. an IT notice about a parked effect). */
  append(holder: HolderRef, effects: PendingEffect[]): Promise<boolean>;
  /** Pending and parked effects, for /metrics. */
  depth(): Promise<{ pending: number; parked: number }>;
  /** Parked effects, for IT: all of them, or the first `limit`. */
  parked(limit?: number): Promise<DueEffect[]>;
  /** One parked effect by its id (the id the IT notice names), wherever it is held. */
  parkedEffect(effectId: string): Promise<DueEffect | undefined>;
  /** Makes parked effects due again (an IT admin's "retry"). */
  unpark(holder: HolderRef, effectId: string, now: Date): Promise<boolean>;
}
