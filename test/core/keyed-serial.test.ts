import { KeyedSerial } from '../../src/core/keyed-serial.js';

/** A task that starts when run and ends when `release` is called; records when it started. */
function gate(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return { release, task: async () => (log.push(`start ${name}`), await done, log.push(`end ${name}`), name) };
}

/** Lets every queued promise callback run. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('KeyedSerial', () => {
  it('runs the tasks of one key one at a time in the order handed in, and other keys beside them', async () => {
    const turns = new KeyedSerial();
    const log: string[] = [];
    const a1 = gate(log, 'a1');
    const a2 = gate(log, 'a2');
    const b1 = gate(log, 'b1');
    const results = [turns.run('a', a1.task), turns.run('a', a2.task), turns.run('b', b1.task)];
    await settled();
    // a2 waits for a1; b1 does not wait for anything.
    expect(log).toEqual(['start a1', 'start b1']);
    a2.release();
    await settled();
    expect(log).toEqual(['start a1', 'start b1']);
    a1.release();
    b1.release();
    expect(await Promise.all(results)).toEqual(['a1', 'a2', 'b1']);
    expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
  });

  it('a task that fails answers its caller with the failure and does not hold back the next one', async () => {
    const turns = new KeyedSerial();
    const failing = turns.run('k', async () => {
      throw new Error('lost');
    });
    const next = turns.run('k', async () => 'next');
    await expect(failing).rejects.toThrow('lost');
    await expect(next).resolves.toBe('next');
  });
});
