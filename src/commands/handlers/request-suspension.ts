import type { AgentRecord } from '../../core/agents.js';
import type { AlertRecord } from '../../core/alerts.js';
import { assertMayRequestSuspension } from '../../core/policies.js';
import { agentRunContext } from '../../core/run-context.js';
import { AGENT_SUSPENSION_FLOW, type SuspensionContext } from '../../core/suspension.js';
import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun } from '../../flows/types.js';
import type { CommandHandler } from '../handler.js';
import { alertAction, type AlertReads } from './alert-actions.js';
import { loadAgent, type AgentReads } from './load-agent.js';

/** What asking to suspend an alert's agent needs: the alert, its agent, the engine. */
export interface RequestSuspensionDeps extends AlertReads, AgentReads {
  engine: Pick<FlowEngine, 'start'>;
}

/**
 * Asks to suspend the agent of an alert. Suspension is never immediate: it starts the agent-suspension
 * flow for an IT admin to approve. Refused before the alert is known to exist, so an alert id reveals nothing.
 */
export function requestSuspensionHandler(
  deps: RequestSuspensionDeps,
): CommandHandler<'agent.suspension.request', AlertRecord | undefined, { run: FlowRun; agent: AgentRecord }> {
  return alertAction<'agent.suspension.request', { run: FlowRun; agent: AgentRecord }>(
    deps,
    async (actor, _command, alert) => {
      const agent = await loadAgent(deps, alert.agentId);
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
    assertMayRequestSuspension,
  );
}
