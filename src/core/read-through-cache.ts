/** Options of a {@link ReadThroughCache}. */
export interface ReadThroughCacheOptions {
  /** How long a read serves later callers, counted from when the read started; 0 turns the cache off. */
  ttlMs: number;
  /** Milliseconds of a monotonic clock (tests move it instead of waiting). */
  now?: () => number;
  /** Most keys remembered at once; the least recently read are dropped first. */
  maxEntries?: number;
}

const MAX_ENTRIES = 10_000;

/**
 * Remembers what a read by key returned, for a bounded time, and shares one read among the callers
 * that ask for the same key while it is in flight (200 requests for one agent at once: one read).
 *
 * Bound: an answer always comes from a read that started at most `ttlMs` before it was asked for,
 * so a change written elsewhere (another replica) is seen after at most `ttlMs`. A change written
 * by this process is seen at once: its writer calls {@link forget} once the write is done, which
 * drops the key's read, done or in flight; a read in flight then still answers the callers that
 * asked before the write, and nobody after.
 */
export class ReadThroughCache<K, V> {
  /**
   * Each key's latest read and when it started. One state for in flight and done: the promise
   * answers whoever asks within `ttlMs` of the start, whether or not it has settled.
   */
  private readonly reads = new Map<K, { promise: Promise<V>; startedAt: number }>();
  private readonly now: () => number;
  private readonly max: number;

  constructor(private readonly options: ReadThroughCacheOptions) {
    this.now = options.now ?? (() => performance.now());
    this.max = options.maxEntries ?? MAX_ENTRIES;
  }

  /**
   * The value of `key`: from its read (done or in flight) when that read started less than
   * `ttlMs` ago; else `read()` now. `keep` decides whether a value read serves later callers.
   */
  get(key: K, read: () => Promise<V>, keep: (value: V) => boolean = () => true): Promise<V> {
    if (this.options.ttlMs <= 0) return read();
    const now = this.now();
    const known = this.reads.get(key);
    if (known && now - known.startedAt < this.options.ttlMs) return known.promise;
    const started = { promise: read(), startedAt: now };
    this.reads.delete(key);
    this.reads.set(key, started);
    while (this.reads.size > this.max) this.reads.delete(this.reads.keys().next().value!);
    // A failure, or a value not kept, serves nobody after: unless a newer read (or a forget) came first.
    const drop = () => {
      if (this.reads.get(key) === started) this.reads.delete(key);
    };
    started.promise.then((value) => {
      if (!keep(value)) drop();
    }, drop);
    return started.promise;
  }

  /** Forgets `key` (its stored state changed here); without a key, everything. */
  forget(key?: K): void {
    if (key === undefined) this.reads.clear();
    else this.reads.delete(key);
  }

  /** How many keys are remembered now (their reads done or in flight). */
  get size(): number {
    return this.reads.size;
  }
}
