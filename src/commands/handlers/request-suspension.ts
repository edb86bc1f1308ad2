import type { OrgConfig } from '../../config/schemas.js';
import type { AgentRecord, AgentRepository } from '../../core/agents.js';
import type { AlertRecord, AlertRepository } from '../../core/alerts.js';
import { NotFoundError } from '../../core/errors.js';
import { assertMayRequestSuspension } from '../../core/policies.js';
import { agentRunContext } from '../../core/run-context.js';
import { AGENT_SUSPENSION_FLOW, type SuspensionContext } from '../../core/suspension.js';
import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun } from '../../flows/types.js';
import type { CommandHandler } from '../handler.js';
import { loadAlert } from './alert-actions.js';

/** What asking to suspend an alert's agent needs: the alert, its agent, the engine. */
export interface RequestSuspensionDeps {
  org: OrgConfig;
  alerts: Pick<AlertRepository, 'get'>;
  agents: Pick<AgentRepository, 'get'>;
  engine: Pick<FlowEngine, 'start'>;
}

/**
 * Asks to suspend the agent of an alert. Suspension is never immediate: it starts the agent-suspension
 * flow for an IT admin to approve.
 */
export function requestSuspensionHandler(
  deps: RequestSuspensionDeps,
): CommandHandler<'agent.suspension.request', AlertRecord | undefined, { run: FlowRun; agent: AgentRecord }> {
  return {
    load: (_actor, { alertId }) => loadAlert(deps.alerts, alertId),
    // Refused before the alert is known to exist, so an alert id reveals nothing.
    authorise: (actor, alert) => assertMayRequestSuspension(deps.org, actor, alert),
    handle: async (actor, { alertId }, alert) => {
      if (!alert) throw new NotFoundError('the alert', alertId);
      const agent = await deps.agents.get(alert.agentId);
      if (!agent) throw new NotFoundError('the agent', alert.agentId);
      const context: SuspensionContext = {
        ...agentRunContext(deps.org, agent, {
          purpose: `Suspend ${agent.name} after a ${alert.kind} alert: ${alert.summary}`,
          justification: `Requested from alert ${alert.id} by ${actor.name}.`,
        }),
        alertId: alert.id,
      };
      const run = await deps.engine.start({
        flowId: AGENT_SUSPENSION_FLOW,
        requester: actor.email,
        subject: { type: 'agent', id: agent.id, agentId: agent.id },
        context,
      });
      return { run, agent };
    },
  };
}
