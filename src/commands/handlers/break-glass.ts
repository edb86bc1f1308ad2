import type { OrgConfig } from '../../config/schemas.js';
import type { AccessCommands } from '../../core/access.js';
import type { AgentRecord, GrantRecord } from '../../core/agents.js';
import { assertMayRequestAccessFor } from '../../core/policies.js';
import type { FlowRun } from '../../flows/types.js';
import type { CommandHandler } from '../handler.js';
import { loadAccessAgent, type AccessAgentReads } from './load-access-agent.js';

/** What a break-glass use needs: the agent it names, and the service that grants it. */
export interface BreakGlassDeps extends AccessAgentReads {
  org: OrgConfig;
  service: Pick<AccessCommands, 'breakGlass'>;
}

/** `break-glass`: the scope granted at once (within the caps), security paged to review the use. */
export function breakGlassHandler(
  deps: BreakGlassDeps,
): CommandHandler<'access.break-glass', AgentRecord, { run: FlowRun; grant: GrantRecord }> {
  return {
    load: (actor, { agentId }) => loadAccessAgent(deps, actor, agentId),
    authorise: (actor, agent) => assertMayRequestAccessFor(deps.org, actor, agent, 'break glass for'),
    handle: (actor, { type: _type, ...request }, agent) => deps.service.breakGlass(actor, agent, request),
  };
}
