import type { OrgConfig } from '../../config/schemas.js';
import type { AccessCommands, AccessRequestResult } from '../../core/access.js';
import type { AgentRecord } from '../../core/agents.js';
import { assertMayRequestAccessFor } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';
import { loadAccessAgent, type AccessAgentReads } from './load-access-agent.js';

/** What requesting access needs: the agent it names, and the service that starts the request. */
export interface RequestAccessDeps extends AccessAgentReads {
  org: OrgConfig;
  service: Pick<AccessCommands, 'requestAccess'>;
}

/** `access` (the word or the form): a pending grant and its request, for the scope's approvers to decide. */
export function requestAccessHandler(deps: RequestAccessDeps): CommandHandler<'access.request', AgentRecord, AccessRequestResult> {
  return {
    load: (actor, { agentId }) => loadAccessAgent(deps, actor, agentId),
    authorise: (actor, agent) => assertMayRequestAccessFor(deps.org, actor, agent),
    handle: (actor, { type: _type, ...request }, agent) => deps.service.requestAccess(actor, agent, request),
  };
}
