/** Tuning of {@link ClickWork}; every field but `concurrency` has a default. */
export interface ClickWorkSettings {
  /** How many acknowledged deliveries are worked on at once when no acknowledgement is under way. */
  concurrency: number;
  /** How many run at once while Slack deliveries are being acknowledged (see `quietMs`). */
  busyConcurrency?: number;
  /** For how long after an acknowledgement more deliveries are taken to be arriving. */
  quietMs?: number;
  /** The longest a queued delivery waits for acknowledgements to pause; then it starts whatever arrives. */
  maxDeferMs?: number;
  /** Monotonic clock in ms (tests move it). */
  now?: () => number;
}

/** What the person of an acknowledged delivery dropped at shutdown is told. */
export const DROPPED_AT_SHUTDOWN = {
  title: 'Roster was restarting',
  message: 'Roster was stopping as this reached it, so nothing was done. Please try again in a minute.',
} as const;

/** Defaults of {@link ClickWorkSettings}. */
export const CLICK_WORK_DEFAULTS = { busyConcurrency: 1, quietMs: 50, maxDeferMs: 1_000 } as const;

/**
 * An acknowledged delivery the queue owns from its acknowledgement on, while what it needs (its
 * delivery key written, say) is not yet known: {@link ClickWork.onIdle} waits for it, and a
 * shutdown that drops it tells its person to try again (see {@link ClickWork.accept}).
 */
export interface AcceptedDelivery {
  /**
   * Queues the delivery's work; resolves or rejects with it once it has run, or resolves undefined
   * without running it once the delivery was dropped.
   */
  work<T>(task: () => Promise<T>): Promise<T | undefined>;
  /** The delivery needs no work (a repeat, or answered already): the queue lets go of it. */
  done(): void;
  /** True once a shutdown dropped it (its person has been, or is being, told). */
  readonly dropped: boolean;
}

/** An accepted delivery's state. */
interface Owned {
  dropped: boolean;
  tellDropped: () => Promise<void>;
}

interface Queued {
  run: () => Promise<void>;
  at: number;
  /** Set for the work of an accepted delivery: what dropping it does. */
  owned?: Owned;
  cancel?: () => void;
}

/**
 * Where acknowledged Slack deliveries (clicks, commands, events) wait to be worked on, in order
 * and a few at once. Acknowledgements share the event loop with this work, and a request is read
 * only when the loop is free: a burst of clicks whose decisions all ran at once kept the next
 * clicks' requests unread for hundreds of milliseconds (the bench's ack tail at 50 in flight).
 * So while deliveries are being acknowledged (one within `quietMs`), at most `busyConcurrency`
 * run; a delivery that has waited `maxDeferMs` starts anyway, so decisions are late by at most
 * that much however long a burst lasts. A task starts on a later turn of the loop than the one
 * that freed its slot, so requests waiting to be read are read first.
 */
export class ClickWork {
  private readonly concurrency: number;
  private readonly busyConcurrency: number;
  private readonly quietMs: number;
  private readonly maxDeferMs: number;
  private readonly now: () => number;
  private readonly queue: Queued[] = [];
  private running = 0;
  private lastAck = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private readonly idlers: Array<() => void> = [];
  /** Accepted deliveries whose work is not yet queued. */
  private readonly awaiting = new Set<Owned>();

  constructor(settings: ClickWorkSettings) {
    this.concurrency = Math.max(1, settings.concurrency);
    this.busyConcurrency = Math.min(this.concurrency, Math.max(0, settings.busyConcurrency ?? CLICK_WORK_DEFAULTS.busyConcurrency));
    this.quietMs = settings.quietMs ?? CLICK_WORK_DEFAULTS.quietMs;
    this.maxDeferMs = settings.maxDeferMs ?? CLICK_WORK_DEFAULTS.maxDeferMs;
    this.now = settings.now ?? (() => performance.now());
  }

  /** Says a Slack delivery was just acknowledged: work yields to the next ones for `quietMs`. */
  acknowledged(): void {
    this.lastAck = this.now();
  }

  /** Queues `task`; resolves or rejects with it once it has run. */
  add<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const run = async () => {
        try {
          resolve(await task());
        } catch (err) {
          reject(err);
        }
      };
      this.queue.push({ run, at: this.now() });
      this.schedule();
    });
  }

  /**
   * Takes a delivery about to be acknowledged whose work is queued later, once it is known (after
   * its delivery key is written, which may take seconds): until then it counts as waiting, so a
   * shutdown waits for it, and one that drops it (see {@link ClickWork.clear}) calls `tellDropped`.
   */
  accept(tellDropped: () => Promise<void>): AcceptedDelivery {
    const owned: Owned = { dropped: false, tellDropped };
    this.awaiting.add(owned);
    return {
      get dropped() {
        return owned.dropped;
      },
      done: () => {
        if (this.awaiting.delete(owned)) this.settleIdlers();
      },
      work: <T>(task: () => Promise<T>) =>
        new Promise<T | undefined>((resolve, reject) => {
          if (owned.dropped || !this.awaiting.delete(owned)) return resolve(undefined);
          const run = async () => {
            try {
              resolve(await task());
            } catch (err) {
              reject(err);
            }
          };
          this.queue.push({ run, at: this.now(), owned, cancel: () => resolve(undefined) });
          this.schedule();
        }),
    };
  }

  /** How many are waiting (not yet started): queued, or accepted and not yet queued. */
  get size(): number {
    return this.queue.length + this.awaiting.size;
  }

  /** How many are running. */
  get pending(): number {
    return this.running;
  }

  /**
   * Drops what has not started (shutdown); what runs goes on. Resolves once the people of the
   * accepted deliveries dropped have been told (their `tellDropped` settled).
   */
  async clear(): Promise<void> {
    const dropped = [...this.queue.flatMap((q) => (q.owned ? [q.owned] : [])), ...this.awaiting];
    const cancelled = this.queue.flatMap((q) => (q.cancel ? [q.cancel] : []));
    this.queue.length = 0;
    this.awaiting.clear();
    for (const owned of dropped) owned.dropped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.settleIdlers();
    for (const cancel of cancelled) cancel();
    await Promise.all(dropped.map((owned) => owned.tellDropped().catch(() => undefined)));
  }

  /** Resolves when nothing is queued, accepted and not yet queued, or running. */
  onIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idlers.push(resolve));
  }

  /** Pumps on a later turn of the loop (after its I/O), once however often it is asked meanwhile. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 && this.running < this.concurrency) {
      const now = this.now();
      const quietAt = this.lastAck + this.quietMs;
      const starvedAt = this.queue[0]!.at + this.maxDeferMs;
      if (now < quietAt && now < starvedAt && this.running >= this.busyConcurrency) {
        // Looked at again when acknowledgements may have paused, or when the oldest waited enough.
        this.timer = setTimeout(() => this.schedule(), Math.max(1, Math.ceil(Math.min(quietAt, starvedAt) - now)));
        return;
      }
      const { run } = this.queue.shift()!;
      this.running += 1;
      void run().finally(() => {
        this.running -= 1;
        if (this.queue.length > 0) this.schedule();
        else this.settleIdlers();
      });
    }
  }

  private get idle(): boolean {
    return this.running === 0 && this.queue.length === 0 && this.awaiting.size === 0;
  }

  private settleIdlers(): void {
    if (this.idle) for (const resolve of this.idlers.splice(0)) resolve();
  }
}
