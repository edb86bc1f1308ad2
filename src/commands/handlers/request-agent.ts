import type { OrgConfig } from '../../config/schemas.js';
import { roleById } from '../../config/directory.js';
import { validateAgentRequest, type AgentRequestContext } from '../../core/agent-request.js';
import { newAgentId, type AgentRepository } from '../../core/agents.js';
import { assertNotBeingRegistered, type AlertRecord } from '../../core/alerts.js';
import { InvalidInputError } from '../../core/errors.js';
import { assertMayRegisterShadow } from '../../core/policies.js';
import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun } from '../../flows/types.js';
import type { CommandHandler } from '../handler.js';

/** What requesting an agent needs: the catalog, the agents (names taken), the engine, and the shadow alerts a registration answers. */
export interface RequestAgentDeps {
  org: OrgConfig;
  agents: AgentRepository;
  engine: Pick<FlowEngine, 'start'>;
  shadows: {
    /** The open shadow alert of an agent running unregistered, or a coded refusal when there is none. */
    openShadow(agentId: string): Promise<AlertRecord>;
    /** Notes on the alert that its agent's registration was requested (the run that registers it). */
    registrationRequested(actor: string, alertId: string, runId: string): Promise<unknown>;
  };
}

/**
 * Starts the catalog role's request flow; the agent exists from now on with status `requested`.
 * With `shadowAgentId`, it registers an agent that already runs under that id (a shadow alert's
 * Register), so its telemetry counts once it is onboarded: only who may register the alert may.
 */
export function requestAgentHandler(
  deps: RequestAgentDeps,
): CommandHandler<'agent.request', AlertRecord | undefined, { run: FlowRun; agentId: string }> {
  return {
    load: async (_actor, { shadowAgentId }) => (shadowAgentId !== undefined ? deps.shadows.openShadow(shadowAgentId) : undefined),
    authorise: (actor, shadow) => {
      if (shadow) assertMayRegisterShadow(deps.org, actor, shadow);
    },
    handle: async (actor, { type: _type, shadowAgentId, ...request }, shadow) => {
      if (shadow) assertNotBeingRegistered(shadow);
      const problems = await validateAgentRequest(deps.org, deps.agents, request, actor, shadow !== undefined);
      if (Object.keys(problems).length > 0) throw new InvalidInputError(Object.values(problems).join(' '), problems);
      const role = roleById(deps.org, request.roleId)!;
      if (shadowAgentId !== undefined && (await deps.agents.get(shadowAgentId)))
        throw new InvalidInputError(`${shadowAgentId} is already registered.`);
      const agentId = shadowAgentId ?? newAgentId();
      const context: AgentRequestContext = {
        agentId,
        agentName: request.name,
        roleId: role.id,
        roleTitle: role.title,
        riskTier: role.riskTier,
        dataClasses: role.dataClasses,
        businessUnit: request.businessUnit,
        sponsors: [...new Set(request.sponsors)],
        purpose: request.purpose,
        justification: request.justification,
        ...(shadow ? { shadowRegistration: true } : {}),
      };
      const run = await deps.engine.start({
        flowId: role.flow,
        requester: actor.email,
        subject: { type: 'agent', id: agentId, agentId },
        context,
      });
      if (shadow) await deps.shadows.registrationRequested(actor.email, shadow.id, run.id);
      return { run, agentId };
    },
  };
}
