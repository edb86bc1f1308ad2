import { writeSync } from 'node:fs';

/**
 * The test-only crash hook behind `ROSTER_FAULT_POINT`: when the named point is reached, the
 * process writes one log line and kills itself with SIGKILL (nothing is flushed or cleaned up,
 * as in a real crash). The environment parser refuses the variable unless `NODE_ENV=test`, so a
 * production process never has the hook.
 *
 * Points are `<transition>:<k>`, reached after `k` of the writer's effects were performed
 * (0 = right after the state change was stored), e.g. `run.decision:0`, `grant.expired:2`.
 */
export function createFaultPoint(point: string | undefined, nodeEnv: string): ((name: string) => void) | undefined {
  if (!point || nodeEnv !== 'test') return undefined;
  return (name) => {
    if (name !== point) return;
    writeSync(1, `${JSON.stringify({ level: 50, time: Date.now(), msg: 'fault point reached: killing the process', point: name })}\n`);
    process.kill(process.pid, 'SIGKILL');
  };
}
