import { ClickWork } from '../../../src/channels/slack/click-work.js';

/** Lets the event loop turn a few times (immediates and timers due now): what could start has started. */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Resolves once `check` holds, looking again on every turn of the loop. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
}

/** A task that records its start and finishes when told. */
function held(started: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return {
    task: async () => {
      started.push(name);
      await done;
      return name;
    },
    finish: () => finish(),
  };
}

describe('the work of acknowledged Slack deliveries (ClickWork)', () => {
  it('runs up to its concurrency at once, in order, when nothing is being acknowledged', async () => {
    const work = new ClickWork({ concurrency: 2 });
    const started: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((n) => held(started, n));
    const results = [work.add(a!.task), work.add(b!.task), work.add(c!.task)];
    await until(() => started.length === 2);
    expect(started).toEqual(['a', 'b']);
    expect(work.size).toBe(1);
    a!.finish();
    await until(() => started.length === 3);
    expect(started).toEqual(['a', 'b', 'c']);
    b!.finish();
    c!.finish();
    await expect(Promise.all(results)).resolves.toEqual(['a', 'b', 'c']);
    await work.onIdle();
    expect(work.pending).toBe(0);
  });

  it('while deliveries are being acknowledged, runs one at a time; the rest start once acknowledgements pause', async () => {
    let now = 0;
    const work = new ClickWork({ concurrency: 8, busyConcurrency: 1, quietMs: 50, maxDeferMs: 1_000, now: () => now });
    const started: string[] = [];
    const tasks = ['a', 'b', 'c'].map((n) => held(started, n));
    work.acknowledged();
    const results = tasks.map((t) => work.add(t.task));
    await until(() => started.length === 1);
    await turns();
    // The clock stands still within the quiet time: only the first runs, however often the queue looks.
    expect(started).toEqual(['a']);
    now = 49;
    work.acknowledged();
    now = 98;
    await turns();
    expect(started).toEqual(['a']);
    // 50 ms without an acknowledgement: the others start together.
    now = 99;
    await until(() => started.length === 3);
    expect(started).toEqual(['a', 'b', 'c']);
    for (const t of tasks) t.finish();
    await expect(Promise.all(results)).resolves.toEqual(['a', 'b', 'c']);
  });

  it('defers nothing past its bound: a delivery queued that long starts while acknowledgements go on', async () => {
    let now = 0;
    const work = new ClickWork({ concurrency: 8, busyConcurrency: 0, quietMs: 50, maxDeferMs: 1_000, now: () => now });
    const started: string[] = [];
    const a = held(started, 'a');
    work.acknowledged();
    const result = work.add(a.task);
    // Acknowledgements every 40 ms (never 50 ms of quiet) hold it back until it has waited 1 s.
    for (now = 40; now < 1_000; now += 40) {
      work.acknowledged();
      await turns();
    }
    expect(started).toEqual([]);
    now = 1_000;
    work.acknowledged();
    await until(() => started.length === 1);
    a.finish();
    await expect(result).resolves.toBe('a');
  });

  it('passes a task’s failure to its caller and goes on with the next', async () => {
    const work = new ClickWork({ concurrency: 1 });
    const failed = work.add(async () => {
      throw new Error('the decision failed');
    });
    const next = work.add(async () => 'next');
    await expect(failed).rejects.toThrow('the decision failed');
    await expect(next).resolves.toBe('next');
  });

  it('drops what has not started on clear, and is idle once what runs is done', async () => {
    let now = 0;
    const work = new ClickWork({ concurrency: 1, quietMs: 50, now: () => now });
    const started: string[] = [];
    const a = held(started, 'a');
    void work.add(a.task);
    void work.add(held(started, 'b').task);
    await until(() => started.length === 1);
    expect(work.size).toBe(1);
    await work.clear();
    expect(work.size).toBe(0);
    const idle = work.onIdle();
    a.finish();
    await idle;
    now = 10_000;
    await turns();
    expect(started).toEqual(['a']);
  });

  it('owns an accepted delivery before its work is known: idle waits for it, and done or its work lets go', async () => {
    const work = new ClickWork({ concurrency: 1 });
    const recorded = work.accept(async () => undefined);
    const repeat = work.accept(async () => undefined);
    expect(work.size).toBe(2);
    let idle = false;
    const idled = work.onIdle().then(() => (idle = true));
    repeat.done();
    await turns();
    expect(idle).toBe(false);
    await expect(recorded.work(async () => 'worked')).resolves.toBe('worked');
    await idled;
    expect(work.size).toBe(0);
    // Once queued, done() changes nothing, and its work is not queued twice.
    recorded.done();
    await expect(recorded.work(async () => 'again')).resolves.toBeUndefined();
  });

  it('on clear, tells the people of accepted deliveries not yet started, once, and never runs their work', async () => {
    const work = new ClickWork({ concurrency: 1 });
    const started: string[] = [];
    const told: string[] = [];
    const tell = (name: string) => async () => void told.push(name);
    const running = held(started, 'running');
    const first = work.accept(tell('running'));
    const done = first.work(running.task);
    await until(() => started.length === 1);
    const queued = work.accept(tell('queued'));
    const queuedWork = queued.work(held(started, 'queued').task);
    const recording = work.accept(tell('recording'));
    expect(work.size).toBe(2);

    await work.clear();
    expect(told.sort()).toEqual(['queued', 'recording']);
    expect(recording.dropped).toBe(true);
    expect(first.dropped).toBe(false);
    await expect(queuedWork).resolves.toBeUndefined();
    // Its key written after the shutdown dropped it, a delivery is not worked on.
    await expect(recording.work(held(started, 'recording').task)).resolves.toBeUndefined();
    await work.clear();
    expect(told).toHaveLength(2);
    running.finish();
    await expect(done).resolves.toBe('running');
    await work.onIdle();
    await turns();
    expect(started).toEqual(['running']);
  });
});
