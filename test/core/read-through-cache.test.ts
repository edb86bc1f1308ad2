import { ReadThroughCache } from '../../src/core/read-through-cache.js';

/** A read the test resolves by hand, counting how many were started. */
function manualReads<V>() {
  const started: Array<{ resolve(v: V): void; reject(e: Error): void }> = [];
  return {
    started,
    read: () =>
      new Promise<V>((resolve, reject) => {
        started.push({ resolve, reject });
      }),
  };
}

describe('ReadThroughCache', () => {
  it('shares one read among the callers asking at once, and serves it for ttlMs from when it started', async () => {
    let now = 1_000;
    const cache = new ReadThroughCache<string, string>({ ttlMs: 500, now: () => now });
    const reads = manualReads<string>();
    const answers = Promise.all(Array.from({ length: 200 }, () => cache.get('agt_1', reads.read)));
    expect(reads.started).toHaveLength(1);
    now += 300; // the read took 300 ms
    reads.started[0]!.resolve('v1');
    expect(new Set(await answers)).toEqual(new Set(['v1']));

    now += 199; // 499 ms after the read started
    expect(await cache.get('agt_1', reads.read)).toBe('v1');
    expect(reads.started).toHaveLength(1);
    now += 1; // 500 ms: read again
    const again = cache.get('agt_1', reads.read);
    expect(reads.started).toHaveLength(2);
    reads.started[1]!.resolve('v2');
    expect(await again).toBe('v2');
  });

  it('does not join a read in flight for longer than ttlMs: a caller gets a read that started at most ttlMs before it asked', async () => {
    let now = 0;
    const cache = new ReadThroughCache<string, string>({ ttlMs: 500, now: () => now });
    const reads = manualReads<string>();
    const slow = cache.get('agt_1', reads.read);
    now += 500;
    const late = cache.get('agt_1', reads.read);
    expect(reads.started).toHaveLength(2);
    reads.started[1]!.resolve('fresh');
    reads.started[0]!.resolve('old');
    expect(await slow).toBe('old');
    expect(await late).toBe('fresh');
    // The older read, finishing last, did not replace the fresher one.
    expect(await cache.get('agt_1', reads.read)).toBe('fresh');
    expect(reads.started).toHaveLength(2);
  });

  it('after forget, neither a remembered value nor a read in flight before it serves a later caller', async () => {
    const cache = new ReadThroughCache<string, string>({ ttlMs: 60_000, now: () => 0 });
    const reads = manualReads<string>();
    const first = cache.get('agt_1', reads.read);
    reads.started[0]!.resolve('before');
    expect(await first).toBe('before');
    cache.forget('agt_1'); // written here
    const second = cache.get('agt_1', reads.read);
    expect(reads.started).toHaveLength(2);

    // A read that started before a write, finishing after it, is not stored: it finishes last
    // here, so had it been stored it would be what the next caller gets.
    cache.forget('agt_1');
    const third = cache.get('agt_1', reads.read);
    expect(reads.started).toHaveLength(3);
    reads.started[2]!.resolve('after');
    await third;
    reads.started[1]!.resolve('during');
    expect(await second).toBe('during');
    expect(await third).toBe('after');
    expect(await cache.get('agt_1', reads.read)).toBe('after');
    expect(reads.started).toHaveLength(3);
  });

  it('forget without a key forgets every key; other keys are untouched by forgetting one', async () => {
    const cache = new ReadThroughCache<string, string>({ ttlMs: 60_000, now: () => 0 });
    let n = 0;
    const read = () => Promise.resolve(`v${++n}`);
    await cache.get('a', read);
    await cache.get('b', read);
    cache.forget('a');
    expect(await cache.get('b', read)).toBe('v2');
    expect(await cache.get('a', read)).toBe('v3');
    cache.forget();
    expect(await cache.get('b', read)).toBe('v4');
  });

  it('remembers neither failures nor values `keep` refuses, and reads every time with ttlMs 0', async () => {
    const cache = new ReadThroughCache<string, string | undefined>({ ttlMs: 60_000, now: () => 0 });
    await expect(cache.get('a', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('a', () => Promise.resolve('up'))).toBe('up');
    const keep = (v: string | undefined) => v !== undefined;
    expect(await cache.get('missing', () => Promise.resolve(undefined), keep)).toBeUndefined();
    expect(await cache.get('missing', () => Promise.resolve('created'), keep)).toBe('created');

    const off = new ReadThroughCache<string, number>({ ttlMs: 0 });
    let reads = 0;
    await Promise.all([off.get('a', async () => ++reads), off.get('a', async () => ++reads)]);
    expect(reads).toBe(2);
  });

  it('keeps at most maxEntries, dropping the least recently stored', async () => {
    const cache = new ReadThroughCache<string, string>({ ttlMs: 60_000, now: () => 0, maxEntries: 2 });
    let reads = 0;
    const read = (v: string) => () => {
      reads += 1;
      return Promise.resolve(v);
    };
    await cache.get('a', read('a'));
    await cache.get('b', read('b'));
    await cache.get('c', read('c'));
    expect(cache.size).toBe(2);
    await cache.get('b', read('b'));
    await cache.get('c', read('c'));
    expect(reads).toBe(3);
    await cache.get('a', read('a'));
    expect(reads).toBe(4);
  });
});
