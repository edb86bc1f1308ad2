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
    work.clear();
    expect(work.size).toBe(0);
    const idle = work.onIdle();
    a.finish();
    await idle;
    now = 10_000;
    await turns();
    expect(started).toEqual(['a']);
  });
});
