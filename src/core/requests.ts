import type { FlowRun } from '../flows/types.js';

/** Flows a requester may cancel while they wait for people: requests for an agent and for access. */
export const CANCELLABLE_FLOWS: ReadonlySet<string> = new Set(['agent-request', 'access-request']);

/** Whether the requester's status card offers Cancel: a cancellable request still waiting for people. */
export function offersCancel(run: Pick<FlowRun, 'flowId' | 'status'>): boolean {
  return CANCELLABLE_FLOWS.has(run.flowId) && run.status === 'waiting';
}

/**
 * What a person is told when they deny without a reason, on every platform (Slack's modal error,
 * Teams' deny form; the Teams cards' client-side `errorMessage` says the same).
 */
export const DENY_REASON_NEEDED = 'Give a reason so the requester knows what to change.';
