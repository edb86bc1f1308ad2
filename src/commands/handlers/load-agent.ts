import type { OrgConfig, Person } from '../../config/schemas.js';
import type { AgentRecord, AgentRepository } from '../../core/agents.js';
import { NotFoundError } from '../../core/errors.js';
import { parseAgentId, type AgentId } from '../../core/ids.js';
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
