import type { OrgConfig, Person } from '../config/schemas.js';
import { reportedByAgent } from '../cards/text.js';
import { cardIdSchema, type CardModel } from '../cards/view-models.js';
import { noticeCard } from '../views/card-builders.js';
import type { Services } from '../services.js';
import type { FleetView } from '../core/fleet.js';
import { mayAddKnowledgeNote } from '../core/policies.js';
import type { ComplianceGap } from '../core/governance.js';
import { decisionLine } from '../core/runtime-approvals.js';
import { displayDate } from '../core/time.js';
import type { AgentId } from '../core/ids.js';
import type { DecisionsView } from '../commands/index.js';

/** `decisions <agent> [days] [outcome]`, `compliance [regulation]` and `dashboard`. */
export type GovernanceChatCommand =
  | { name: 'decisions'; agent: string; days?: number; outcome?: string }
  | { name: 'compliance'; regulation?: string }
  | { name: 'dashboard' }
  | { name: 'fleet' };

/** The chat words this module parses and runs. */
export const GOVERNANCE_WORDS: ReadonlySet<string> = new Set(['decisions', 'compliance', 'dashboard', 'fleet']);

/** Whether a parsed command is one of this module's. */
export function isGovernanceCommand<C extends { name: string }>(command: C): command is Extract<C, GovernanceChatCommand> {
  return GOVERNANCE_WORDS.has(command.name);
}

export const GOVERNANCE_CHAT_COMMANDS = [
  {
    usage: 'decisions <agent> [days] [success|failure|handed-to-human]',
    description: "Read an agent's recent decisions with outcome, correctness, latency and cost.",
  },
  { usage: 'compliance [gdpr|ccpa|hipaa|…]', description: 'The compliance report and its gaps (compliance and the DPO).' },
  {
    usage: 'fleet',
    description: 'The fleet at a glance: agents by status, alerts, probation, cost and value (IT admins, compliance, DPO).',
  },
  { usage: 'dashboard', description: 'A private link to the fleet dashboard, valid 15 minutes (IT admins, compliance, DPO).' },
];

export function parseGovernanceCommand(word: string, rest: string[]): GovernanceChatCommand | { name: 'unknown'; text: string } {
  if (word === 'dashboard') return { name: 'dashboard' };
  if (word === 'fleet') return { name: 'fleet' };
  if (word === 'compliance') return rest[0] ? { name: 'compliance', regulation: rest[0].toLowerCase() } : { name: 'compliance' };
  const text = [word, ...rest].join(' ');
  const [agent, ...more] = rest;
  if (!agent) return { name: 'unknown', text };
  const days = more.find((w) => /^\d+$/.test(w));
  const outcome = more.find((w) => ['success', 'failure', 'handed-to-human'].includes(w.toLowerCase()));
  return { name: 'decisions', agent, ...(days ? { days: Number(days) } : {}), ...(outcome ? { outcome: outcome.toLowerCase() } : {}) };
}

/** The fleet view as label/value lines: the `fleet` command and IT admins' home show the same. */
export function fleetFacts(f: FleetView): Array<{ label: string; value: string }> {
  const list = (r: Record<string, number>) =>
    Object.entries(r)
      .map(([k, v]) => `${k} ${v}`)
      .join(' · ') || 'none';
  return [
    { label: 'Status', value: list(f.byStatus) },
    { label: 'Business units', value: list(f.byBusinessUnit) },
    { label: 'Risk tiers', value: list(f.byRiskTier) },
    { label: 'Open alerts', value: list(f.openAlerts) },
    { label: 'On probation', value: f.probation.map((p) => p.name).join(', ') || 'none' },
    { label: 'Cost', value: `$${f.cost.thisMonth} this month (last month $${f.cost.lastMonth})` },
    {
      label: 'Value delivered',
      value: `$${f.value.valueUSD} from ${f.value.tasksThisMonth} tasks${f.value.roi !== null ? ` (${f.value.roi}× cost)` : ''}`,
    },
  ];
}

/** What "Start the fix" does for each kind of gap, as its button says. */
const GAP_FIX_LABELS: Record<ComplianceGap['kind'], string> = {
  'pii-scope-without-dpo-approval': 'Ask the DPO to approve',
  'open-fairness-finding': 'Request retraining',
  'overdue-access-review': 'Remind the sponsors',
  'self-reported-evaluation': 'Ask for a measured run',
};

/** Governance views in chat, as readable notices; the bus runs the commands, rules and authorisation are policies.ts's. */
export class GovernanceChat {
  constructor(
    private readonly services: Services,
    private readonly org: OrgConfig,
  ) {}

  async run(person: Person, command: GovernanceChatCommand): Promise<CardModel> {
    const { bus } = this.services;
    if (command.name === 'fleet') {
      const f = await bus.execute(person, { type: 'fleet.show' });
      const facts = fleetFacts(f);
      return {
        kind: 'notice',
        data: {
          level: f.probation.length || Object.keys(f.openAlerts).length ? 'warning' : 'info',
          title: `Fleet: ${f.total} agents`,
          text: [
            ...facts.map((x) => `${x.label}: ${x.value}`),
            'Charts and the compliance gaps: send "dashboard" for a private link.',
          ].join('\n'),
        },
      };
    }
    if (command.name === 'dashboard') {
      const { url } = await bus.execute(person, { type: 'dashboard.link' });
      return { kind: 'notice', data: { level: 'info', title: 'Your dashboard link', text: `${url}\nValid for 15 minutes, for you only.` } };
    }
    if (command.name === 'compliance') {
      const report = await bus.execute(person, {
        type: 'compliance.report',
        ...(command.regulation ? { regulation: command.regulation } : {}),
      });
      const lines = report.regulations.map(
        (r) =>
          `${r.regulation.toUpperCase()}: ${r.agents.length} agent(s)${r.agents.length ? ` — ${r.agents.map((a) => `${a.agentName} (${a.dataClasses.join(', ')}${a.personalScopes.length ? `; personal-data scopes ${a.personalScopes.join(', ')}` : ''}${a.dpoApprovalOnRecord ? '; DPO approved' : ''})`).join('; ')}` : ''}`,
      );
      const name = (email: string) => this.org.people.find((p) => p.email === email)?.name ?? email;
      return noticeCard({
        level: report.gaps.length ? 'warning' : 'success',
        title: `Compliance report${command.regulation ? ` (${command.regulation.toUpperCase()})` : ''}: ${report.gaps.length} gap(s)`,
        text: [...lines, `Raw telemetry kept ${report.rawEventRetentionDays} days.`, report.gaps.length ? 'Gaps:' : 'No gaps.'].join('\n'),
        sections: report.gaps.slice(0, 20).map((g) => ({
          text: `⚠️ ${g.detail} Sponsors: ${g.sponsors.map(name).join(', ') || 'none'}.`,
          actions: [{ action: 'gap_fix', label: GAP_FIX_LABELS[g.kind], style: 'primary', value: { agentId: g.agentId, gap: g.kind } }],
        })),
      });
    }
    const since = command.days ? new Date(Date.now() - command.days * 86_400_000) : undefined;
    return this.decisionLog(person, command.agent, {
      ...(since ? { since } : {}),
      ...(command.outcome ? { outcome: command.outcome } : {}),
      typed: true,
    });
  }

  /**
   * An agent's recent decisions (by the id a card's button carries, or as `typed` by name or id),
   * one section each with "Record as failure mode". The bus's `agent.decisions` authorises.
   */
  async decisionLog(
    person: Person,
    agentKey: AgentId | string,
    filter: { since?: Date; outcome?: string; typed?: boolean },
  ): Promise<CardModel> {
    const view = await this.services.bus.execute(person, {
      type: 'agent.decisions',
      agent: agentKey,
      namedBy: filter.typed ? 'words' : 'card',
      ...(filter.since ? { since: filter.since } : {}),
      ...(filter.outcome ? { outcome: filter.outcome } : {}),
    });
    return this.decisionsCard(person, view);
  }

  /**
   * The decisions behind an alert or a check-in (their "Decisions behind this" buttons): the bus's
   * `agent.decisions` reads the alert or check-in, its agent and the window, and authorises.
   */
  async decisionsBehind(
    person: Person,
    behind: { alertId: string | undefined } | { checkInId: string | undefined },
  ): Promise<{
    view: DecisionsView;
    card: CardModel;
  }> {
    const view = await this.services.bus.execute(person, { type: 'agent.decisions', namedBy: 'card', ...behind });
    return { view, card: this.decisionsCard(person, view) };
  }

  /** A look at an agent's decisions, as a notice with a section each; `why` names the alert or check-in it was asked behind. */
  private decisionsCard(person: Person, view: DecisionsView): CardModel {
    const { agent, entries, runtime, alert, checkIn } = view;
    const filter = {
      since: view.since,
      outcome: view.outcome,
      why: alert
        ? `The decisions behind the ${alert.kind} alert raised ${alert.createdAt.slice(0, 10)}.`
        : checkIn
          ? `The decisions behind the check-in of ${checkIn.window.to.slice(0, 10)} (${checkIn.verdict}).`
          : undefined,
    };
    const mayNote = mayAddKnowledgeNote(this.org, person, agent);
    const asked = runtime.length
      ? [
          {
            text: `Runtime approvals, newest first:\n${runtime.map((r) => `${decisionLine(r)} — ${reportedByAgent(r.summary, 200)}`).join('\n')}`,
            actions: [],
          },
        ]
      : [];
    return noticeCard({
      level: 'info',
      title: `Decisions of ${agent.name}: the ${entries.length} most recent${filter.outcome ? ` (${filter.outcome})` : ''}${runtime.length ? ` and ${runtime.length} runtime approval${runtime.length === 1 ? '' : 's'}` : ''}`,
      text:
        entries.length || runtime.length
          ? `${filter.why ? `${filter.why} ` : ''}Newest first${filter.since ? ` since ${filter.since.toISOString().slice(0, 10)}` : ''}.${mayNote && entries.length ? " Record a decision as a failure mode to keep it on the agent's profile and in its archive." : ''}`
          : 'No decisions recorded in that window.',
      sections: [
        ...asked,
        ...entries.slice(0, 20 - asked.length).map((e) => ({
          // The summary and the segment are the agent's words, not Roster's: framed and never linked.
          text: `${displayDate(e.time)} · ${e.outcome}${e.correctness !== undefined ? ` · correct ${e.correctness}` : ''} · ${Math.round(e.latencyMs)} ms · $${e.costUSD.toFixed(4)}${e.segment ? ` · segment ${reportedByAgent(e.segment, 80)}` : ''} — ${reportedByAgent(e.summary)}`,
          actions:
            mayNote && cardIdSchema.safeParse(e.eventId).success
              ? [{ action: 'decision_record' as const, label: 'Record as failure mode', value: { agentId: agent.id, eventId: e.eventId } }]
              : [],
        })),
      ],
    });
  }
}
