import type { OrgConfig, Person } from '../config/schemas.js';
import type { FlowEngine } from '../flows/engine.js';
import type { FlowRun, RunRepository, StepRegistry } from '../flows/types.js';
import { AGENT_HOLDER, type AgentRecord, type AgentRepository } from './agents.js';
import type { AuditInput } from './audit.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import type { Outbox } from './outbox.js';
import { InvalidInputError, InvalidTransitionError, RosterError } from './errors.js';
import type { AgentStatus } from './lifecycle.js';
import { displayDate } from './time.js';
import { agentRunContext, type AgentRunContext } from './run-context.js';
import type { AgentId } from './ids.js';

export const REACTIVATION_FLOW = 'reactivation';

/** The last check-in of an agent, as far as reactivation cares. */
export interface LastCheckIn {
  id: string;
  at: string;
  verdict: 'healthy' | 'watch' | 'degraded';
  summary?: string;
}

export interface ReactivationDeps {
  org: OrgConfig;
  agents: AgentRepository;
  /** Where the audit entry of a reactivation is stored with the status change, then performed. */
  outbox: Outbox;
  runs: RunRepository;
  /** The agent's latest check-in, if it had one. */
  lastCheckIn(agentId: AgentId): Promise<LastCheckIn | undefined>;
}

/** The run context of a reactivation (an agent run's, so the approval card reads like any other). */
export interface ReactivationContext extends AgentRunContext {
  reason: string;
  /** The status the agent goes back to. */
  restoreTo: AgentStatus;
  /** The check-in the approvers were shown (id and verdict), re-checked before the agent comes back. */
  lastCheckInId?: string;
  lastCheckInVerdict?: LastCheckIn['verdict'];
}

/**
 * Bringing a suspended agent back (SPEC.md: `suspended → active` only through the approved
 * reactivation flow): a sponsor or an IT admin asks with a reason, one of its sponsors and an IT
 * admin other than the requester approve (`flows/reactivation.yaml`), and the agent returns to the
 * status the suspension interrupted. The last check-in is shown to the approvers, a degraded one
 * as a warning, and checked again before the agent comes back: a newer degraded check-in stops it.
 */
export class Reactivation {
  constructor(private readonly deps: ReactivationDeps) {}

  /**
   * Starts `flows/reactivation.yaml` for a suspended agent, for `actor`, whom the caller authorised
   * (its sponsors and IT admins: the `agent.reactivation.request` command, from the Reactivate form or
   * the typed `reactivate`): it must be suspended, with a reason and none waiting.
   */
  async ask(engine: Pick<FlowEngine, 'start'>, actor: Person, agent: AgentRecord, rawReason: string): Promise<FlowRun> {
    if (agent.status !== 'suspended') throw new InvalidTransitionError(`${agent.name}`, agent.status, 'reactivated (it is not suspended)');
    const reason = String(rawReason ?? '').trim();
    if (reason.length < 5) {
      throw new InvalidInputError('Say why the agent may work again (what was fixed), in a few words.', { reason: 'Required.' });
    }
    const open = await this.deps.runs.list({ agentId: agent.id, flowId: REACTIVATION_FLOW, status: ['running', 'waiting'] });
    if (open.length > 0) throw new InvalidInputError(`${agent.name} already has a reactivation request waiting (${open[0]!.id}).`);
    const restoreTo = restoreStatus(agent);
    const last = await this.deps.lastCheckIn(agent.id);
    const context: ReactivationContext = {
      ...agentRunContext(this.deps.org, agent, {
        purpose: `Reactivate ${agent.name} (back to ${restoreTo}): ${reason}`,
        justification: checkInWords(last),
      }),
      reason,
      restoreTo,
      ...(last ? { lastCheckInId: last.id, lastCheckInVerdict: last.verdict } : {}),
    };
    return engine.start({
      flowId: REACTIVATION_FLOW,
      requester: actor.email,
      subject: { type: 'agent', id: agent.id, agentId: agent.id },
      context,
    });
  }

  /** `reactivation.valid`: the agent is still suspended, and no check-in turned degraded since the approvers looked. */
  async validate(run: Readonly<FlowRun>): Promise<{ ok: true } | { ok: false; reason: string }> {
    const c = run.context as ReactivationContext;
    const agent = await this.deps.agents.get(c.agentId);
    if (!agent) return { ok: false, reason: `The agent ${c.agentId} no longer exists.` };
    if (agent.status !== 'suspended') return { ok: false, reason: `${agent.name} is ${agent.status}, not suspended.` };
    const last = await this.deps.lastCheckIn(agent.id);
    if (last && last.id !== c.lastCheckInId && last.verdict === 'degraded') {
      return {
        ok: false,
        reason: `A newer check-in of ${agent.name} (${displayDate(last.at)}) is degraded; ask again so the approvers see it.`,
      };
    }
    return { ok: true };
  }

  /** `agent.reactivate`: suspended → the status it had, exactly once, audited with who approved. */
  async reactivate(run: Readonly<FlowRun>): Promise<Record<string, unknown>> {
    const c = run.context as ReactivationContext;
    const agent = await this.deps.agents.get(c.agentId);
    if (!agent) throw new RosterError('not_found', `The agent ${c.agentId} no longer exists.`);
    if (agent.status === c.restoreTo) return { reactivatedTo: agent.status };
    const approvedBy = Object.values(run.steps).flatMap((s) =>
      (s.decisions ?? []).filter((d) => d.decision === 'approve').map((d) => d.by),
    );
    const last = await this.deps.lastCheckIn(agent.id);
    const { outbox } = this.deps;
    // Stored with the status change: a crash between the two cannot leave a reactivation unaudited.
    const effects = [
      outbox.effect(AUDIT_EFFECT, {
        actor: { kind: 'system', name: 'flow-engine' },
        action: 'agent.reactivated',
        subject: { type: 'agent', id: agent.id, agentId: agent.id },
        details: {
          runId: run.id,
          from: 'suspended',
          to: c.restoreTo,
          requestedBy: run.requester,
          approvedBy,
          reason: c.reason,
          lastCheckIn: last ? { id: last.id, at: last.at, verdict: last.verdict } : null,
        },
        at: new Date(),
      } satisfies AuditInput),
    ];
    if (!(await this.deps.agents.transition(agent.id, 'suspended', c.restoreTo, {}, effects))) {
      throw new RosterError('invalid_transition', `${agent.name} is ${agent.status} and can't be reactivated.`);
    }
    await outbox.settle({ kind: AGENT_HOLDER, id: agent.id }, effects, 'agent.reactivated');
    return { reactivatedTo: c.restoreTo };
  }
}

// The reactivation rule lives with every other who-may rule; re-exported for the importers of this module.
export { assertMayAskReactivation, mayAskReactivation } from './policies.js';

/** The status a suspended agent returns to: the one its suspension interrupted. */
export function restoreStatus(agent: Pick<AgentRecord, 'suspendedFrom'>): AgentStatus {
  return agent.suspendedFrom === 'probation' ? 'probation' : 'active';
}

function checkInWords(last: LastCheckIn | undefined): string {
  if (!last) return 'No check-in on record yet.';
  const when = displayDate(last.at);
  if (last.verdict === 'degraded') {
    return `⚠ Its last check-in (${when}) was DEGRADED${last.summary ? `: ${last.summary}` : ''}. Approve only if the cause is fixed.`;
  }
  return `Last check-in (${when}): ${last.verdict}${last.summary ? ` — ${last.summary}` : ''}.`;
}

/** Named steps of `flows/reactivation.yaml`. */
export function reactivationSteps(reactivation: Reactivation): StepRegistry {
  return {
    checks: { 'reactivation.valid': (ctx) => reactivation.validate(ctx.run) },
    conditions: {},
    gates: {},
    actions: { 'agent.reactivate': (ctx) => reactivation.reactivate(ctx.run) },
  };
}
