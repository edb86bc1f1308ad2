import type { Person } from '../config/schemas.js';
import type { AgentId } from '../core/ids.js';

/*
 * Who gives a command to the bus. A person is resolved by the door (the chat platform's identity,
 * the CLI's --as); an agent by the bearer token it presented (the agent API and MCP), whose
 * signature, audience and expiry the door checked. The bus tells the two apart by `kind`, so an
 * agent can never reach a person's command (see assertMayGiveCommand in src/core/policies.ts).
 */

/** A person from the directory. */
export interface PersonActor {
  kind: 'person';
  person: Person;
}

/**
 * An agent acting with its access token. Only the token's subject is carried: whether the agent
 * may still act (its live status) is the commands' `authorise`, read at the call, never the token's.
 */
export interface AgentActor {
  kind: 'agent';
  agentId: AgentId;
}

export type Actor = PersonActor | AgentActor;

/** The actor of a person (what every chat and CLI door gives the bus). */
export const asPerson = (person: Person): PersonActor => ({ kind: 'person', person });

/** The actor of an agent named by a verified token's subject. */
export const asAgent = (agentId: AgentId): AgentActor => ({ kind: 'agent', agentId });

/** How an actor is named in events and logs: a person by e-mail, an agent as `agent:<id>` (as a run's requester). */
export function actorName(actor: Actor): string {
  return actor.kind === 'person' ? actor.person.email : `agent:${actor.agentId}`;
}
