import type { OrgConfig, Person } from '../config/schemas.js';
import { hasRole, roleById, scopeById } from '../config/directory.js';
import type { AgentRecord, AgentRepository, GrantRepository } from './agents.js';
import type { AuditLog } from './audit.js';
import { stringify } from 'csv-stringify/sync';
import type { AgentId } from './ids.js';

/** The flow whose approval is "DPO approval on record" (flows/dpo-review.yaml). */
export const DPO_REVIEW_FLOW = 'dpo-review';

/** Data classes that are personal data for compliance purposes. */
const PERSONAL = new Set(['pii', 'health']);

export interface ComplianceGap {
  kind: 'pii-scope-without-dpo-approval' | 'open-fairness-finding' | 'overdue-access-review' | 'self-reported-evaluation';
  agentId: AgentId;
  agentName: string;
  sponsors: string[];
  detail: string;
}

export interface ComplianceAgentRow {
  agentId: AgentId;
  agentName: string;
  status: string;
  dataClasses: string[];
  personalScopes: string[];
  dpoApprovalOnRecord: boolean;
  sponsors: string[];
}

export interface ComplianceReport {
  generatedAt: string;
  regulations: Array<{ regulation: string; agents: ComplianceAgentRow[] }>;
  rawEventRetentionDays: number;
  gaps: ComplianceGap[];
}

export interface DecisionEntry {
  /** The client's event id (unique per agent). */
  eventId: string;
  time: string;
  taskType: string;
  outcome: string;
  correctness?: number;
  latencyMs: number;
  costUSD: number;
  segment?: string;
  summary: string;
}

export interface GovernanceDeps {
  org: OrgConfig;
  agents: AgentRepository;
  grants: GrantRepository;
  audit: AuditLog;
  /** Open alerts of an agent (fairness findings among them). */
  openAlerts(agentId: AgentId): Promise<Array<{ kind: string; summary: string }>>;
  /** Raw events of an agent, newest first. */
  events(
    agentId: AgentId,
    filter: { since?: Date; outcome?: string; limit?: number; eventId?: string },
  ): Promise<Array<Record<string, unknown>>>;
  clock?: () => Date;
}

// The reader rule lives with every other who-may rule; re-exported for the importers of this module.
export { isDecisionReader } from './policies.js';

/**
 * Governance views: an agent's decision log (explainability) and the compliance report per
 * regulation, with the gaps a DPO or compliance officer has to close.
 */
export class Governance {
  private readonly clock: () => Date;

  constructor(private readonly deps: GovernanceDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /**
   * Recent decision summaries of an agent, recorded as viewed by the actor. Who may read them (its
   * sponsors, IT admins, security and compliance: assertMayReadDecisions) is asked once, by the
   * command that leads here (`agent.decisions`, `decision.record`); this keeps no second copy.
   */
  async decisions(
    actor: Person,
    agent: AgentRecord,
    filter: { since?: Date; outcome?: string; limit?: number; eventId?: string } = {},
  ): Promise<{ agent: AgentRecord; entries: DecisionEntry[] }> {
    const outcome = filter.outcome && ['success', 'failure', 'handed-to-human'].includes(filter.outcome) ? filter.outcome : undefined;
    const raw = await this.deps.events(agent.id, {
      ...(filter.since ? { since: filter.since } : {}),
      ...(outcome ? { outcome } : {}),
      ...(filter.eventId !== undefined ? { eventId: String(filter.eventId) } : {}),
      limit: filter.limit ?? 20,
    });
    await this.deps.audit.append({
      actor: { kind: 'person', email: actor.email },
      action: 'decisions.viewed',
      subject: { type: 'agent', id: agent.id, agentId: agent.id },
      details: { count: raw.length, ...(outcome ? { outcome } : {}) },
    });
    return {
      agent,
      entries: raw.map((e) => ({
        eventId: String(e.eventId ?? ''),
        time: new Date(e.time as Date).toISOString(),
        taskType: String(e.taskType),
        outcome: String(e.outcome),
        ...(typeof e.correctness === 'number' ? { correctness: e.correctness } : {}),
        latencyMs: Number(e.latencyMs),
        costUSD: Number(e.costUSD),
        ...(typeof e.segment === 'string' ? { segment: e.segment } : {}),
        summary: typeof e.decisionSummary === 'string' ? e.decisionSummary : '(no summary)',
      })),
    };
  }

  /**
   * The compliance report. Who may read it (compliance and the DPO: assertMayReadComplianceReport)
   * is asked once, by the `compliance.report` command that every person's door gives (chat words,
   * the HTTP dashboard); this keeps no second copy. The CLI calls it directly: an operator with
   * database access, not a person.
   */
  async complianceReport(regulation?: string): Promise<ComplianceReport> {
    const org = this.deps.org;
    const agents = await this.deps.agents.list({ status: ['requested', 'active', 'probation', 'suspended', 'retiring'] });
    const dpos = new Set(org.people.filter((p) => hasRole(p, 'dpo')).map((p) => p.email));
    const rows = new Map<string, ComplianceAgentRow>();
    const gaps: ComplianceGap[] = [];
    for (const agent of agents) {
      const role = roleById(org, agent.catalogRoleId);
      const grants = (await this.deps.grants.listForAgent(agent.id)).filter((g) => g.status === 'active');
      const personalScopes = grants.filter((g) => scopeById(org, g.scope)?.dataClasses.some((d) => PERSONAL.has(d))).map((g) => g.scope);
      const trail = await this.deps.audit.export({ agentId: agent.id });
      // Only a DPO's approval of this agent's DPO review counts: a DPO approving anything else
      // about the agent (a version, a sign-off) says nothing about its personal-data access.
      const dpoApproval = trail.some(
        (e) =>
          e.action === 'decision.approve' &&
          e.details.flow === DPO_REVIEW_FLOW &&
          e.subject.agentId === agent.id &&
          e.actor.kind === 'person' &&
          dpos.has(e.actor.email),
      );
      const dataClasses = [
        ...new Set([...(role?.dataClasses ?? []), ...grants.flatMap((g) => scopeById(org, g.scope)?.dataClasses ?? [])]),
      ];
      rows.set(agent.id, {
        agentId: agent.id,
        agentName: agent.name,
        status: agent.status,
        dataClasses,
        personalScopes,
        dpoApprovalOnRecord: dpoApproval,
        sponsors: agent.sponsors,
      });
      if (personalScopes.length > 0 && !dpoApproval) {
        gaps.push({
          kind: 'pii-scope-without-dpo-approval',
          agentId: agent.id,
          agentName: agent.name,
          sponsors: agent.sponsors,
          detail: `${agent.name} holds ${personalScopes.join(', ')} (personal data) with no DPO approval in its audit trail.`,
        });
      }
      for (const alert of (await this.deps.openAlerts(agent.id)).filter((a) => a.kind === 'fairness')) {
        gaps.push({
          kind: 'open-fairness-finding',
          agentId: agent.id,
          agentName: agent.name,
          sponsors: agent.sponsors,
          detail: alert.summary,
        });
      }
      if (agent.evaluation && agent.evaluation.source !== 'measured') {
        gaps.push({
          kind: 'self-reported-evaluation',
          agentId: agent.id,
          agentName: agent.name,
          sponsors: agent.sponsors,
          detail: `${agent.name}'s evaluation was typed in by ${agent.evaluation.by}, not measured by Roster${agent.evaluation.reason ? ` ("${agent.evaluation.reason.slice(0, 200)}")` : ''}.`,
        });
      }
      const overdue = grants.filter(
        (g) =>
          (g as { review?: { dueAt?: string; answer?: string } }).review?.dueAt &&
          !(g as { review?: { answer?: string } }).review?.answer &&
          Date.parse((g as { review: { dueAt: string } }).review.dueAt) < this.clock().getTime(),
      );
      if (overdue.length > 0) {
        gaps.push({
          kind: 'overdue-access-review',
          agentId: agent.id,
          agentName: agent.name,
          sponsors: agent.sponsors,
          detail: `${overdue.length} grant(s) of ${agent.name} await an overdue access review.`,
        });
      }
    }
    const regulations = [...new Set(org.catalog.flatMap((r) => r.regulations))].filter((r) => !regulation || r === regulation).sort();
    return {
      generatedAt: this.clock().toISOString(),
      regulations: regulations.map((reg) => ({
        regulation: reg,
        agents: agents.filter((a) => roleById(org, a.catalogRoleId)?.regulations.includes(reg as never)).map((a) => rows.get(a.id)!),
      })),
      rawEventRetentionDays: org.settings.rawEventRetentionDays,
      gaps: regulation
        ? gaps.filter((g) =>
            roleById(org, agents.find((a) => a.id === g.agentId)!.catalogRoleId)?.regulations.includes(regulation as never),
          )
        : gaps,
    };
  }
}

/** The report as CSV: one line per agent and regulation, then the gaps. */
export function complianceCsv(report: ComplianceReport): string {
  // Cells are quoted and those a spreadsheet would run as a formula (= + - @ tab CR) start with '.
  const rows = (records: unknown[][]) => stringify(records, { quoted: true, escape_formulas: true, eof: true, record_delimiter: 'unix' });
  const agents = report.regulations.flatMap((r) =>
    r.agents.map((a) => [
      r.regulation,
      a.agentId,
      a.agentName,
      a.status,
      a.dataClasses.join(' '),
      a.personalScopes.join(' '),
      String(a.dpoApprovalOnRecord),
      a.sponsors.join(' '),
    ]),
  );
  const gaps = report.gaps.map((g) => [g.kind, g.agentId, g.agentName, g.sponsors.join(' '), g.detail]);
  return [
    'regulation,agent_id,agent,status,data_classes,personal_scopes,dpo_approval,sponsors\n',
    rows(agents),
    '\ngap,agent_id,agent,sponsors,detail\n',
    rows(gaps),
  ].join('');
}
