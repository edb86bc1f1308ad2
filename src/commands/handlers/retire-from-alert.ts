import type { AgentRecord } from '../../core/agents.js';
import type { AlertRecord, AlertRepository } from '../../core/alerts.js';
import { assertMayStartRetirement } from '../../core/policies.js';
import type { Retirement } from '../../core/retirement.js';
import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun } from '../../flows/types.js';
import type { CommandHandler } from '../handler.js';
import { loadAlertAndAgent, type AgentReads } from './load-agent.js';

/** What Retire agent on an alert needs: the alert, its agent, and retirement. */
export interface RetireFromAlertDeps extends AgentReads {
  alerts: Pick<AlertRepository, 'get'>;
  engine: FlowEngine;
  retirement: Pick<Retirement, 'start'>;
}

/**
 * Retire agent on an alert: the agent's sponsors and IT admins (the card offers it to IT admins),
 * asked here only: the retirement service no longer checks again.
 */
export function retireFromAlertHandler(
  deps: RetireFromAlertDeps,
): CommandHandler<'alert.retire', { alert: AlertRecord; agent: AgentRecord }, { alert: AlertRecord; run: FlowRun }> {
  return {
    load: (_actor, { alertId }) => loadAlertAndAgent(deps, alertId),
    authorise: (actor, { agent }) => assertMayStartRetirement(actor, agent),
    handle: async (actor, _command, { alert, agent }) => ({
      alert,
      run: await deps.retirement.start(deps.engine, actor.email, {
        agentId: agent.id,
        reason: `Retire chosen from the ${alert.kind} alert ${alert.id}: ${alert.summary}`.slice(0, 1000),
      }),
    }),
  };
}
