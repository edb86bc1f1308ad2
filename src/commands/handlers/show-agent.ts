import type { OrgConfig, Person } from '../../config/schemas.js';
import type { AgentRecord, AgentRepository, GrantRecord, GrantRepository } from '../../core/agents.js';
import type { AuditInput } from '../../core/audit.js';
import { InvalidInputError, NotFoundError } from '../../core/errors.js';
import { assertMaySeeAgent, maySeeAgent } from '../../core/policies.js';
import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun } from '../../flows/types.js';
import type { CommandHandler } from '../handler.js';
import { idOrUndefined } from '../../core/ids.js';

/** One agent with its grants and the request that made it. */
export interface AgentView {
  agent: AgentRecord;
  grants: GrantRecord[];
  request?: FlowRun;
}

/** What showing an agent needs: the agents, their grants, the request runs. */
export interface ShowAgentDeps {
  org: OrgConfig;
  agents: Pick<AgentRepository, 'get' | 'findByName' | 'list'>;
  grants: Pick<GrantRepository, 'listForAgent'>;
  engine: Pick<FlowEngine, 'find'>;
}

/**
 * One agent, by id or by name, for people with a reason to see it. One they may not see is "not
 * found", exactly like an id that does not exist, so probing ids and names reveals nothing.
 */
export function showAgentHandler(deps: ShowAgentDeps): CommandHandler<'agent.show', AgentRecord, AgentView> {
  return {
    load: (actor, { agent }) => findAgent(deps, actor, agent),
    authorise: (actor, agent) => assertMaySeeAgent(deps.org, actor, agent),
    handle: async (_actor, _command, agent) => {
      const [grants, request] = await Promise.all([deps.grants.listForAgent(agent.id), deps.engine.find(agent.requestRunId)]);
      return { agent, grants, request };
    },
    audit: (actor, _command, { agent }) => agentViewed(actor, agent),
  };
}

/** The read-log entry of a person's look at an agent (its profile, its archive). */
export function agentViewed(actor: Person, agent: Pick<AgentRecord, 'id'>): AuditInput {
  return {
    actor: { kind: 'person', email: actor.email },
    action: 'agent.viewed',
    subject: { type: 'agent', id: agent.id, agentId: agent.id },
    details: {},
  };
}

/** Where an agent named by id or by name is looked up. */
export type AgentLookup = Pick<ShowAgentDeps, 'org'> & { agents: Pick<AgentRepository, 'get' | 'findByName' | 'list'> };

/**
 * An agent a person names: by id, else by name in their business unit, else by name among the
 * agents they may see. Whether they may see the one found is the caller's `authorise` ({@link assertMaySeeAgent}).
 */
export async function findAgent(deps: AgentLookup, actor: Person, key: string): Promise<AgentRecord> {
  const wellFormed = idOrUndefined('AgentId', key);
  const byId = wellFormed ? await deps.agents.get(wellFormed) : undefined;
  if (byId) return byId;
  if (key.startsWith('agt_')) throw new NotFoundError('the agent', key);
  const own = await deps.agents.findByName(actor.businessUnit, key);
  if (own) return own;
  const byName = (await deps.agents.list({})).filter((a) => a.name.toLowerCase() === key.toLowerCase() && maySeeAgent(deps.org, actor, a));
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1)
    throw new InvalidInputError(`Several agents are called "${key}"; use its id (${byName.map((a) => a.id).join(', ')}).`);
  throw new NotFoundError('the agent', key);
}
