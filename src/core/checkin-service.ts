import { createHash } from 'node:crypto';
import type { CatalogRole, OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail, roleById } from '../config/directory.js';
import { AGENT_HOLDER, type AgentRecord, type AgentRepository } from './agents.js';
import type { AlertService } from './alerts.js';
import type { AuditInput } from './audit.js';
import {
  assessCheckIn,
  findingInWords,
  sumWindow,
  type CheckInResult,
  type MeasuredAccuracy,
  type RollupLike,
} from './checkin-assessment.js';
import { NotFoundError } from './errors.js';
import type { OutgoingCard } from './notifications.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import { CHAT_SEND_EFFECT, type ChatSend } from './chat-effects.js';
import type { Outbox } from './outbox.js';
import type { HolderRef, PendingEffect } from './ports.js';
import { canTransition } from './lifecycle.js';
import { newCheckInId, trustedId, type AgentId, type CheckInId, type RunId } from './ids.js';
import { memoized } from './memo.js';

/** The holder kind of check-in records in the outbox: a check-in's audit entry and review cards, a decision's entry. */
export const CHECKIN_HOLDER = 'checkin';

/** The outbox effect of a Retrain choice: the retraining is asked for (sponsors get Start / Postpone). */
export const CHECKIN_RETRAIN_EFFECT = 'checkin.retrain';

/** Asks for an agent's retraining (see Development.requestRetraining); unchanged when one is already due or under way. */
export interface RetrainingRequester {
  requestRetraining(actorEmail: string, agentId: AgentId, why: string): Promise<unknown>;
}

/** The outbox effect of a Retire choice: the retirement flow starts (its run id chosen with the choice). */
export const CHECKIN_RETIRE_EFFECT = 'checkin.retire';

/** Starts an agent's retirement (see Retirement.start) as run `runId`; starting the same run again changes nothing. */
export interface RetirementStarter {
  allocateRunId(): string;
  startRetirement(actorEmail: string, agentId: AgentId, reason: string, runId: RunId): Promise<unknown>;
}

const DAY = 86_400_000;

export interface CheckInRecord extends CheckInResult {
  id: CheckInId;
  agentId: AgentId;
  at: string;
  window: { baselineFrom: string; currentFrom: string; to: string };
  decision?: { choice: 'keep' | 'retrain' | 'retire'; by: string; at: string };
  /** Daily accuracy behind `trend`, by UTC day (yyyy-mm-dd), for charts; absent on older records. */
  trendSeries?: Array<{ day: string; accuracy: number }>;
}

/** Rollups and dormancy facts a check-in reads (the telemetry store implements it). */
export interface TelemetryReader {
  rollups(agentId: AgentId, granularity: 'day', from: Date, to: Date): Promise<Array<RollupLike & { start: Date }>>;
  /** Daily rollups of many agents in [from, to), oldest first per agent, in one read. */
  dailyRollupsOf(agentIds: readonly AgentId[], from: Date, to: Date): Promise<Map<string, Array<RollupLike & { start: Date }>>>;
  /** The newest event time of each of these agents that has sent any, in one read. */
  lastEventsOf(agentIds: readonly AgentId[]): Promise<Map<string, Date>>;
}

/** A sweep's hold on one agent's check-in due at one time. */
export interface CheckInClaim {
  /** `agentId:due time` (or `agentId:first`): unique, so one sweep of all replicas holds it. */
  key: string;
  agentId: AgentId;
}

export interface CheckInRepository {
  /** Stores a new record with `effects` in its outbox (one write). */
  save(record: CheckInRecord, effects?: readonly PendingEffect[]): Promise<void>;
  get(id: CheckInId): Promise<CheckInRecord | undefined>;
  latest(agentId: AgentId): Promise<CheckInRecord | undefined>;
  /** Agents whose latest check-in has this verdict; `any`: every agent with a check-in. */
  agentsByLastVerdict(verdict: 'healthy' | 'watch' | 'degraded' | 'any'): Promise<string[]>;
  listForAgent(agentId: AgentId): Promise<CheckInRecord[]>;
  /** Records the sponsor's decision once (a conditional update, with `effects` in the record's outbox); false when one was recorded already. */
  decide(id: CheckInId, decision: NonNullable<CheckInRecord['decision']>, effects?: readonly PendingEffect[]): Promise<boolean>;
  /** Each agent's next due time, for the agents that have had a check-in scheduled. */
  dueTimes(agentIds: readonly AgentId[]): Promise<Map<string, Date>>;
  /**
   * Claims check-ins with one unique insert per key, in one write: resolves the keys this sweep
   * now holds (a key another sweep holds is skipped). A claim lasts until `leaseUntil`.
   */
  claim(claims: readonly CheckInClaim[], leaseUntil: Date): Promise<Set<string>>;
  /** Forgets claims whose lease ran out (their sweep died): their check-ins can be claimed again. */
  releaseExpiredClaims(now: Date): Promise<void>;
  /**
   * Stores new records in one write (ids are unique), each with its `effects` (by record id) in
   * its outbox; resolves the ids that were stored already (they keep theirs).
   */
  saveMany(records: readonly CheckInRecord[], effects?: ReadonlyMap<string, readonly PendingEffect[]>): Promise<Set<string>>;
  getMany(ids: readonly string[]): Promise<CheckInRecord[]>;
  /** Records with the effects still in their outbox, in one read. */
  getManyWithEffects(ids: readonly string[]): Promise<Array<{ record: CheckInRecord; effects: PendingEffect[] }>>;
  /** Moves each agent's next due time and releases the claims, in two writes. */
  complete(next: ReadonlyArray<{ agentId: AgentId; nextAt: Date }>, claimKeys: readonly string[]): Promise<void>;
}

/** Roster's own measurements of agents (scheduled re-runs of their role's suite). */
export interface MeasuredReader {
  /** The latest measured accuracy of each agent's live version that has a completed re-run, in one read. */
  latestOf(agents: readonly AgentRecord[]): Promise<Map<string, MeasuredAccuracy>>;
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
  /** Where a single check-in's and a decision's effects are stored with the change (Roster's shared outbox). */
  outbox: Outbox;
  presenter: CheckInPresenter;
  /** Measured accuracy from scheduled re-runs; check-ins read telemetry only without it. */
  measured?: MeasuredReader;
  /**
   * Who starts a retraining when a sponsor chooses Retrain (Roster's development service). With
   * it, the choice is stored with a {@link CHECKIN_RETRAIN_EFFECT} that asks for the retraining.
   */
  retraining?: RetrainingRequester;
  /**
   * Who starts a retirement when a sponsor chooses Retire (Roster's retirement service). With it,
   * the choice is stored with a {@link CHECKIN_RETIRE_EFFECT} that starts the retirement flow.
   */
  retiring?: RetirementStarter;
  clock?: () => Date;
  /** Agents a sweep handles per round of reads and writes (default 250). */
  sweepChunkSize?: number;
  /** Review cards in flight at once during a sweep (default 8). */
  cardConcurrency?: number;
  /** How long a sweep's claim on a check-in holds before another sweep may redo it (default 15 minutes). */
  claimLeaseMs?: number;
}

/** What a sweep did. */
export interface SweepResult {
  ran: number;
  dormant: number;
  ownerless: number;
}

interface Due {
  agent: AgentRecord;
  role: CatalogRole;
  key: string;
}

/** The windows of a check-in: the last `windowDays` against the two windows before, and 30 days of trend. */
function windowsOf(role: CatalogRole, now: Date) {
  const windowDays = Math.max(1, Math.min(14, Math.round(role.checkInCadence.ms / DAY)));
  const to = new Date(Math.floor(now.getTime() / DAY) * DAY);
  const currentFrom = new Date(to.getTime() - windowDays * DAY);
  const baselineFrom = new Date(currentFrom.getTime() - 2 * windowDays * DAY);
  const trendFrom = new Date(to.getTime() - 30 * DAY);
  return {
    windowDays,
    to,
    currentFrom,
    baselineFrom,
    trendFrom,
    readFrom: new Date(Math.min(baselineFrom.getTime(), trendFrom.getTime())),
  };
}

/** The UTC day (yyyy-mm-dd) of an instant, as `toISOString().slice(0, 10)`, remembered: a sweep's agents share the same few dozen days. */
const utcDay = memoized((ms: number) => new Date(ms).toISOString().slice(0, 10));

/** The same claim always gives the same check-in id, so a redone check-in is stored once. */
function checkInIdFor(claimKey: string): CheckInId {
  return trustedId('CheckInId', `chk_${createHash('sha256').update(claimKey).digest('hex').slice(0, 16)}`);
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
    const { retiring, retraining } = deps;
    if (retiring) {
      deps.outbox.register<{ agentId: AgentId; by: string; reason: string; runId: RunId }>({
        type: CHECKIN_RETIRE_EFFECT,
        perform: async ({ agentId, by, reason, runId }) => {
          await retiring.startRetirement(by, agentId, reason, runId);
        },
      });
    }
    if (retraining) {
      deps.outbox.register<{ agentId: AgentId; by: string; why: string }>({
        type: CHECKIN_RETRAIN_EFFECT,
        perform: async ({ agentId, by, why }) => {
          await retraining.requestRetraining(by, agentId, why);
        },
      });
    }
  }

  async run(agentId: AgentId, now = this.clock()): Promise<CheckInRecord> {
    const agent = await this.deps.agents.get(agentId);
    if (!agent) throw new NotFoundError('the agent', agentId);
    const role = roleById(this.deps.org, agent.catalogRoleId);
    if (!role) throw new NotFoundError('the catalog role', agent.catalogRoleId);
    const w = windowsOf(role, now);
    const daily = await this.deps.telemetry.rollups(agent.id, 'day', w.readFrom, w.to);
    const measured = await this.measuredOf([agent]);
    const record = this.assess(agent, role, daily, now, newCheckInId(), measured.get(agent.id));
    const { outbox } = this.deps;
    // The review cards show the status the check-in moves the agent to; they go out with the
    // record's audit entry, stored with the record itself.
    const moveTo = this.moveOf(agent, record);
    const shown = moveTo ? { ...agent, status: moveTo } : agent;
    const effects: PendingEffect[] = [
      outbox.effect<AuditInput>(AUDIT_EFFECT, { ...completedEntry(agent, record), at: now }),
      ...agent.sponsors.map((sponsor) =>
        outbox.effect<ChatSend>(CHAT_SEND_EFFECT, { to: sponsor, card: this.deps.presenter.checkIn(record, shown, sponsor) }),
      ),
    ];
    await this.deps.checkins.save(record, effects);
    if (moveTo) {
      const moved = [outbox.effect<AuditInput>(AUDIT_EFFECT, { ...statusEntry(agent, agent.status, moveTo, record), at: now })];
      if (await this.deps.agents.transition(agent.id, agent.status, moveTo, {}, moved)) {
        await outbox.settle({ kind: AGENT_HOLDER, id: agent.id }, moved, 'checkin.moved');
      }
    }
    await this.raiseFindings(agent, record);
    await outbox.settle({ kind: CHECKIN_HOLDER, id: record.id }, effects, 'checkin.completed');
    return record;
  }

  /**
   * Runs every check-in that is due; also flags dormant and ownerless agents. Agents go in chunks:
   * per chunk a few reads and writes for all its agents (due times, claims, rollups, results,
   * audit entries, next due times), so the cost grows with the number of agents and not with
   * raw event volume. `afterChunk` runs between chunks (the job extends its lock there).
   */
  async sweep(now = this.clock(), afterChunk?: () => Promise<void>): Promise<SweepResult> {
    const size = Math.max(1, this.deps.sweepChunkSize ?? 250);
    const total: SweepResult = { ran: 0, dormant: 0, ownerless: 0 };
    await this.deps.checkins.releaseExpiredClaims(now);
    const chunk = async (agents: readonly AgentRecord[]): Promise<void> => {
      const result = await this.sweepChunk(agents, now);
      total.ran += result.ran;
      total.dormant += result.dormant;
      total.ownerless += result.ownerless;
      await afterChunk?.();
    };
    // The agents are read a page at a time and swept as they come (the same chunks as a whole
    // list would make): a sweep holds a page and a chunk of agents, not every active agent, so
    // the heap it needs does not grow with the fleet.
    let waiting: AgentRecord[] = [];
    for await (const page of this.deps.agents.listPages({ status: ['active', 'probation'] })) {
      waiting = waiting.length > 0 ? [...waiting, ...page] : page;
      let offset = 0;
      for (; waiting.length - offset >= size; offset += size) await chunk(waiting.slice(offset, offset + size));
      waiting = waiting.slice(offset);
    }
    if (waiting.length > 0) await chunk(waiting);
    return total;
  }

  private async sweepChunk(chunk: readonly AgentRecord[], now: Date): Promise<SweepResult> {
    const due = await this.claimDue(chunk, now);
    let ran = 0;
    if (due.length > 0) {
      let records = await this.assessDue(due, now);
      const { outbox } = this.deps;
      // Each record is stored with its audit entry and review cards in its outbox: a crash after
      // the insert loses neither (the worker performs them). The cards show the status the
      // check-in moves the agent to, as a single check-in's do.
      const effectsOf = new Map(
        due.map((d, i) => {
          const record = records[i]!;
          const moveTo = this.moveOf(d.agent, record);
          const shown = moveTo ? { ...d.agent, status: moveTo } : d.agent;
          return [
            record.id,
            [
              outbox.effect<AuditInput>(AUDIT_EFFECT, { ...completedEntry(d.agent, record), at: now }),
              ...d.agent.sponsors.map((sponsor) =>
                outbox.effect<ChatSend>(CHAT_SEND_EFFECT, {
                  to: sponsor,
                  card: this.deps.presenter.checkIn(record, shown, sponsor),
                  quiet: true,
                }),
              ),
            ] as PendingEffect[],
          ] as const;
        }),
      );
      // Stored already: a sweep that died after storing them; theirs stand with what is left in their outbox.
      const stored = await this.deps.checkins.saveMany(records, effectsOf);
      if (stored.size > 0) {
        const earlier = await this.deps.checkins.getManyWithEffects([...stored]);
        const byId = new Map(earlier.map((e) => [e.record.id, e]));
        records = records.map((r) => byId.get(r.id)?.record ?? r);
        for (const { record, effects } of earlier) effectsOf.set(record.id, effects);
      }
      const batch: Array<{ holder: HolderRef; effects: readonly PendingEffect[] }> = [];
      for (const [i, d] of due.entries()) {
        const record = records[i]!;
        batch.push({ holder: { kind: CHECKIN_HOLDER, id: record.id }, effects: effectsOf.get(record.id) ?? [] });
        const moveTo = this.moveOf(d.agent, record);
        if (!moveTo) continue;
        // The status change carries its own entry in the agent's outbox.
        const moved = [outbox.effect<AuditInput>(AUDIT_EFFECT, { ...statusEntry(d.agent, d.agent.status, moveTo, record), at: now })];
        if (await this.deps.agents.transition(d.agent.id, d.agent.status, moveTo, {}, moved))
          batch.push({ holder: { kind: AGENT_HOLDER, id: d.agent.id }, effects: moved });
      }
      // Performed together: one keyed append for all the entries, one write each to claim and record the cards.
      await outbox.settleMany(batch, 'checkin.swept', { concurrency: this.deps.cardConcurrency ?? 8 });
      for (const [i, d] of due.entries()) await this.raiseFindings(d.agent, records[i]!);
      await this.deps.checkins.complete(
        due.map((d) => ({ agentId: d.agent.id, nextAt: new Date(now.getTime() + d.role.checkInCadence.ms) })),
        due.map((d) => d.key),
      );
      ran = due.length;
    }
    const lastEvents = await this.deps.telemetry.lastEventsOf(chunk.map((a) => a.id));
    let dormant = 0;
    let ownerless = 0;
    for (const agent of chunk) {
      const last = lastEvents.get(agent.id) ?? new Date(agent.statusChangedAt);
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

  /**
   * The check-ins of a chunk's due agents. The rollups are read last and used at once: the
   * chunk's thousands of them are garbage before the next round trip, not carried through it.
   */
  private async assessDue(due: readonly Due[], now: Date): Promise<CheckInRecord[]> {
    const measured = await this.measuredOf(due.map((d) => d.agent));
    const to = windowsOf(due[0]!.role, now).to;
    const readFrom = new Date(Math.min(...due.map((d) => windowsOf(d.role, now).readFrom.getTime())));
    const daily = await this.deps.telemetry.dailyRollupsOf(
      due.map((d) => d.agent.id),
      readFrom,
      to,
    );
    return due.map((d) => this.assess(d.agent, d.role, daily.get(d.agent.id) ?? [], now, checkInIdFor(d.key), measured.get(d.agent.id)));
  }

  /** The chunk's agents whose check-in is due, claimed by this sweep. */
  private async claimDue(chunk: readonly AgentRecord[], now: Date): Promise<Due[]> {
    const withRole = chunk.flatMap((agent) => {
      const role = roleById(this.deps.org, agent.catalogRoleId);
      return role ? [{ agent, role }] : [];
    });
    if (withRole.length === 0) return [];
    const dueTimes = await this.deps.checkins.dueTimes(withRole.map((x) => x.agent.id));
    const candidates = withRole.flatMap(({ agent, role }) => {
      const at = dueTimes.get(agent.id);
      // The first sweep that sees an agent runs its first check-in.
      if (at && at > now) return [];
      return [{ agent, role, key: `${agent.id}:${at ? at.toISOString() : 'first'}` }];
    });
    if (candidates.length === 0) return [];
    const held = await this.deps.checkins.claim(
      candidates.map((c) => ({ key: c.key, agentId: c.agent.id })),
      new Date(now.getTime() + (this.deps.claimLeaseMs ?? 15 * 60_000)),
    );
    return candidates.filter((c) => held.has(c.key));
  }

  private async measuredOf(agents: readonly AgentRecord[]): Promise<Map<string, MeasuredAccuracy>> {
    const reader = this.deps.measured;
    return reader && agents.length > 0 ? reader.latestOf(agents) : new Map();
  }

  private assess(
    agent: AgentRecord,
    role: CatalogRole,
    daily: ReadonlyArray<RollupLike & { start: Date }>,
    now: Date,
    id: CheckInId,
    measured?: MeasuredAccuracy,
  ): CheckInRecord {
    const w = windowsOf(role, now);
    // One pass over the rollups (oldest first) sorts each into the windows it falls in.
    const [baselineFrom, currentFrom, trendFrom, to] = [
      w.baselineFrom.getTime(),
      w.currentFrom.getTime(),
      w.trendFrom.getTime(),
      w.to.getTime(),
    ];
    const baseline: Array<RollupLike & { start: Date }> = [];
    const current: Array<RollupLike & { start: Date }> = [];
    const trendSeries: Array<{ day: string; accuracy: number }> = [];
    for (const d of daily) {
      const at = d.start.getTime();
      if (at >= to) continue;
      if (at >= currentFrom) current.push(d);
      else if (at >= baselineFrom) baseline.push(d);
      if (at >= trendFrom && d.correctCount > 0) trendSeries.push({ day: utcDay(at), accuracy: d.correctSum / d.correctCount });
    }
    const result = assessCheckIn(
      role.drift,
      sumWindow(baseline, 2 * w.windowDays),
      sumWindow(current, w.windowDays),
      trendSeries.map((d) => d.accuracy),
      measured,
    );
    return {
      ...result,
      trendSeries,
      id,
      agentId: agent.id,
      at: now.toISOString(),
      window: { baselineFrom: w.baselineFrom.toISOString(), currentFrom: w.currentFrom.toISOString(), to: w.to.toISOString() },
    };
  }

  /** The status a check-in moves the agent to: degraded sends an active agent to probation, healthy brings it back. */
  private moveOf(agent: AgentRecord, record: CheckInRecord): 'probation' | 'active' | undefined {
    if (record.verdict === 'degraded' && agent.status === 'active') return 'probation';
    if (record.verdict === 'healthy' && agent.status === 'probation') return 'active';
    return undefined;
  }

  /** One alert per kind and check-in: drift findings together, fairness on its own. */
  private async raiseFindings(agent: AgentRecord, record: CheckInRecord): Promise<void> {
    const degraded = record.findings.filter((x) => x.severity === 'degraded');
    for (const kind of ['drift', 'fairness'] as const) {
      const group = degraded.filter((f) => (f.metric === 'fairness' ? 'fairness' : 'drift') === kind);
      if (group.length === 0) continue;
      await this.deps.alerts.raise({
        kind,
        agentId: agent.id,
        severity: group.some((f) => ['fairness', 'accuracy', 'measured-accuracy'].includes(f.metric)) ? 'critical' : 'warning',
        summary: `${agent.name}: ${group.map(findingInWords).join(' ')}`,
        details: {
          agentName: agent.name,
          checkInId: record.id,
          findings: group.map((f) => ({
            metric: f.metric,
            method: f.method,
            statistic: f.statistic,
            threshold: f.threshold,
            summary: f.summary,
          })),
          ...(record.trendSeries?.length ? { trend: record.trendSeries } : {}),
        },
      });
    }
  }

  /**
   * Records the sponsor's answer to a review card: Keep, Retrain or Retire, once (a second answer
   * returns the check-in as first decided). Who may answer is the command bus's to check
   * (`checkin.decide`, policies.ts), before this is called.
   */
  async recordDecision(
    person: Person,
    record: CheckInRecord,
    agent: AgentRecord,
    choice: 'keep' | 'retrain' | 'retire',
  ): Promise<{ record: CheckInRecord; agent: AgentRecord }> {
    const decision = { choice, by: person.email, at: this.clock().toISOString() } as const;
    const effects: PendingEffect[] = [
      this.deps.outbox.effect<AuditInput>(AUDIT_EFFECT, {
        actor: { kind: 'person', email: person.email },
        action: `checkin.${choice}`,
        subject: { type: 'agent', id: agent.id, agentId: agent.id },
        details: { checkInId: record.id, verdict: record.verdict },
        at: this.clock(),
      }),
    ];
    // The retraining is asked for with the choice stored, so a crash between the two cannot lose it.
    if (choice === 'retrain' && this.deps.retraining) {
      effects.push(
        this.deps.outbox.effect(CHECKIN_RETRAIN_EFFECT, {
          agentId: agent.id,
          by: person.email,
          why: `Retrain chosen at check-in ${record.id} (verdict ${record.verdict}${record.findings[0] ? `: ${findingInWords(record.findings[0])}` : ''}).`,
        }),
      );
    }
    // So is the retirement, as a run of a known id (the effect performed twice starts it once);
    // an agent already retiring (or retired) is left as it is.
    const retiring = choice === 'retire' && canTransition(agent.status, 'retiring') ? this.deps.retiring : undefined;
    if (retiring) {
      effects.push(
        this.deps.outbox.effect(CHECKIN_RETIRE_EFFECT, {
          agentId: agent.id,
          by: person.email,
          reason: `Retire chosen at check-in ${record.id} (verdict ${record.verdict}).`,
          runId: retiring.allocateRunId(),
        }),
      );
    }
    if (!(await this.deps.checkins.decide(record.id, decision, effects))) {
      const existing = (await this.deps.checkins.get(record.id))!;
      return { record: existing, agent };
    }
    await this.deps.outbox.settle({ kind: CHECKIN_HOLDER, id: record.id }, effects, 'checkin.decided');
    return { record: { ...record, decision }, agent };
  }
}

function completedEntry(agent: AgentRecord, record: CheckInRecord): AuditInput {
  return {
    actor: { kind: 'system', name: 'supervision' },
    action: 'checkin.completed',
    subject: { type: 'agent', id: agent.id, agentId: agent.id },
    details: {
      checkInId: record.id,
      verdict: record.verdict,
      recommendation: record.recommendation,
      findings: record.findings.map((f) => f.summary),
      ...(record.measured
        ? {
            measured: {
              evalRunId: record.measured.evalRunId,
              accuracy: record.measured.accuracy,
              baseline: record.measured.baseline?.accuracy,
            },
          }
        : {}),
    },
  };
}

function statusEntry(agent: AgentRecord, from: string, to: string, record: CheckInRecord): AuditInput {
  return {
    actor: { kind: 'system', name: 'supervision' },
    action: 'agent.status-changed',
    subject: { type: 'agent', id: agent.id, agentId: agent.id },
    details: {
      from,
      to,
      checkInId: record.id,
      reason: to === 'probation' ? 'check-in verdict degraded' : 'check-in verdict healthy again',
    },
  };
}
