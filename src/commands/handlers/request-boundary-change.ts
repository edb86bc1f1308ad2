import type { AgentRecord } from '../../core/agents.js';
import type { BoundaryChangeRecord, BoundaryChanges } from '../../core/boundary-changes.js';
import { assertMayAskBoundaryChange, assertMaySeeAgent } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';
import { findAgent, type AgentLookup } from './show-agent.js';

/** What asking for a boundary change needs: the agent named, and the change requests. */
export interface RequestBoundaryChangeDeps extends AgentLookup {
  changes: Pick<BoundaryChanges, 'request'>;
}

/**
 * The typed `boundary <agent> <action> <mode> <reason>`: the agent's sponsors ask IT (anyone who may
 * not see it is told it does not exist); the action, the mode and the reason are checked after who
 * may, then the change waits for an IT admin (`boundary.decide`), stored with its audit entry.
 */
export function requestBoundaryChangeHandler(
  deps: RequestBoundaryChangeDeps,
): CommandHandler<'boundary.request', AgentRecord, BoundaryChangeRecord> {
  return {
    load: (actor, { agent }) => findAgent(deps, actor, agent),
    authorise: (actor, agent) => {
      assertMaySeeAgent(deps.org, actor, agent);
      assertMayAskBoundaryChange(actor, agent);
    },
    handle: (actor, { action, mode, reason }, agent) => deps.changes.request(actor, agent, { action, mode, reason }),
  };
}
