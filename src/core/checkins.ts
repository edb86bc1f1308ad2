import { randomBytes } from 'node:crypto';
import type { OrgConfig } from '../config/schemas.js';
import { findPersonByEmail, hasRole, roleById } from '../config/directory.js';
import type { AgentRecord, AgentRepository } from './agents.js';
import type { AlertService } from './alerts.js';
import type { AuditLog } from './audit.js';
import { assessCheckIn, sumWindow, type CheckInResult, type RollupLike } from './checkin.js';
import { ForbiddenError, InvalidInputError, NotFoundError } from './errors.js';
import type { Notifier, OutgoingCard } from './notifications.js';

const DAY = 86_400_000;

export interface CheckInRecord extends CheckInResult {
  id: string;
  agentId: string;
  at: string;
  window: { baselineFrom: string; currentFrom: string; to: string };
  decision?: { choice: 'keep' | 'retrain' | 'retire'; by: string; at: string };
}

/** Rollups and dormancy facts a check-in reads (the telemetry store implements it). */
export interface TelemetryReader {
  rollups(agentId: string, granularity: 'day', from: Date, to: Date): Promise<Array<RollupLike & { start: Date }>>;
  lastEventAt(agentId: string): Promise<Date | undefined>;
}

export interface CheckInRepository {
  save(record: CheckInRecord): Promise<void>;
  get(id: string): Promise<CheckInRecord | undefined>;
  latest(agentId: string): Promise<CheckInRecord | undefined>;
  listForAgent(agentId: string): Promise<CheckInRecord[]>;
  /** Records the sponsor's decision once (a conditional update); false when one was recorded already. */
  decide(id: string, decision: NonNullable<CheckInRecord['decision']>): Promise<boolean>;
  /** Claims the agent's check-in due at or before `now`, moving it to `next` (exactly once across replicas). */
  claimDue(agentId: string, now: Date, next: Date): Promise<boolean>;
}

export interface CheckInPresenter {
  checkIn(record: CheckInRecord, agent: AgentRecord, viewer: string): OutgoingCard;
}

export interface CheckInServiceDeps {
  org: OrgConfig;
  agents: AgentRepository;
  telemetry: TelemetryReader;
  checkins: CheckInRepository;
  alerts: AlertService;
  audit: AuditLog;
  notifier: Notifier;
  presenter: CheckInPresenter;
  clock?: () => Date;
}

/**
 * The periodic performance review: per the catalog cadence, the last window (the cadence, at most
 * 14 days) against the two windows before it, from daily rollups. Degraded moves the agent to
 * probation and pages on-call; recovery moves it back; both are audited. The review card goes to
 * the sponsors with Keep / Retrain / Retire.
 */
export class CheckInService {
  private readonly clock: () => Date;

  constructor(private readonly deps: CheckInServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  async run(agentId: string, now = this.clock()): Promise<CheckInRecord> {
    const agent = await this.deps.agents.get(agentId);
    if (!agent) throw new NotFoundError('the agent', agentId);
    const role = roleById(this.deps.org, agent.catalogRoleId);
    if (!role) throw new NotFoundError('the catalog role', agent.catalogRoleId);
    const windowDays = Math.max(1, Math.min(14, Math.round(role.checkInCadence.ms / DAY)));
    const to = new Date(Math.floor(now.getTime() / DAY) * DAY);
    const currentFrom = new Date(to.getTime() - windowDays * DAY);
    const baselineFrom = new Date(currentFrom.getTime() - 2 * windowDays * DAY);
    const trendFrom = new Date(to.getTime() - 30 * DAY);
    const daily = await this.deps.telemetry.rollups(agent.id, 'day', new Date(Math.min(baselineFrom.getTime(), trendFrom.getTime())), to);
    const inRange = (from: Date, until: Date) => daily.filter((d) => d.start >= from && d.start < until);
    const result = assessCheckIn(
      role.drift,
      sumWindow(inRange(baselineFrom, currentFrom), 2 * windowDays),
      sumWindow(inRange(currentFrom, to), windowDays),
      inRange(trendFrom, to)
        .filter((d) => d.correctCount > 0)
        .map((d) => d.correctSum / d.correctCount),
    );
    const record: CheckInRecord = {
      ...result,
      id: `chk_${randomBytes(8).toString('hex')}`,
      agentId: agent.id,
      at: now.toISOString(),
      window: { baselineFrom: baselineFrom.toISOString(), currentFrom: currentFrom.toISOString(), to: to.toISOString() },
    };
    await this.deps.checkins.save(record);
    await this.deps.audit.append({
      actor: { kind: 'system', name: 'supervision' },
      action: 'checkin.completed',
      subject: { type: 'agent', id: agent.id, agentId: agent.id },
      details: {
        checkInId: record.id,
        verdict: record.verdict,
        recommendation: record.recommendation,
        findings: record.findings.map((f) => f.summary),
      },
    });

    if (
      record.verdict === 'degraded' &&
      agent.status === 'active' &&
      (await this.deps.agents.transition(agent.id, 'active', 'probation'))
    ) {
      await this.transitioned(agent, 'active', 'probation', record);
    } else if (
      record.verdict === 'healthy' &&
      agent.status === 'probation' &&
      (await this.deps.agents.transition(agent.id, 'probation', 'active'))
    ) {
      await this.transitioned(agent, 'probation', 'active', record);
    }
    // One alert per kind and check-in: drift findings together, fairness on its own.
    const degraded = record.findings.filter((x) => x.severity === 'degraded');
    for (const kind of ['drift', 'fairness'] as const) {
      const group = degraded.filter((f) => (f.metric === 'fairness' ? 'fairness' : 'drift') === kind);
      if (group.length === 0) continue;
      await this.deps.alerts.raise({
        kind,
        agentId: agent.id,
        severity: group.some((f) => f.metric === 'fairness' || f.metric === 'accuracy') ? 'critical' : 'warning',
        summary: `${agent.name}: ${group.map((f) => f.summary).join('; ')}`,
        details: {
          agentName: agent.name,
          checkInId: record.id,
          findings: group.map((f) => ({ metric: f.metric, method: f.method, statistic: f.statistic, threshold: f.threshold })),
        },
      });
    }
    const fresh = (await this.deps.agents.get(agent.id)) ?? agent;
    for (const sponsor of agent.sponsors) {
      await this.deps.notifier.send(sponsor, this.deps.presenter.checkIn(record, fresh, sponsor)).catch(() => undefined);
    }
    return record;
  }

  /** Runs every check-in that is due; also flags dormant and ownerless agents. */
  async sweep(now = this.clock()): Promise<{ ran: number; dormant: number; ownerless: number }> {
    let ran = 0;
    let dormant = 0;
    let ownerless = 0;
    for (const agent of await this.deps.agents.list({ status: ['active', 'probation'], limit: 0 })) {
      const role = roleById(this.deps.org, agent.catalogRoleId);
      if (role && (await this.deps.checkins.claimDue(agent.id, now, new Date(now.getTime() + role.checkInCadence.ms)))) {
        await this.run(agent.id, now);
        ran += 1;
      }
      const last = (await this.deps.telemetry.lastEventAt(agent.id)) ?? new Date(agent.statusChangedAt);
      const idleDays = (now.getTime() - last.getTime()) / DAY;
      if (idleDays >= this.deps.org.settings.dormantAgentDays) {
        dormant += 1;
        await this.deps.alerts.raise({
          kind: 'dormant',
          agentId: agent.id,
          severity: 'warning',
          summary: `${agent.name} has sent no telemetry for ${Math.floor(idleDays)} days but still holds access.`,
          details: { agentName: agent.name, lastEventAt: last.toISOString() },
        });
      }
      if (!agent.sponsors.some((s) => findPersonByEmail(this.deps.org, s))) {
        ownerless += 1;
        await this.deps.alerts.raise({
          kind: 'ownerless',
          agentId: agent.id,
          severity: 'warning',
          summary: `${agent.name} has no sponsor left in the directory.`,
          details: { agentName: agent.name, formerSponsors: agent.sponsors },
        });
      }
    }
    return { ran, dormant, ownerless };
  }

  /** The sponsor's answer to a review card: Keep, Retrain or Retire (recorded once). */
  async decide(actor: string, checkInId: string, choice: string): Promise<{ record: CheckInRecord; agent: AgentRecord }> {
    if (choice !== 'keep' && choice !== 'retrain' && choice !== 'retire') throw new InvalidInputError('Choose keep, retrain or retire.');
    const record = await this.deps.checkins.get(String(checkInId));
    if (!record) throw new NotFoundError('the check-in', String(checkInId));
    const agent = await this.deps.agents.get(record.agentId);
    if (!agent) throw new NotFoundError('the agent', record.agentId);
    const person = findPersonByEmail(this.deps.org, actor);
    if (!person || !(agent.sponsors.includes(person.email) || hasRole(person, 'it-admin'))) {
      throw new ForbiddenError(`Only ${agent.name}'s sponsors or an IT admin can decide on its review.`);
    }
    const decision = { choice, by: person.email, at: this.clock().toISOString() } as const;
    if (!(await this.deps.checkins.decide(record.id, decision))) {
      const existing = (await this.deps.checkins.get(record.id))!;
      return { record: existing, agent };
    }
    await this.deps.audit.append({
      actor: { kind: 'person', email: person.email },
      action: `checkin.${choice}`,
      subject: { type: 'agent', id: agent.id, agentId: agent.id },
      details: { checkInId: record.id, verdict: record.verdict },
    });
    return { record: { ...record, decision }, agent };
  }

  private async transitioned(agent: AgentRecord, from: string, to: string, record: CheckInRecord): Promise<void> {
    await this.deps.audit.append({
      actor: { kind: 'system', name: 'supervision' },
      action: 'agent.status-changed',
      subject: { type: 'agent', id: agent.id, agentId: agent.id },
      details: {
        from,
        to,
        checkInId: record.id,
        reason: to === 'probation' ? 'check-in verdict degraded' : 'check-in verdict healthy again',
      },
    });
  }
}
