import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SHIPPED_FLOWS } from './harness.js';

export interface ApprovalTimers {
  /** Seconds until the first reminder. */
  remindAfterS: number;
  /** Seconds until the step escalates to IT admins. */
  escalateAfterS: number;
  /** Seconds until the request expires. */
  expiresAfterS: number;
}

/**
 * A temporary copy of the shipped flows in which the agent request's approval timers are seconds,
 * for a Roster process (ROSTER_FLOWS_DIR) whose scheduler must really fire them. `remove` deletes it.
 */
export function shippedFlowsWithApprovalTimers(timers: ApprovalTimers): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roster-flows-'));
  for (const file of readdirSync(SHIPPED_FLOWS)) copyFileSync(path.join(SHIPPED_FLOWS, file), path.join(dir, file));
  const file = path.join(dir, 'agent-request.yaml');
  let yaml = readFileSync(file, 'utf8');
  for (const [from, to] of [
    ['remindAfter: 1d', `remindAfter: ${timers.remindAfterS}s`],
    ['escalateAfter: 3d', `escalateAfter: ${timers.escalateAfterS}s`],
    ['expiresAfter: 7d', `expiresAfter: ${timers.expiresAfterS}s`],
  ] as const) {
    if (!yaml.includes(from)) throw new Error(`flows/agent-request.yaml no longer has "${from}"; update test/helpers/timed-flows.ts`);
    yaml = yaml.replace(from, to);
  }
  writeFileSync(file, yaml);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
