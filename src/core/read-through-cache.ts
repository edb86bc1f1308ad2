/** Options of a {@link ReadThroughCache}. */
export interface ReadThroughCacheOptions {
  /** How long a read serves later callers, counted from when the read started; 0 turns the cache off. */
  ttlMs: number;
  /** Milliseconds of a monotonic clock (tests move it instead of waiting). */
  now?: () => number;
  /** Most keys remembered at once; the least recently stored are dropped first. */
  maxEntries?: number;
}

const MAX_ENTRIES = 10_000;

interface Flight<V> {
  promise: Promise<V>;
  startedAt: number;
}

/**
 * Remembers what a read by key returned, for a bounded time, and shares one read among the callers
 * that ask for the same key while it is in flight (200 requests for one agent at once: one read).
 *
 * Bound: an answer always comes from a read that started at most `ttlMs` before it was asked for,
 * so a change written elsewhere (another replica) is seen after at most `ttlMs`. A change written
 * by this process is seen at once: its writer calls {@link forget} once the write is done, which
 * drops the remembered value and detaches any read in flight, whose result (perhaps from before
 * the write) then neither serves later callers nor is stored.
 */
export class ReadThroughCache<K, V> {
  private readonly entries = new Map<K, { value: V; readAt: number }>();
  private readonly flights = new Map<K, Flight<V>>();
  private readonly now: () => number;
  private readonly max: number;

  constructor(private readonly options: ReadThroughCacheOptions) {
    this.now = options.now ?? (() => performance.now());
    this.max = options.maxEntries ?? MAX_ENTRIES;
  }

  /**
   * The value of `key`: remembered, or joined to a read in flight, when that read started less
   * than `ttlMs` ago; else `read()` now. `keep` decides whether a value read is remembered.
   */
  get(key: K, read: () => Promise<V>, keep: (value: V) => boolean = () => true): Promise<V> {
    if (this.options.ttlMs <= 0) return read();
    const now = this.now();
    const entry = this.entries.get(key);
    if (entry) {
      if (now - entry.readAt < this.options.ttlMs) return Promise.resolve(entry.value);
      this.entries.delete(key);
    }
    const flight = this.flights.get(key);
    if (flight && now - flight.startedAt < this.options.ttlMs) return flight.promise;
    const started: Flight<V> = { promise: read(), startedAt: now };
    this.flights.set(key, started);
    started.promise.then(
      (value) => {
        if (this.flights.get(key) !== started) return;
        this.flights.delete(key);
        if (!keep(value)) return;
        this.entries.delete(key);
        this.entries.set(key, { value, readAt: started.startedAt });
        while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
      },
      () => {
        if (this.flights.get(key) === started) this.flights.delete(key);
      },
    );
    return started.promise;
  }

  /** Forgets `key` (its stored state changed here); without a key, everything. */
  forget(key?: K): void {
    if (key === undefined) {
      this.entries.clear();
      this.flights.clear();
      return;
    }
    this.entries.delete(key);
    this.flights.delete(key);
  }

  /** How many keys are remembered now. */
  get size(): number {
    return this.entries.size;
  }
}
