import type { OrgConfig, Person } from '../config/schemas.js';
import type { CardModel } from '../cards/view-models.js';
import type { Services } from '../services.js';
import { assertDashboardReader } from '../core/fleet.js';

/** `decisions <agent> [days] [outcome]`, `compliance [regulation]` and `dashboard`. */
export type GovernanceChatCommand =
  | { name: 'decisions'; agent: string; days?: number; outcome?: string }
  | { name: 'compliance'; regulation?: string }
  | { name: 'dashboard' }
  | { name: 'fleet' };

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
  const quoted = /^"([^"]+)"\s*(.*)$/.exec(rest.join(' '));
  const [agent, ...more] = quoted ? [quoted[1]!, ...quoted[2]!.split(/\s+/).filter(Boolean)] : rest;
  if (!agent) return { name: 'unknown', text };
  const days = more.find((w) => /^\d+$/.test(w));
  const outcome = more.find((w) => ['success', 'failure', 'handed-to-human'].includes(w.toLowerCase()));
  return { name: 'decisions', agent, ...(days ? { days: Number(days) } : {}), ...(outcome ? { outcome: outcome.toLowerCase() } : {}) };
}

/** Governance views in chat, as readable notices; rules and authorisation are the Governance service's. */
export class GovernanceChat {
  constructor(
    private readonly services: Services,
    private readonly org: OrgConfig,
  ) {}

  async run(person: Person, command: GovernanceChatCommand): Promise<CardModel> {
    if (command.name === 'fleet') {
      assertDashboardReader(this.org, person.email);
      const f = await this.services.dashboard.fleet();
      const list = (r: Record<string, number>) =>
        Object.entries(r)
          .map(([k, v]) => `${k} ${v}`)
          .join(' · ') || 'none';
      return {
        kind: 'notice',
        data: {
          level: f.probation.length || Object.keys(f.openAlerts).length ? 'warning' : 'info',
          title: `Fleet: ${f.total} agents`,
          text: [
            `Status: ${list(f.byStatus)}`,
            `Business units: ${list(f.byBusinessUnit)}`,
            `Risk tiers: ${list(f.byRiskTier)}`,
            `Open alerts: ${list(f.openAlerts)}`,
            `On probation: ${f.probation.map((p) => p.name).join(', ') || 'none'}`,
            `Cost this month $${f.cost.thisMonth} (last month $${f.cost.lastMonth}); value delivered $${f.value.valueUSD} from ${f.value.tasksThisMonth} tasks${f.value.roi !== null ? ` (${f.value.roi}× cost)` : ''}`,
            'Charts and the compliance gaps: send "dashboard" for a private link.',
          ].join('\n'),
        },
      };
    }
    if (command.name === 'dashboard') {
      assertDashboardReader(this.org, person.email);
      const url = `${this.services.dashboard.publicUrl}/dashboard?token=${this.services.dashboard.links.issue(person.email)}`;
      return { kind: 'notice', data: { level: 'info', title: 'Your dashboard link', text: `${url}\nValid for 15 minutes, for you only.` } };
    }
    if (command.name === 'compliance') {
      const report = await this.services.governance.complianceReport(person.email, command.regulation);
      const lines = report.regulations.map(
        (r) =>
          `${r.regulation.toUpperCase()}: ${r.agents.length} agent(s)${r.agents.length ? ` — ${r.agents.map((a) => `${a.agentName} (${a.dataClasses.join(', ')}${a.personalScopes.length ? `; personal-data scopes ${a.personalScopes.join(', ')}` : ''}${a.dpoApprovalOnRecord ? '; DPO approved' : ''})`).join('; ')}` : ''}`,
      );
      const gaps = report.gaps.map((g) => `⚠️ ${g.detail} Sponsors: ${g.sponsors.join(', ')}.`);
      return {
        kind: 'notice',
        data: {
          level: report.gaps.length ? 'warning' : 'success',
          title: `Compliance report${command.regulation ? ` (${command.regulation.toUpperCase()})` : ''}: ${report.gaps.length} gap(s)`,
          text: [
            ...lines,
            `Raw telemetry kept ${report.rawEventRetentionDays} days.`,
            ...(gaps.length ? ['Gaps:', ...gaps] : ['No gaps.']),
          ].join('\n'),
        },
      };
    }
    const agent = (await this.services.commands.showAgent(person.email, command.agent)).agent;
    const since = command.days ? new Date(Date.now() - command.days * 86_400_000) : undefined;
    const { entries } = await this.services.governance.decisions(person.email, agent.id, {
      ...(since ? { since } : {}),
      ...(command.outcome ? { outcome: command.outcome } : {}),
      limit: 15,
    });
    return {
      kind: 'notice',
      data: {
        level: 'info',
        title: `Decisions of ${agent.name}: the ${entries.length} most recent${command.outcome ? ` (${command.outcome})` : ''}`,
        text: entries.length
          ? entries
              .map(
                (e) =>
                  `${e.time.slice(0, 16).replace('T', ' ')} · ${e.outcome}${e.correctness !== undefined ? ` · correct ${e.correctness}` : ''} · ${Math.round(e.latencyMs)} ms · $${e.costUSD.toFixed(4)}${e.segment ? ` · ${e.segment}` : ''} — ${e.summary}`,
              )
              .join('\n')
          : 'No decisions recorded in that window.',
      },
    };
  }
}
