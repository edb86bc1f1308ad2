import type { AgentRecord, AgentRepository } from '../../core/agents.js';
import { NotFoundError } from '../../core/errors.js';
import type { AgentId } from '../../core/ids.js';

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
