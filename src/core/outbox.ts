import { randomFillSync } from 'node:crypto';
import type { DueEffect, EffectPerformer, HolderRef, OutboxRepository, PendingEffect } from './ports.js';

/*
 * The durable outbox: effects (audit entries, cards, timers, follow-up work) are stored in the
 * same atomic conditional update as the state change that implies them, then performed. The
 * writer performs them at once (so people see them without delay) and removes them; if it dies
 * first, a worker (an Agenda job, and every process at start) performs what is left. Delivery is
 * at least once; every performer is idempotent on the effect id, so people see each effect once.
 *
 * How a state change enqueues effects:
 *   const effects = [outbox.effect('audit.append', entry), outbox.effect('flow.send', { to, card })];
 *   const stored = await repo.update(filter, change, effects);   // one atomic update, see withEffects()
 *   if (stored) await outbox.settle({ kind: 'run', id }, effects, 'run.decision');
 * How a new effect type registers its performer:
 *   outbox.register({ type: 'webhook.deliver', perform: async (data, { effectId }) => { ... } });
 * A performer that throws an error with `retryAfterMs` (a remote 429's Retry-After) is retried no sooner.
 * A performer that says `ordered: true` (audit entries) keeps its effects' order in a holder across
 * writers: `settle` performs the holder's earlier ones first, even while another writer holds them.
 *
 * Who performs a writer's effects, and when: `settle` (the writer, before it answers), `later` (this
 * process right after the answer, a bounded queue with urgent tasks first) or `now` (right after the
 * answer, outside that queue: the cards a person waits for). Either way they are stored already.
 */

/** Tuning of the outbox; every field has a production default. */
export interface OutboxSettings {
  /** How long the writer may take to perform its effects before a worker takes them over. */
  leaseMs: number;
  /** Failed attempts after which an effect is parked and IT is told. */
  maxAttempts: number;
  /** Back-off after the first failure; doubled each time, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** How many writers' deferred settles (see `later`) run at once in this process. */
  laterConcurrency: number;
}

export const DEFAULT_OUTBOX_SETTINGS: OutboxSettings = {
  leaseMs: 30_000,
  maxAttempts: 8,
  baseDelayMs: 2_000,
  maxDelayMs: 15 * 60_000,
  laterConcurrency: 32,
};

/** What the outbox reports, for /metrics (kept out of the core as an interface). */
export interface OutboxObserver {
  performed(type: string): void;
  failed(type: string): void;
  parked(type: string): void;
}

/**
 * Holds back effects that can wait (their data says `quiet: true` and names a recipient `to`):
 * `until` says when the recipient may be reached (undefined: now); `defer` stores the effect,
 * durably and once per effect id, to be performed then with {@link Outbox.performNow}.
 */
export interface QuietHours {
  until(to: string): Promise<Date | undefined>;
  defer(at: Date, type: string, effectId: string, data: unknown): Promise<void>;
  /**
   * `defer` for many effects in one write (a sweep holds one card per agent); all or nothing for
   * the caller: on a rejection none counts as deferred (deferring one again changes nothing).
   */
  deferMany?(items: ReadonlyArray<{ at: Date; type: string; effectId: string; data: unknown }>): Promise<void>;
}

/** The data of an effect that may wait for its recipient's working hours. */
function quietRecipient(data: unknown): string | undefined {
  const d = data as { quiet?: unknown; to?: unknown } | null;
  return d && typeof d === 'object' && d.quiet === true && typeof d.to === 'string' ? d.to : undefined;
}

/** A held effect's data as performed when its recipient's working hours come: no longer held. */
function released(data: unknown): Record<string, unknown> {
  return { ...(data as Record<string, unknown>), quiet: false };
}

/** Called when an effect reaches the retry limit; tells IT (in chat) and must not throw. */
export type ParkedHandler = (due: DueEffect) => Promise<void>;

export interface OutboxDeps {
  repo: OutboxRepository;
  log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };
  clock?: () => Date;
  settings?: Partial<OutboxSettings>;
  /** Who counts performed, failed and parked effects (the /metrics counters). */
  observer?: OutboxObserver;
  /** Who holds back effects that can wait until their recipient's working hours. */
  quiet?: QuietHours;
  /** Who tells IT about an effect that keeps failing. */
  onParked?: ParkedHandler;
  /**
   * Test-only crash hook (see src/core/fault-point.ts): called with `<label>:<k>` after `k` of a
   * writer's effects were performed (0 = just after the state change was stored).
   */
  faultPoint?: (name: string) => void;
}

/** What {@link Outbox.settleMany} settles: holders, the effects each has just stored, and those already done. */
export type SettleBatch = ReadonlyArray<{
  holder: HolderRef;
  effects: readonly PendingEffect[];
  /** Effects whose work the writer did itself (the start of a run it created): only removed. */
  done?: readonly PendingEffect[];
}>;

/** Most writers' batches {@link Outbox.settleSoon} settles in one group. */
const MAX_SOON_GROUP = 200;

/** The durable outbox service; see the module comment for its API. */
export class Outbox {
  readonly settings: OutboxSettings;
  private readonly performers = new Map<string, EffectPerformer>();
  private readonly clock: () => Date;
  private readonly onParked: ParkedHandler | undefined;
  private readonly observer: OutboxObserver | undefined;
  private readonly quiet: QuietHours | undefined;
  private draining: Promise<number> | undefined;
  private readonly queued: Array<{ task: () => Promise<void>; at: number }> = [];
  private readonly urgent: Array<{ task: () => Promise<void>; at: number }> = [];
  private running = 0;
  /** Of those running, the tasks handed to `now` (not counted against `laterConcurrency`). */
  private immediate = 0;
  private readonly idlers: Array<() => void> = [];
  /** The batches waiting for {@link Outbox.settleSoon}, per label, and whether a group of them is being settled. */
  private readonly soon = new Map<string, { waiting: Array<{ batch: SettleBatch; at: number; resolve(): void }>; busy: boolean }>();

  constructor(private readonly deps: OutboxDeps) {
    this.settings = { ...DEFAULT_OUTBOX_SETTINGS, ...deps.settings };
    this.clock = deps.clock ?? (() => new Date());
    this.observer = deps.observer;
    this.quiet = deps.quiet;
    this.onParked = deps.onParked;
  }

  /** Registers the performer of one effect type; a type has exactly one performer. */
  register<D>(performer: EffectPerformer<D>): void {
    if (this.performers.has(performer.type)) throw new Error(`an outbox performer for ${performer.type} is already registered`);
    this.performers.set(performer.type, performer as EffectPerformer);
  }

  /**
   * Performs an effect held back by {@link QuietHours} now that its time came (its `quiet` flag
   * cleared). Throws when it fails, for the deferring job to retry; idempotent on the effect id
   * like every performer.
   */
  async performNow(type: string, effectId: string, data: unknown, attempt = 1): Promise<void> {
    const performer = this.performers.get(type);
    if (!performer) throw new Error(`no performer is registered for effect type ${type}`);
    await performer.perform(released(data), { effectId, holder: { kind: 'quiet-hours', id: effectId }, attempt });
    this.observer?.performed(type);
  }

  /** True when the effect can wait and was handed to {@link QuietHours} for later. */
  private async heldBack(type: string, effectId: string, data: unknown): Promise<boolean> {
    const to = this.quiet ? quietRecipient(data) : undefined;
    if (!to || !this.quiet) return false;
    const at = await this.quiet.until(to);
    if (!at || at.getTime() <= this.clock().getTime()) return false;
    await this.quiet.defer(at, type, effectId, released(data));
    return true;
  }

  /**
   * A new effect to store with a state change. `key`, when given, makes the id deterministic
   * (the same logical effect enqueued twice is performed once); otherwise it is random.
   */
  effect<D>(type: string, data: D, options: { key?: string } = {}): PendingEffect<D> {
    const now = this.clock();
    return {
      id: options.key ?? `fx_${randomHex10()}`,
      type,
      data,
      due: new Date(now.getTime() + this.settings.leaseMs),
      attempts: 0,
      createdAt: now,
    };
  }

  /**
   * Performs, in order, the effects a writer has just stored with its state change, and removes
   * those that succeeded. Never throws: a failed effect stays in the outbox and is retried by the
   * worker. Effects of one type keep their order: after a failure, the later ones of that type
   * wait too (the audit trail records a run's events in the order they happened).
   *
   * `stored` is the record's whole outbox as written (see `withEffects`): effects a dead writer
   * left there and whose lease ran out are performed first, so they keep their place in order; so
   * are the earlier effects of an `ordered` type this writer performs too, even those another
   * writer still holds: a decision on a run whose start is deferred is audited after the start.
   *
   * `done`: ids of effects of the holder performed earlier (see {@link settleKeeping}), removed
   * with these.
   */
  async settle(
    holder: HolderRef,
    effects: readonly PendingEffect[],
    label: string,
    stored: readonly PendingEffect[] = [],
    options: { done?: readonly string[] } = {},
  ): Promise<void> {
    await this.markDone(holder, [...(options.done ?? []), ...(await this.performSettled(holder, effects, label, stored))]);
  }

  /**
   * `settle` for a writer that settles its effects in two steps (those its answer waits for, then
   * the rest right after it): performs these like `settle` but keeps them in the outbox and
   * resolves with the ids of those performed, for the second step to remove with its own
   * (`settle`'s `done`), one write instead of two. Kept, they are performed again only if the
   * second step never comes, which changes nothing.
   */
  settleKeeping(
    holder: HolderRef,
    effects: readonly PendingEffect[],
    label: string,
    stored: readonly PendingEffect[] = [],
  ): Promise<string[]> {
    return this.performSettled(holder, effects, label, stored);
  }

  /** What `settle` performs; resolves with the ids of the effects performed. */
  private async performSettled(
    holder: HolderRef,
    effects: readonly PendingEffect[],
    label: string,
    stored: readonly PendingEffect[],
  ): Promise<string[]> {
    const mine = new Set(effects.map((e) => e.id));
    const now = this.clock().getTime();
    const ordered = new Set(effects.filter((e) => this.performers.get(e.type)?.ordered).map((e) => e.type));
    const left = stored.filter((e) => !mine.has(e.id) && (e.parkedAt || e.due.getTime() <= now || ordered.has(e.type)));
    if (effects.length === 0 && left.length === 0) {
      this.deps.faultPoint?.(`${label}:0`);
      return [];
    }
    const done: string[] = [];
    const blocked = new Set<string>();
    for (const effect of left) {
      if (effect.parkedAt) blocked.add(effect.type);
      if (blocked.has(effect.type)) continue;
      if (await this.performOne(holder, effect)) done.push(effect.id);
      else blocked.add(effect.type);
    }
    for (const [k, effect] of effects.entries()) {
      this.deps.faultPoint?.(`${label}:${k}`);
      if (blocked.has(effect.type)) continue;
      if (await this.performOne(holder, effect, effect.attempts === 0)) done.push(effect.id);
      else blocked.add(effect.type);
    }
    this.deps.faultPoint?.(`${label}:${effects.length}`);
    return done;
  }

  /**
   * Stores effects in a holder's outbox without a state change (a performer that finds more to
   * do: a forbidden attempt that is the third warns the sponsors); `settle` performs them then.
   * Throws when the holder is not there.
   */
  async store(holder: HolderRef, effects: PendingEffect[]): Promise<void> {
    if (!(await this.deps.repo.append(holder, effects))) throw new Error(`no ${holder.kind} ${holder.id} to store effects in`);
  }

  /**
   * Marks where a writer has stored a state change whose effects it performs in a later step (the
   * start of a run, say): the crash-test point `<label>:0`, like `settle`'s first. Does nothing else.
   */
  stored(label: string): void {
    this.deps.faultPoint?.(`${label}:0`);
  }

  /**
   * `settle` for the effects many records have just stored (a sweep's chunk): the effects of one
   * type are performed together, by the type's `performMany` when it has one (one or a few round
   * trips for all of them), in the order given; those performed are removed with one update per
   * holder kind. A type parked in a record holds back that record's later effects of the type.
   * Unlike `settle` it throws the first failure, after removing what was performed: what failed
   * stays in its outbox for the worker, and the caller stops where it would have died.
   */
  async settleMany(batch: SettleBatch, label: string, options: { concurrency?: number } = {}): Promise<void> {
    this.deps.faultPoint?.(`${label}:0`);
    const already = new Set(batch.flatMap((b) => (b.done ?? []).map((e) => e.id)));
    const byType = new Map<string, Array<{ data: unknown; effectId: string; holder: HolderRef; attempts: number }>>();
    let total = 0;
    const performed = new Set<string>(already);
    let failure: unknown;
    // A sweep sends many cards to the same few people: their working hours are asked once per
    // recipient, and the cards held back are handed to QuietHours together (bounded), not one by one.
    const untilOf = new Map<string, Promise<Date | undefined>>();
    const held: Array<{ at: Date; type: string; effectId: string; data: unknown }> = [];
    for (const { holder, effects } of batch) {
      const blocked = new Set(effects.filter((e) => e.parkedAt).map((e) => e.type));
      for (const effect of effects) {
        if (blocked.has(effect.type)) continue;
        const to = this.quiet ? quietRecipient(effect.data) : undefined;
        if (to !== undefined && this.quiet) {
          let until = untilOf.get(to);
          if (!until) untilOf.set(to, (until = this.quiet.until(to)));
          let at: Date | undefined;
          try {
            at = await until;
          } catch (err) {
            failure ??= err;
            continue;
          }
          if (at && at.getTime() > this.clock().getTime()) {
            held.push({ at, type: effect.type, effectId: effect.id, data: released(effect.data) });
            continue;
          }
        }
        const list = byType.get(effect.type);
        const item = { data: effect.data, effectId: effect.id, holder, attempts: effect.attempts };
        if (list) list.push(item);
        else byType.set(effect.type, [item]);
        total += 1;
      }
    }
    const quiet = this.quiet;
    if (held.length > 0 && quiet?.deferMany) {
      try {
        await quiet.deferMany(held);
        for (const { effectId } of held) performed.add(effectId);
      } catch (err) {
        failure ??= err;
      }
    } else {
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(Math.max(1, options.concurrency ?? 8), held.length) }, async () => {
          while (next < held.length) {
            const { at, type, effectId, data } = held[next++]!;
            try {
              await quiet!.defer(at, type, effectId, data);
              performed.add(effectId);
            } catch (err) {
              failure ??= err;
            }
          }
        }),
      );
    }
    if (total === 0 && performed.size === 0 && failure === undefined) return;
    for (const [type, items] of byType) {
      const performer = this.performers.get(type);
      try {
        if (!performer) throw new Error(`no performer is registered for effect type ${type}`);
        if (performer.performMany) {
          for (const id of await performer.performMany(items, { concurrency: options.concurrency ?? 8 })) performed.add(id);
        } else {
          for (const { data, effectId, holder, attempts } of items) {
            await performer.perform(data, { effectId, holder, attempt: attempts + 1 });
            performed.add(effectId);
          }
        }
      } catch (err) {
        failure ??= err;
        this.observer?.failed(type);
        this.deps.log.warn(
          { effect: type, count: items.length, reason: describeError(err) },
          'a batch of effects failed; the worker will retry them',
        );
      }
      for (const { effectId } of items) if (performed.has(effectId)) this.observer?.performed(type);
    }
    this.deps.faultPoint?.(`${label}:${total}`);
    const done = batch
      .map(({ holder, effects, done: own = [] }) => ({
        holder,
        effectIds: [...own, ...effects].filter((e) => performed.has(e.id)).map((e) => e.id),
      }))
      .filter((d) => d.effectIds.length > 0);
    if (done.length > 0) {
      try {
        await this.deps.repo.doneMany(done);
      } catch (err) {
        // Left in the outbox, they are performed again later, which changes nothing.
        this.deps.log.warn({ err, count: done.length }, 'could not mark performed effects as done');
      }
    }
    if (failure !== undefined) throw failure;
  }

  /**
   * Runs `task` (usually a `settle` of effects a writer has just stored) right after the caller
   * answered, in this process, at most `laterConcurrency` at once; `urgent` tasks (cards people
   * wait for) start before the others. The effects are already durable: if the process dies
   * first, their lease runs out and the worker performs them, so this only decides who performs
   * them and when. Resolves at once, except when the oldest queued task has waited half a lease:
   * then the caller runs its own task before it answers (back-pressure, and no deferred effect
   * outlives its lease while the worker could take it over).
   */
  async later(task: () => Promise<void>, options: { urgent?: boolean } = {}): Promise<void> {
    const oldest = Math.min(this.urgent[0]?.at ?? Infinity, this.queued[0]?.at ?? Infinity);
    if (Date.now() - oldest > this.settings.leaseMs / 2) return task();
    (options.urgent ? this.urgent : this.queued).push({ task, at: Date.now() });
    this.pump();
  }

  /**
   * `later` for writers that store small batches of effects many times a second (each runtime
   * answer's audit entry): a writer's batch joins those of its `label` waiting to be settled, and
   * one task of `later`'s queue settles them together with {@link settleMany} (one audit insert
   * for the group's entries, one clean-up per holder kind), one group at a time per label. With
   * nobody else writing, a batch is settled alone, at once, as `later` would. Resolves at once,
   * except when the oldest batch waiting has waited half a lease: then the caller waits until its
   * own is settled (back-pressure, as `later`). A failure stays in its outbox for the worker.
   */
  settleSoon(batch: SettleBatch, label: string): Promise<void> {
    let lane = this.soon.get(label);
    if (!lane) this.soon.set(label, (lane = { waiting: [], busy: false }));
    const mine = { batch, at: Date.now(), resolve: () => {} };
    const oldest = lane.waiting[0]?.at;
    lane.waiting.push(mine);
    if (lane.busy) {
      if (oldest === undefined || Date.now() - oldest <= this.settings.leaseMs / 2) return Promise.resolve();
      return new Promise<void>((resolve) => (mine.resolve = resolve));
    }
    lane.busy = true;
    const work = lane;
    return this.later(async () => {
      try {
        while (work.waiting.length > 0) {
          const group = work.waiting.splice(0, MAX_SOON_GROUP);
          try {
            await this.settleMany(
              group.flatMap((g) => g.batch),
              label,
            );
          } catch (err) {
            this.deps.log.warn({ reason: describeError(err), label }, 'a group of deferred effects failed; the worker will retry them');
          }
          for (const g of group) g.resolve();
        }
      } finally {
        work.busy = false;
      }
    });
  }

  /**
   * Runs `task` at once, beside the caller's answer and outside `later`'s queue and limit: for the
   * few effects a person is waiting for (a new approval's cards), which must not queue behind
   * other writers' audit entries. Like `later`, the effects are durable already; `idle` waits
   * for it too. Resolves at once.
   */
  now(task: () => Promise<void>): void {
    this.run(task);
  }

  /** Resolves when no task handed to `later` or `now` is queued or running (tests and benchmarks wait for it). */
  idle(): Promise<void> {
    if (this.running === 0 && this.queued.length === 0 && this.urgent.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idlers.push(resolve));
  }

  private pump(): void {
    while (this.running - this.immediate < this.settings.laterConcurrency && this.urgent.length + this.queued.length > 0) {
      const { task } = (this.urgent.shift() ?? this.queued.shift())!;
      this.run(task, false);
    }
  }

  private run(task: () => Promise<void>, immediate = true): void {
    this.running += 1;
    if (immediate) this.immediate += 1;
    void (async () => {
      try {
        await task();
      } catch (err) {
        // settle never throws; anything else a task does is retried by the worker from the outbox.
        this.deps.log.warn({ err }, 'a deferred outbox task failed; the worker will retry its effects');
      } finally {
        this.running -= 1;
        if (immediate) this.immediate -= 1;
        this.pump();
        if (this.running === 0 && this.queued.length === 0 && this.urgent.length === 0)
          for (const resolve of this.idlers.splice(0)) resolve();
      }
    })();
  }

  /** Performs every due effect (a crashed writer's, or retries); resolves with how many were performed. */
  drain(): Promise<number> {
    this.draining ??= this.drainOnce().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  private async drainOnce(): Promise<number> {
    let performed = 0;
    for (let round = 0; round < 20; round++) {
      const due = await this.deps.repo.due(this.clock(), 200);
      if (due.every((d) => d.effect.parkedAt)) break;
      let progressed = 0;
      for (const [key, items] of groupByHolder(due)) {
        const holder = items[0]!.holder;
        const now = this.clock();
        if (!(await this.deps.repo.claim(holder, now, new Date(now.getTime() + this.settings.leaseMs)))) continue;
        try {
          const blocked = new Set<string>();
          const done: string[] = [];
          for (const { effect } of items) {
            if (effect.parkedAt) blocked.add(effect.type);
            if (blocked.has(effect.type)) continue;
            if (await this.performOne(holder, effect)) done.push(effect.id);
            else blocked.add(effect.type);
          }
          await this.markDone(holder, done);
          performed += done.length;
          progressed += done.length;
        } finally {
          await this.deps.repo
            .release(holder)
            .catch((err: unknown) => this.deps.log.warn({ err, holder: key }, 'could not release an outbox'));
        }
      }
      if (progressed === 0) break;
    }
    return performed;
  }

  private async markDone(holder: HolderRef, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      await this.deps.repo.done(holder, ids);
    } catch (err) {
      // Left in the outbox, they are performed again later, which changes nothing.
      this.deps.log.warn({ err, holder }, 'could not mark performed effects as done');
    }
  }

  /** True when performed; on failure records the attempt and the next try (or parks it). */
  /** `fresh`: the writer performs an effect it has just stored (see {@link EffectContext.fresh}). */
  private async performOne(holder: HolderRef, effect: PendingEffect, fresh = false): Promise<boolean> {
    const performer = this.performers.get(effect.type);
    const attempt = effect.attempts + 1;
    try {
      if (!performer) throw new Error(`no performer is registered for effect type ${effect.type}`);
      if (await this.heldBack(effect.type, effect.id, effect.data)) return true;
      await performer.perform(effect.data, { effectId: effect.id, holder, attempt, ...(fresh ? { fresh } : {}) });
      this.observer?.performed(effect.type);
      return true;
    } catch (err) {
      await this.recordFailure(holder, effect, attempt, err);
      return false;
    }
  }

  private async recordFailure(holder: HolderRef, effect: PendingEffect, attempt: number, err: unknown): Promise<void> {
    const now = this.clock();
    const lastError = describeError(err);
    const park = attempt >= this.settings.maxAttempts;
    const delay = Math.min(this.settings.maxDelayMs, this.settings.baseDelayMs * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
    // A remote service that said when to come back (Retry-After) is not asked again sooner.
    const due = new Date(now.getTime() + Math.max(delay, retryAfterOf(err)));
    this.observer?.failed(effect.type);
    this.deps.log.warn(
      { holder, effectId: effect.id, effect: effect.type, attempt, reason: lastError },
      'an effect failed; it will be retried',
    );
    try {
      await this.deps.repo.failed(holder, effect.id, { attempts: attempt, due, lastError, ...(park ? { parkedAt: now } : {}) });
    } catch (storeErr) {
      this.deps.log.error({ err: storeErr, holder, effectId: effect.id }, 'could not record a failed effect; its lease will run out');
      return;
    }
    if (!park) return;
    this.observer?.parked(effect.type);
    this.deps.log.error(
      { holder, effectId: effect.id, effect: effect.type, attempts: attempt, reason: lastError },
      'an effect keeps failing; IT admins were told',
    );
    await this.onParked?.({ holder, effect: { ...effect, attempts: attempt, lastError, parkedAt: now } }).catch((notifyErr: unknown) => {
      this.deps.log.error({ err: notifyErr, effectId: effect.id }, 'could not tell IT admins about a failing effect');
    });
  }
}

/** The wait a failed performer passed on from a remote service's Retry-After (`err.retryAfterMs`), at most a day; 0 when none. */
function retryAfterOf(err: unknown): number {
  const hinted = (err as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  return typeof hinted === 'number' && Number.isFinite(hinted) && hinted > 0 ? Math.min(hinted, 86_400_000) : 0;
}

function groupByHolder(due: readonly DueEffect[]): Map<string, DueEffect[]> {
  const groups = new Map<string, DueEffect[]>();
  for (const item of due) {
    const key = `${item.holder.kind}:${item.holder.id}`;
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
}

/** A failure reason IT may read: the error's class, code and message, never its payload. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 300);
  const code = (err as { code?: unknown }).code;
  return `${err.name}${typeof code === 'string' || typeof code === 'number' ? ` (${code})` : ''}: ${err.message}`.slice(0, 300);
}

/** Random bytes drawn 4 KiB at a time: a sweep makes thousands of effect ids, one system call each before. */
const randomPool = Buffer.alloc(4096);
let randomAt = randomPool.length;

/** 10 random bytes in hex (an effect id's 80 bits, as `randomBytes(10)` gave them). */
function randomHex10(): string {
  if (randomAt + 10 > randomPool.length) {
    randomFillSync(randomPool);
    randomAt = 0;
  }
  const hex = randomPool.toString('hex', randomAt, randomAt + 10);
  randomAt += 10;
  return hex;
}
