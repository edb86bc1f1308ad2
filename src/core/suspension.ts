import type { AuditInput } from './audit.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import { AGENT_HOLDER, type AgentRepository } from './agents.js';
import type { Outbox } from './outbox.js';
import { RosterError } from './errors.js';
import { canTransition, type AgentStatus } from './lifecycle.js';
import type { StepRegistry } from '../flows/types.js';
import type { AgentRunContext } from './run-context.js';
import type { AlertId } from './ids.js';

export interface SuspensionDeps {
  agents: AgentRepository;
  /** The suspension's audit entry is stored in the agent's outbox with the status change. */
  outbox: Outbox;
}

/** The run context of a suspension request (an agent run's, so the approval card reads like any other). */
export interface SuspensionContext extends AgentRunContext {
  alertId: AlertId;
}

/** The flow that suspends an agent once an IT admin approves (`flows/agent-suspension.yaml`). */
export const AGENT_SUSPENSION_FLOW = 'agent-suspension';

/** Named actions of `flows/agent-suspension.yaml`. */
export function suspensionSteps(deps: SuspensionDeps): StepRegistry {
  return {
    checks: {},
    conditions: {},
    gates: {},
    actions: {
      'agent.suspend': async (ctx) => {
        const c = ctx.run.context as SuspensionContext;
        const agent = await deps.agents.get(c.agentId);
        if (!agent) throw new RosterError('not_found', `The agent ${c.agentId} no longer exists.`);
        if (agent.status === 'suspended') return { suspendedAt: agent.statusChangedAt };
        if (!canTransition(agent.status, 'suspended')) {
          throw new RosterError('invalid_transition', `${agent.name} is ${agent.status} and can't be suspended.`);
        }
        const from: AgentStatus = agent.status;
        const approvers = Object.values(ctx.run.steps).flatMap((s) =>
          (s.decisions ?? []).filter((d) => d.decision === 'approve').map((d) => d.by),
        );
        const effects = [
          deps.outbox.effect<AuditInput>(AUDIT_EFFECT, {
            actor: { kind: 'system', name: 'flow-engine' },
            action: 'agent.suspended',
            subject: { type: 'agent', id: agent.id, agentId: agent.id },
            details: {
              runId: ctx.run.id,
              from,
              to: 'suspended',
              alertId: c.alertId,
              requestedBy: ctx.run.requester,
              approvedBy: approvers,
            },
            at: new Date(),
          }),
        ];
        if (await deps.agents.transition(agent.id, from, 'suspended', { suspendedFrom: from }, effects)) {
          await deps.outbox.settle({ kind: AGENT_HOLDER, id: agent.id }, effects, 'agent.suspended');
        }
        return { suspendedAt: new Date().toISOString() };
      },
    },
  };
}
