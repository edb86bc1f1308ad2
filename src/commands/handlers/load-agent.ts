import type { OrgConfig, Person } from '../../config/schemas.js';
import type { AgentRecord, AgentRepository } from '../../core/agents.js';
import type { AlertRecord, AlertRepository } from '../../core/alerts.js';
import type { CheckInRecord, CheckInRepository } from '../../core/checkin-service.js';
import { NotFoundError } from '../../core/errors.js';
import { parseAgentId, type AgentId, type AlertId, type CheckInId } from '../../core/ids.js';
import { assertMaySeeAgent } from '../../core/policies.js';
import { findAgent, type AgentLookup } from './show-agent.js';

/** Where an agent button's handler reads its agent. */
export interface AgentReads {
  agents: Pick<AgentRepository, 'get'>;
}

/** The agent a command names (its id parsed in command.ts); one not stored is "not found". */
export async function loadAgent(deps: AgentReads, agentId: AgentId): Promise<AgentRecord> {
  const agent = await deps.agents.get(agentId);
  if (!agent) throw new NotFoundError('the agent', agentId);
  return agent;
}

/** A check-in a command names (its id parsed), with its agent for the who-may rule; either not stored is "not found". */
export async function loadCheckIn(
  deps: AgentReads & { checkins: Pick<CheckInRepository, 'get'> },
  checkInId: CheckInId,
): Promise<{ record: CheckInRecord; agent: AgentRecord }> {
  const record = await deps.checkins.get(checkInId);
  if (!record) throw new NotFoundError('the check-in', checkInId);
  return { record, agent: await loadAgent(deps, record.agentId) };
}

/** An alert a command names (its id parsed), with its agent for the who-may rule; either not stored is "not found". */
export async function loadAlertAndAgent(
  deps: AgentReads & { alerts: Pick<AlertRepository, 'get'> },
  alertId: AlertId,
): Promise<{ alert: AlertRecord; agent: AgentRecord }> {
  const alert = await deps.alerts.get(alertId);
  if (!alert) throw new NotFoundError('the alert', alertId);
  return { alert, agent: await loadAgent(deps, alert.agentId) };
}

/** An agent a command names by id (a card's button or form) or, typed, by id or by name (`agent`). */
export interface AgentNamed {
  agentId?: AgentId | undefined;
  agent?: string | undefined;
}

/**
 * The agent a button names by id, or the one a person typed (by id or by name, {@link findAgent});
 * a command naming none is refused as a missing agent id.
 */
export function loadNamedAgent(deps: AgentLookup, actor: Person, named: AgentNamed): Promise<AgentRecord> {
  if (named.agent !== undefined) return findAgent(deps, actor, named.agent);
  return loadAgent(deps, named.agentId ?? parseAgentId(undefined));
}

/** A typed name reaches only agents the person may see (anyone else is told it does not exist); a card's id is its own rule's to refuse. */
export function assertMaySeeNamed(org: OrgConfig, actor: Person, agent: AgentRecord, named: AgentNamed): void {
  if (named.agent !== undefined) assertMaySeeAgent(org, actor, agent);
}
