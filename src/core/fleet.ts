import type { OrgConfig } from '../config/schemas.js';
import { businessUnitById, roleById } from '../config/directory.js';
import type { AgentRepository } from './agents.js';
import { isLinkSignature, linkSignature } from './link-signature.js';
import { sparkline } from './stats.js';
import { accuracyGuides, type ChartGuide } from './trend-chart.js';

const DAY = 86_400_000;

export interface FleetView {
  generatedAt: string;
  total: number;
  byStatus: Record<string, number>;
  byBusinessUnit: Record<string, number>;
  byRiskTier: Record<string, number>;
  openAlerts: Record<string, number>;
  probation: Array<{ agentId: string; name: string }>;
  cost: { thisMonth: number; lastMonth: number };
  value: { tasksThisMonth: number; valueUSD: number; roi: number | null };
  /**
   * Each live agent's daily accuracy over the last 30 days (`days`: UTC days, yyyy-mm-dd, one per
   * value), with its baseline and the thresholds below which a check-in reports drift.
   */
  trends: Array<{ agentId: string; name: string; accuracy: number[]; days: string[]; guides: ChartGuide[]; sparkline: string }>;
}

export interface FleetDeps {
  org: OrgConfig;
  agents: AgentRepository;
  openAlerts(): Promise<Array<{ severity: string }>>;
  dailyRollups(
    agentId: string,
    from: Date,
    to: Date,
  ): Promise<
    Array<{ start: Date; count: number; costSum: number; correctSum: number; correctCount: number; outcomes: { success: number } }>
  >;
  clock?: () => Date;
}

/** The fleet at a glance for IT: counts, alerts, probation, cost month over month and value delivered. */
export async function fleetView(deps: FleetDeps): Promise<FleetView> {
  const now = (deps.clock ?? (() => new Date()))();
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const lastMonthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const agents = await deps.agents.list({});
  const count = (keys: string[]) => keys.reduce<Record<string, number>>((acc, k) => ((acc[k] = (acc[k] ?? 0) + 1), acc), {});
  const live = agents.filter((a) => !['retired', 'rejected'].includes(a.status));
  let thisMonth = 0;
  let lastMonth = 0;
  let tasks = 0;
  let value = 0;
  const trends: FleetView['trends'] = [];
  for (const agent of live) {
    const days = await deps.dailyRollups(agent.id, lastMonthStart, new Date(now.getTime() + DAY));
    const role = roleById(deps.org, agent.catalogRoleId);
    for (const d of days) {
      if (d.start >= monthStart) {
        thisMonth += d.costSum;
        tasks += d.outcomes.success;
        value += d.outcomes.success * (role?.valuePerTaskUSD ?? 0);
      } else lastMonth += d.costSum;
    }
    const recentDays = days.filter((d) => d.start.getTime() >= now.getTime() - 30 * DAY && d.correctCount > 0);
    const recent = recentDays.map((d) => d.correctSum / d.correctCount);
    if (recent.length)
      trends.push({
        agentId: agent.id,
        name: agent.name,
        accuracy: recent,
        days: recentDays.map((d) => d.start.toISOString().slice(0, 10)),
        guides: accuracyGuides(deps.org, agent),
        sparkline: sparkline(recent),
      });
  }
  return {
    generatedAt: now.toISOString(),
    total: agents.length,
    byStatus: count(agents.map((a) => a.status)),
    byBusinessUnit: count(live.map((a) => businessUnitById(deps.org, a.businessUnit)?.name ?? a.businessUnit)),
    byRiskTier: count(live.map((a) => roleById(deps.org, a.catalogRoleId)?.riskTier ?? 'unknown')),
    openAlerts: count((await deps.openAlerts()).map((a) => a.severity)),
    probation: agents.filter((a) => a.status === 'probation').map((a) => ({ agentId: a.id, name: a.name })),
    cost: { thisMonth: round(thisMonth), lastMonth: round(lastMonth) },
    value: { tasksThisMonth: tasks, valueUSD: round(value), roi: thisMonth > 0 ? round(value / thisMonth) : null },
    trends,
  };
}

const round = (n: number) => Math.round(n * 100) / 100;

// The reader rule lives with every other who-may rule; re-exported for the importers of this module.
export { isDashboardReader } from './policies.js';

/**
 * Signed dashboard links: `<email>.<expiry ms>.<HMAC-SHA256>` in base64url, valid for 15 minutes
 * and bound to the person; anything else is refused.
 */
export class DashboardLinks {
  constructor(
    private readonly secret: string,
    private readonly ttlMs = 15 * 60_000,
  ) {}

  issue(email: string, now = Date.now()): string {
    const payload = Buffer.from(`${email}\n${now + this.ttlMs}`).toString('base64url');
    return `${payload}.${linkSignature(this.secret, payload)}`;
  }

  /** The person the token was issued to, or undefined when it is forged, altered or expired. */
  verify(token: unknown, now = Date.now()): string | undefined {
    if (typeof token !== 'string' || token.length > 1000) return undefined;
    const [payload, mac] = token.split('.');
    if (!payload || !mac) return undefined;
    if (!isLinkSignature(this.secret, payload, mac)) return undefined;
    const [email, expiry] = Buffer.from(payload, 'base64url').toString().split('\n');
    if (!email || !expiry || !(Number(expiry) > now)) return undefined;
    return email;
  }
}
