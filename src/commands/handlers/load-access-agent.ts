import type { Person } from '../../config/schemas.js';
import type { AgentRecord, AgentRepository } from '../../core/agents.js';
import { InvalidInputError, NotFoundError } from '../../core/errors.js';
import { idOrUndefined } from '../../core/ids.js';
import { isItAdmin } from '../../core/policies.js';

/** Where an access command reads the agent it names. */
export interface AccessAgentReads {
  agents: Pick<AgentRepository, 'get' | 'list'>;
}

/**
 * The agent an access command names (`access`, `break-glass`, the access form): by id, whoever may
 * see it (the rule is the handler's authorise stage); else by name among the agents the person
 * sponsors or their business unit's, and for an IT admin when none of those is called so, any.
 * Another agent of that name, or an unknown `agt_` id, is "not found", so a name reveals nothing.
 */
export async function loadAccessAgent(deps: AccessAgentReads, actor: Person, key: string): Promise<AgentRecord> {
  const wellFormed = idOrUndefined('AgentId', key);
  const byId = wellFormed ? await deps.agents.get(wellFormed) : undefined;
  if (byId) return byId;
  if (key.startsWith('agt_')) throw new NotFoundError('the agent', key);
  const named = (await deps.agents.list({})).filter((a) => a.name.toLowerCase() === key.toLowerCase());
  const mine = named.filter((a) => a.sponsors.includes(actor.email) || a.businessUnit === actor.businessUnit);
  const candidates = mine.length > 0 ? mine : isItAdmin(actor) ? named : [];
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length > 1)
    throw new InvalidInputError(`Several agents are called "${key}"; use its id (${candidates.map((a) => a.id).join(', ')}).`);
  throw new NotFoundError('the agent', key);
}
