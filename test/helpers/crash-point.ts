import { eventually, type Harness, type startHarness } from './harness.js';

/** A fault point that can be armed (see {@link crashPoint}). */
export interface CrashPoint {
  hook: (name: string) => void;
  arm: (point: string) => void;
  /** The points it threw at, in order. */
  crashed: string[];
}

/**
 * A fault point for the harness's `faultPoint` option that throws once when the armed point is
 * reached: in-process, nothing after it runs, as after a SIGKILL at that point.
 */
export function crashPoint(): CrashPoint {
  let armed: string | undefined;
  const crashed: string[] = [];
  return {
    hook: (name: string) => {
      if (name !== armed) return;
      armed = undefined;
      crashed.push(name);
      throw new Error(`simulated crash: crashed at ${name}`);
    },
    arm: (point: string) => {
      armed = point;
    },
    crashed,
  };
}

/**
 * The options of a harness whose writers "die" at `crash`'s armed point, its outbox lease short
 * (300 ms unless `options` say) so the worker takes a dead writer's effects over within a second.
 */
export function crashing(crash: CrashPoint, options: Parameters<typeof startHarness>[0] = {}): Parameters<typeof startHarness>[0] {
  return { ...options, outbox: { leaseMs: 300, ...options.outbox }, faultPoint: crash.hook };
}

/** The actions audited about one subject (agent, grant, person, subscription...), in the order recorded. */
async function auditActions(h: Pick<Harness, 'services'>, subjectId: string): Promise<string[]> {
  return (await h.services.audit.export()).filter((e) => e.subject.id === subjectId).map((e) => e.action);
}

/** How many times `action` was audited about one subject. */
export async function auditCount(h: Pick<Harness, 'services'>, subjectId: string, action: string): Promise<number> {
  return (await auditActions(h, subjectId)).filter((a) => a === action).length;
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
