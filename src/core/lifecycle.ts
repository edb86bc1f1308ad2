import { z } from 'zod';
import { InvalidTransitionError } from './errors.js';

/**
 * Lifecycle status of an agent (SPEC.md "Agent"): the one list. Card view-models, chat words, the
 * CLI, the store and the telemetry ingest all read it from here.
 */
export const AGENT_STATUSES = ['requested', 'active', 'probation', 'suspended', 'retiring', 'retired', 'rejected'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/** An agent status as a zod schema (cards, API and stored-data checks). */
export const agentStatusSchema = z.enum(AGENT_STATUSES);

/** Whether a word is an agent status. */
export function isAgentStatus(word: string): word is AgentStatus {
  return (AGENT_STATUSES as readonly string[]).includes(word);
}

/**
 * Allowed transitions: `requested → active | rejected`, `active ⇄ probation`,
 * `active | probation → suspended → active | retiring`, `active | probation | suspended → retiring → retired`.
 * Two undos are not transitions and are made only by their flows: a denied or expired retirement
 * gives the agent back its previous status (`retirement.cancel`), and an approved reactivation
 * gives a suspended agent back the status its suspension interrupted (`agent.reactivate`).
 */
const TRANSITIONS: Record<AgentStatus, readonly AgentStatus[]> = {
  requested: ['active', 'rejected'],
  active: ['probation', 'suspended', 'retiring'],
  probation: ['active', 'suspended', 'retiring'],
  suspended: ['active', 'retiring'],
  retiring: ['retired'],
  retired: [],
  rejected: [],
};

export function canTransition(from: AgentStatus, to: AgentStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws a coded error for a transition the lifecycle does not allow; never changes anything silently. */
export function assertTransition(agentName: string, from: AgentStatus, to: AgentStatus): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(`Agent ${agentName}`, from, to);
}

/** Statuses in which an agent still exists for its business unit (its name is taken). */
export function isLiveStatus(status: AgentStatus): boolean {
  return status !== 'rejected' && status !== 'retired';
}
