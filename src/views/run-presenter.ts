import type { CatalogRole, OrgConfig } from '../config/schemas.js';
import { businessUnitById, findPersonByEmail, roleById } from '../config/directory.js';
import type { CardOf, PersonRef, StepState as CardStepState } from '../cards/view-models.js';
import type { FlowDefinition } from '../flows/schema.js';
import type { FlowPresenter, FlowRun } from '../flows/types.js';
import type { AgentRequestContext } from '../core/agent-request.js';
import type { RuntimeRunContext } from '../core/runtime-approvals.js';
import { offersCancel } from '../core/requests.js';
import { displayDate } from '../core/time.js';
import { accessNotifyCard } from './access-cards.js';
import { approvalRequestCard, evaluationFormCard, noticeCard, requestStatusCard } from './card-builders.js';

/** What a completed run means, per flow, for the requester's status card. */
const COMPLETED_LABELS: Record<string, string> = {
  'agent-request': 'Active',
  'agent-suspension': 'Suspended',
  retirement: 'Retired',
  'retraining-promotion': 'New version live',
  'access-request': 'Access granted',
  'break-glass': 'Access granted',
  'runtime-approval': 'Approved',
};

/** The runtime part of an approval card: the action, the agent's words, its details and recent decisions. */
function runtimeCardPart(c: RuntimeRunContext) {
  return {
    action: c.action,
    actionTitle: c.actionTitle,
    summary: c.summary,
    fields: (c.fields ?? []).slice(0, 10),
    recentDecisions: (c.recentDecisions ?? []).map((d) => d.text).slice(0, 5),
  };
}

/** The evaluation form's fixed part for an agent of a catalog role: thresholds and the role-fit checklist. */
export function evaluationFormBase(role: CatalogRole, ids: { runId: string; agentId: string; agentName: string }) {
  return {
    ...ids,
    roleTitle: role.title,
    thresholds: {
      minAccuracy: role.evaluation.minAccuracy,
      maxP95LatencyMs: role.evaluation.maxP95LatencyMs,
      maxCostPerTaskUSD: role.evaluation.maxCostPerTaskUSD,
    },
    roleFitItems: role.evaluation.roleFit,
  };
}

/** Turns flow runs into the cards people see; one place for the words of every state. */
export class RunPresenter implements FlowPresenter {
  constructor(
    private readonly org: OrgConfig,
    private readonly flows: ReadonlyMap<string, FlowDefinition>,
    /** Catalog roles Roster evaluates itself (they have a suite in evals/). */
    private readonly measuredRoles: ReadonlySet<string> = new Set(),
  ) {}

  person(email: string): PersonRef {
    const p = findPersonByEmail(this.org, email);
    return p ? { name: p.name, ...(p.slackUserId ? { slackUserId: p.slackUserId } : {}) } : { name: email };
  }

  status(run: FlowRun): CardOf<'request-status'> {
    const c = run.context as AgentRequestContext;
    const flow = this.flows.get(run.flowId);
    const steps = (flow?.steps ?? []).map((step, i) => {
      const state = run.steps[step.id];
      let cardState: CardStepState = 'waiting';
      if (state?.status === 'skipped') cardState = 'skipped';
      else if (state?.status === 'failed' || state?.status === 'denied' || state?.status === 'expired') cardState = 'failed';
      else if (i < run.current || state?.status === 'passed' || state?.status === 'approved' || state?.status === 'done')
        cardState = 'done';
      else if (i === run.current && run.status !== 'completed') cardState = 'current';
      return { name: step.title ?? step.id, state: cardState, ...(state?.reason ? { detail: state.reason } : {}) };
    });
    return requestStatusCard({
      runId: run.id,
      agentName: c.agentName ?? run.subject.id,
      roleTitle: c.roleTitle ?? run.flowId,
      statusLabel: this.statusLabel(run),
      tone: run.status === 'completed' ? 'success' : run.status === 'running' || run.status === 'waiting' ? 'waiting' : 'failure',
      requestedBy: this.person(run.requester),
      requestedAt: displayDate(run.createdAt),
      steps,
      decisions: this.decisions(run),
      actions: [
        ...(this.evaluationFormOpen(run)
          ? [
              {
                action: 'evaluation_open' as const,
                label: 'Enter evaluation results',
                style: 'primary' as const,
                value: { runId: run.id, agentId: c.agentId },
              },
            ]
          : []),
        ...(offersCancel(run)
          ? [{ action: 'request_cancel' as const, label: 'Cancel request', style: 'danger' as const, value: { runId: run.id } }]
          : []),
      ],
    });
  }

  /**
   * Whether the run waits at the evaluation gate for results typed into the form: the requester
   * and the sponsors are offered the form (a role Roster measures asks for an endpoint instead).
   */
  private evaluationFormOpen(run: FlowRun): boolean {
    const step = this.flows.get(run.flowId)?.steps[run.current];
    if (run.status !== 'waiting' || step?.type !== 'gate' || step.gate !== 'evaluation') return false;
    const c = run.context as AgentRequestContext;
    return Boolean(c.agentId) && Boolean(roleById(this.org, c.roleId)) && !this.measuredRoles.has(c.roleId);
  }

  approval(run: FlowRun, stepId: string, viewer: string): CardOf<'approval-request'> {
    const c = run.context as AgentRequestContext;
    const step = this.flows.get(run.flowId)?.steps.find((s) => s.id === stepId);
    const state = run.steps[stepId];
    const groups = state?.groups ?? [];
    const decided = (state?.decisions ?? []).some((d) => d.by === viewer || d.delegate === viewer);
    const pending = run.status === 'waiting' && state?.status === 'waiting';
    const canDecide = pending && run.waitingFor.includes(viewer) && !decided;
    const approvals = (state?.decisions ?? []).filter((d) => d.decision === 'approve').length;
    const last = state?.decisions?.at(-1);
    const approvalState =
      state?.status === 'approved'
        ? 'approved'
        : state?.status === 'denied'
          ? 'denied'
          : state?.status === 'expired' || run.status === 'expired'
            ? 'expired'
            : pending
              ? 'pending'
              : 'cancelled';
    // Whose copy refreshes to their own view: e-mails here; the Teams adapter turns them into Teams ids.
    const refreshFor = [...new Set([...groups.flatMap((g) => g.eligible), ...Object.values(state?.delegates ?? {})])];
    // Who cancelled (the engine names them on the closing event); older runs fall back to the outcome.
    const cancelled = approvalState === 'cancelled' ? run.events.findLast((e) => e.type === 'cancelled') : undefined;
    const lastGate = Object.values(run.steps)
      .flatMap((s) => s.attempts ?? [])
      .at(-1);
    return approvalRequestCard({
      state: approvalState,
      runId: run.id,
      stepId,
      stepName: step?.title ?? stepId,
      canDecide,
      ...(pending ? { headline: this.approvalHeadline(run, canDecide, groups) } : {}),
      ...(!canDecide && pending ? { cannotDecideReason: this.cannotDecideReason(run, viewer, decided) } : {}),
      progressLabel: `${approvals} of ${groups.length} approvals`,
      agentName: c.agentName,
      roleTitle: c.roleTitle,
      riskTier: (c.riskTier as 'low' | 'medium' | 'high') ?? 'low',
      businessUnit: businessUnitById(this.org, c.businessUnit)?.name ?? c.businessUnit,
      requester: this.person(run.requester),
      sponsors: (c.sponsors ?? []).map((s) => this.person(s)),
      ...(run.flowId === 'runtime-approval' ? {} : { purpose: c.purpose, justification: c.justification || '—' }),
      ...(lastGate
        ? {
            evaluation: {
              passed: lastGate.passed,
              summary: lastGate.summary,
              source: lastGate.source ?? ('self-reported' as const),
            },
          }
        : {}),
      decisions: this.decisions(run, stepId),
      requestedAt: displayDate(run.createdAt),
      ...(state?.expiresAt ? { expiresAt: displayDate(state.expiresAt) } : {}),
      ...(!pending && (state?.endedAt ?? run.endedAt) ? { closedAt: displayDate((state?.endedAt ?? run.endedAt)!) } : {}),
      ...(cancelled?.by
        ? { closedBy: this.person(cancelled.by) }
        : !pending && last && approvalState !== 'expired'
          ? { closedBy: this.decider(last) }
          : {}),
      ...(approvalState === 'denied' && last?.comment ? { closedReason: last.comment } : {}),
      ...(approvalState === 'cancelled' && (cancelled?.detail ?? run.outcome) ? { closedReason: cancelled?.detail ?? run.outcome } : {}),
      refreshFor: refreshFor.slice(0, 200),
      teamsRefreshUserIds: [],
      ...(run.flowId === 'runtime-approval' ? { runtime: runtimeCardPart(run.context as RuntimeRunContext) } : {}),
    });
  }

  reminder(run: FlowRun, stepId: string, viewer: string): CardOf<'approval-request'> {
    return this.approval(run, stepId, viewer);
  }

  notify(kind: string, run: FlowRun, recipient: string): CardOf<'grant-notice' | 'notice' | 'request-status'> {
    const accessCard = accessNotifyCard(this.org, kind, run, recipient);
    if (accessCard) return accessCard;
    const c = run.context as AgentRequestContext;
    if (kind === 'version-promoted') {
      return noticeCard({
        level: 'success',
        title: `${c.agentName} ${String(run.context.version ?? '')} is live`,
        text: String(c.purpose ?? ''),
      });
    }
    if (kind === 'agent-retired') {
      return noticeCard({
        level: 'info',
        title: `${c.agentName} is retired`,
        text: `Every grant and key of ${c.agentName} (${c.agentId}) is revoked and its archive is stored with a SHA-256 digest (${String(run.context.archiveDigest ?? '').slice(0, 16)}…). ${String(c.justification ?? '')}`.trim(),
      });
    }
    if (kind === 'dpo-approved') {
      return noticeCard({
        level: 'success',
        title: `DPO approval recorded for ${c.agentName}`,
        text: `${c.agentName} (${c.agentId}) may keep its personal-data access: ${String(c.justification ?? '')}`.trim(),
      });
    }
    if (kind === 'agent-suspended') {
      return noticeCard({
        level: 'warning',
        title: `${c.agentName} is suspended`,
        text: `${c.agentName} (${c.agentId}) was suspended after an alert, approved by an IT admin. ${String(c.purpose ?? '')} Once the cause is fixed, a sponsor or an IT admin can ask to reactivate it (a sponsor and an IT admin approve): the button below, or "reactivate ${c.agentId} <what was fixed>".`.trim(),
        actions: [{ action: 'agent_reactivate', label: 'Reactivate…', value: { agentId: c.agentId } }],
      });
    }
    if (kind === 'agent-reactivated') {
      return noticeCard({
        level: 'success',
        title: `${c.agentName} is ${String(run.context.reactivatedTo ?? 'active')} again`,
        text: `${c.agentName} (${c.agentId}) was reactivated, approved by ${Object.values(run.steps)
          .flatMap((st) => (st.decisions ?? []).filter((d) => d.decision === 'approve').map((d) => this.person(d.by).name))
          .join(' and ')}. ${String(run.context.reason ?? '')}`.trim(),
      });
    }
    if (kind === 'agent-onboarded') {
      return noticeCard({
        level: 'success',
        title: `${c.agentName} is active`,
        text: `${c.agentName} (${c.roleTitle}, ${c.agentId}) passed evaluation and every approval, and now works in ${businessUnitById(this.org, c.businessUnit)?.name ?? c.businessUnit} with its default access.`,
      });
    }
    return this.status(run);
  }

  gateWaiting(run: FlowRun, _stepId: string, gate: string): CardOf<'notice' | 'evaluation-form'> | undefined {
    if (gate !== 'evaluation') return undefined;
    const c = run.context as AgentRequestContext;
    const role = roleById(this.org, c.roleId);
    if (!role) return undefined;
    if (this.measuredRoles.has(role.id)) {
      return noticeCard({
        level: 'info',
        title: `Evaluation of ${c.agentName}: Roster interviews it`,
        text: `Roster runs the ${role.title} evaluation suite against ${c.agentName} where it runs, and measures accuracy, latency, cost and role fit against the role's thresholds. Register how Roster reaches it (an HTTP JSON endpoint, an OpenAI-compatible chat-completions URL or an MCP tool) to start.`,
        actions: [{ action: 'eval_register', label: 'Register endpoint and run', style: 'primary', value: { agentId: c.agentId } }],
      });
    }
    return evaluationFormCard(evaluationFormBase(role, { runId: run.id, agentId: c.agentId, agentName: c.agentName }));
  }

  statusLabel(run: FlowRun): string {
    const flow = this.flows.get(run.flowId);
    const step = flow?.steps[run.current];
    switch (run.status) {
      case 'completed':
        return COMPLETED_LABELS[run.flowId] ?? 'Done';
      case 'waiting': {
        if (step?.type === 'gate') return 'Waiting for evaluation results';
        const state = step ? run.steps[step.id] : undefined;
        const approvals = (state?.decisions ?? []).filter((d) => d.decision === 'approve').length;
        return `Waiting for approval (${approvals} of ${state?.groups?.length ?? 0})`;
      }
      case 'running':
        return 'In progress';
      case 'expired':
        return `Expired: ${run.outcome ?? 'no decision in time'}`;
      case 'cancelled': {
        const event = run.events.findLast((e) => e.type === 'cancelled');
        if (!event?.by) return `Cancelled: ${run.outcome ?? ''}`.trim();
        return `Cancelled by ${this.person(event.by).name}${event.detail ? `: ${event.detail}` : ''}`;
      }
      default:
        return `${run.status[0]!.toUpperCase()}${run.status.slice(1)}: ${run.outcome ?? ''}`.trim();
    }
  }

  /**
   * What a pending approval asks of its reader, as the card's title: "Approve crm:write for
   * Refund Triage?" for someone who may decide; "Waiting for Noah Fischer to approve …" for the
   * requester and everyone else.
   */
  private approvalHeadline(run: FlowRun, canDecide: boolean, groups: ReadonlyArray<{ eligible: string[] }>): string {
    const c = run.context as AgentRequestContext & { scope?: string; actionTitle?: string };
    const what =
      run.flowId === 'runtime-approval'
        ? `${c.agentName} to ${String(c.actionTitle ?? 'act').replace(/^./, (l) => l.toLowerCase())}`
        : typeof c.scope === 'string'
          ? `${c.scope} for ${c.agentName}`
          : `${c.agentName} (${c.roleTitle})`;
    if (canDecide) return `Approve ${what}?`;
    const waitingOn = run.waitingFor.length ? run.waitingFor : [...new Set(groups.flatMap((g) => g.eligible))];
    const names = waitingOn.map((email) => this.person(email).name);
    const who = names.length <= 2 ? names.join(' and ') : `${names.slice(0, 2).join(', ')} and ${names.length - 2} more`;
    return who ? `Waiting for ${who} to approve ${what}` : `Waiting for approval of ${what}`;
  }

  private cannotDecideReason(run: FlowRun, viewer: string, decided: boolean): string {
    if (decided) return 'You have already decided; your decision is recorded below.';
    if (viewer === run.requester)
      return run.flowId === 'access-request'
        ? 'You requested this access, so someone else approves it.'
        : 'You requested this agent, so someone else approves it.';
    return 'Your approval is not needed for the remaining part of this step.';
  }

  /** Who decided, as shown: "Noah Fischer on behalf of Maya Chen" when a delegate stood in. */
  private decider(decision: { by: string; delegate?: string }): PersonRef {
    if (!decision.delegate) return this.person(decision.by);
    const delegate = this.person(decision.delegate);
    return { ...delegate, name: `${delegate.name} on behalf of ${this.person(decision.by).name}` };
  }

  private decisions(run: FlowRun, onlyStep?: string) {
    const flow = this.flows.get(run.flowId);
    return Object.entries(run.steps)
      .filter(([id]) => !onlyStep || id === onlyStep)
      .flatMap(([id, s]) =>
        (s.decisions ?? []).map((d) => ({
          by: this.decider(d),
          decision: d.decision === 'approve' ? ('approved' as const) : ('denied' as const),
          at: displayDate(d.at),
          ...(d.comment ? { comment: d.comment } : {}),
          stepName: flow?.steps.find((st) => st.id === id)?.title ?? id,
        })),
      );
  }
}
