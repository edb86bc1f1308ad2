import { eventually, type Harness } from './harness.js';

/**
 * A fault point for the harness's `faultPoint` option that throws once when the armed point is
 * reached: in-process, nothing after it runs, as after a SIGKILL at that point.
 */
export function crashPoint(): { hook: (name: string) => void; arm: (point: string) => void } {
  let armed: string | undefined;
  return {
    hook: (name: string) => {
      if (name !== armed) return;
      armed = undefined;
      throw new Error(`crashed at ${name}`);
    },
    arm: (point: string) => {
      armed = point;
    },
  };
}

/**
 * After a crash at a fault point: lets the outbox worker perform what the dead writer left until
 * `done` holds, then drains once more, so a test's "once" assertions also cover a repeat.
 */
export async function recovered(h: Pick<Harness, 'services'>, done: () => Promise<unknown> | unknown, timeoutMs = 30_000): Promise<void> {
  await eventually(async () => {
    await h.services.outbox.drain();
    return Boolean(await done());
  }, timeoutMs);
  await h.services.outbox.drain();
}
