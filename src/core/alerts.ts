import { createHash } from 'node:crypto';
import type { Escalation, OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail, roleById, rotationLevels } from '../config/directory.js';
import type { AuditInput, AuditLog } from './audit.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import { sendClaimed, type CardDeliveries } from './chat-effects.js';
import type { Outbox } from './outbox.js';
import type { PendingEffect } from './ports.js';
import { ConflictError, NotFoundError, RequestClosedError, InvalidInputError } from './errors.js';
import type { Notifier, OutgoingCard } from './notifications.js';
import { newAlertId, trustedId, type AgentId, type AlertId, type RunId } from './ids.js';

export type AlertKind = 'drift' | 'fairness' | 'error-spike' | 'dormant' | 'ownerless' | 'shadow' | 'retired-key' | 'forbidden-repeated';
export type AlertStatus = 'open' | 'acknowledged' | 'snoozed' | 'resolved';
export type AlertSeverity = 'warning' | 'critical';

export interface AlertRecord {
  id: AlertId;
  kind: AlertKind;
  /** The agent concerned (for shadow agents, the unregistered id they used). */
  agentId: AgentId;
  /**
   * What narrows the alert below its kind and agent (a forbidden action's name): one open alert
   * per kind, agent and scope.
   */
  scope?: string;
  severity: AlertSeverity;
  status: AlertStatus;
  summary: string;
  details: Record<string, unknown>;
  rotation: string;
  /** Escalation level being paged (0 = first level). */
  level: number;
  /** How many times the escalation went round all levels. */
  loops: number;
  occurrences: number;
  createdAt: string;
  updatedAt: string;
  acknowledgedBy?: string;
  acknowledgedAt?: string;
  /** The pager the acknowledgement came from (`pagerduty`, `opsgenie`); absent when it was made in Roster. */
  acknowledgedVia?: string;
  snoozedUntil?: string;
  resolvedBy?: string;
  resolvedAt?: string;
  /** The pager the resolution came from; absent when it was made in Roster. */
  resolvedVia?: string;
  version: number;
}

/** Persistence of alerts: one open alert per kind, agent and scope (a unique key), replaced by version. */
export interface AlertRepository {
  /**
   * Inserts when no open alert of this kind exists for the agent, with `effects` in its outbox;
   * else returns the open one (and stores no effects).
   */
  openOrGet(alert: AlertRecord, effects?: readonly PendingEffect[]): Promise<{ alert: AlertRecord; created: boolean }>;
  get(id: AlertId): Promise<AlertRecord | undefined>;
  /** Compare-and-set on `version`, adding `effects` to the alert's outbox in the same update; its outbox as stored, or undefined. */
  replace(alert: AlertRecord, expectedVersion: number, effects?: readonly PendingEffect[]): Promise<PendingEffect[] | undefined>;
  list(filter: { status?: AlertStatus[]; agentId?: AgentId; kind?: AlertKind }): Promise<AlertRecord[]>;
  saveMessage(alertId: AlertId, person: string, ref: Record<string, unknown>): Promise<void>;
  messages(alertId: AlertId): Promise<Array<{ person: string; ref: Record<string, unknown> }>>;
}

export interface AlertTimer {
  alertId: AlertId;
  kind: 'escalate' | 'renotify' | 'wake';
  /** The level the timer was set for: a timer for an older level is stale. */
  level: number;
  loops: number;
}

export interface AlertTimers {
  /** Schedules a timer; with `key`, scheduling it again keeps the one timer. */
  schedule(at: Date, timer: AlertTimer, key?: string): Promise<void>;
}

/** The holder kind of alerts in the outbox. */
export const ALERT_HOLDER = 'alert';
/**
 * The alert's effects: page a level (each person once, earlier cards updated), schedule the next
 * timers, update the cards sent, send the card to one person, schedule one timer.
 */
export const ALERT_EFFECTS = {
  page: 'alert.page',
  scheduleNext: 'alert.schedule-next',
  refresh: 'alert.refresh-cards',
  notify: 'alert.notify',
  timer: 'alert.timer',
  raise: 'alert.raise',
  resolveKind: 'alert.resolve-kind',
} as const;

/** The payload of the {@link ALERT_EFFECTS.resolveKind} effect: `actor`'s change ended the condition behind the agent's alerts of `kind`. */
export interface ResolveAlertsOfKind {
  agentId: AgentId;
  kind: AlertKind;
  actor: string;
}

/** What raising an alert takes; also the payload of the {@link ALERT_EFFECTS.raise} effect. */
export interface RaiseAlert {
  kind: AlertKind;
  agentId: AgentId;
  scope?: string;
  severity: AlertSeverity;
  summary: string;
  details?: Record<string, unknown>;
  /** People told besides the rotation (an agent's sponsors), when the alert is first raised. */
  notify?: string[];
  /** The id to open the alert under (random when absent); raised again under it, nothing changes. */
  id?: AlertId;
}

/**
 * A rotation's pager (PagerDuty, Opsgenie; see src/core/pager.ts): the effects that tell it about
 * an alert change, stored in the alert's outbox with the change. None for a rotation without one,
 * and none for a change that came from that pager itself.
 */
export interface AlertPagerHook {
  effects(alert: AlertRecord, action: 'trigger' | 'acknowledge' | 'resolve'): PendingEffect[];
}

/** A change to an alert made at a pager (its signed webhook), applied in Roster. */
export interface PagerOrigin {
  provider: 'pagerduty' | 'opsgenie';
  /** The pager's name, the audit entry's actor (`PagerDuty`). */
  name: string;
  /** The directory person who acted there, when known. */
  onBehalfOf?: string;
  /** How the pager named the responder, and its event or alert id, for the audit entry. */
  responder?: string;
  reference?: string;
}

export interface AlertPresenter {
  alert(alert: AlertRecord, viewer: string): OutgoingCard;
}

export interface AlertServiceDeps {
  org: OrgConfig;
  alerts: AlertRepository;
  audit: AuditLog;
  notifier: Notifier;
  timers: AlertTimers;
  presenter: AlertPresenter;
  /** Looks up an agent's catalog role, for its escalation policy. */
  roleOf(agentId: AgentId): Promise<string | undefined>;
  clock?: () => Date;
  /** Length of a policy "minute" in ms (tests shrink it to run escalations in seconds). */
  minuteMs?: number;
  /** Where the effects of alert changes are stored and performed. */
  outbox: Outbox;
  /** Which pages went out, by effect id and person. */
  deliveries: CardDeliveries;
  /** The rotations' pagers (PagerDuty, Opsgenie); chat only when absent. */
  pager?: AlertPagerHook;
}

// The alert rules live with every other who-may rule; re-exported for the importers of this module.
export { isAlertResponder, mayRegisterShadow } from './policies.js';

/** Refuses registering a shadow agent whose registration was already requested (its run is noted on the alert). */
export function assertNotBeingRegistered(alert: Pick<AlertRecord, 'agentId' | 'details'>): void {
  if (typeof alert.details.registrationRunId === 'string')
    throw new InvalidInputError(`${alert.agentId} is already being registered (request ${alert.details.registrationRunId}).`);
}

export const SNOOZE_CHOICES = { '1h': 3_600_000, '4h': 4 * 3_600_000, '24h': 24 * 3_600_000 } as const;

/**
 * Alerts and on-call: one open alert per kind and agent (raised again, it is updated, not
 * duplicated); the rotation's first level is paged, re-notified every N minutes and escalated to
 * the next level after M minutes without acknowledgement, for a bounded number of loops.
 */
export class AlertService {
  private readonly clock: () => Date;
  private readonly minute: number;

  constructor(private readonly deps: AlertServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.minute = deps.minuteMs ?? 60_000;
    this.registerPerformers();
  }

  private registerPerformers(): void {
    const { outbox } = this.deps;
    outbox.register<{ alertId: AlertId; level: number }>({
      type: ALERT_EFFECTS.page,
      perform: async ({ alertId, level }, { effectId }) => {
        const alert = await this.deps.alerts.get(alertId);
        if (!alert) return;
        await this.refreshCards(alert);
        for (const person of this.levels(alert)[level] ?? []) await this.sendOnce(alert, person.email, `${effectId}:${person.email}`);
      },
    });
    outbox.register<{ alertId: AlertId }>({
      type: ALERT_EFFECTS.refresh,
      perform: async ({ alertId }) => {
        const alert = await this.deps.alerts.get(alertId);
        if (alert) await this.refreshCards(alert);
      },
    });
    outbox.register<{ alertId: AlertId; person: string }>({
      type: ALERT_EFFECTS.notify,
      perform: async ({ alertId, person }, { effectId }) => {
        const alert = await this.deps.alerts.get(alertId);
        if (alert) await this.sendOnce(alert, person, effectId);
      },
    });
    // Another holder's change (a forbidden attempt stored with its runtime request) raises an
    // alert through its own outbox; raising is idempotent while the alert is open.
    outbox.register<RaiseAlert>({
      type: ALERT_EFFECTS.raise,
      perform: async (input, { effectId }) => {
        // The alert's id comes from the effect's, so the effect performed again finds the alert it
        // opened (even resolved since) and neither opens another nor counts a second occurrence.
        const id = trustedId('AlertId', `alr_${createHash('sha256').update(effectId).digest('hex').slice(0, 16)}`);
        if (await this.deps.alerts.get(id)) return;
        await this.raise({ ...input, id });
      },
    });
    // Another holder's change that ends an alert's condition (an ownerless agent sponsored again)
    // resolves it through its own outbox, in the name of whoever made the change: that change was
    // authorised where it was made. Resolving a resolved alert changes nothing.
    outbox.register<ResolveAlertsOfKind>({
      type: ALERT_EFFECTS.resolveKind,
      perform: async ({ agentId, kind, actor }) => {
        for (const alert of await this.deps.alerts.list({ agentId, kind, status: ['open', 'acknowledged', 'snoozed'] })) {
          await this.mutate(
            alert.id,
            (a) => this.markResolved(a, actor),
            (next) => [...this.actedOn(actor, 'alert.resolved', next, {}), ...this.pagerEffects(next, 'resolve')],
            'alert.resolved',
          );
        }
      },
    });
    outbox.register<{ at: Date; timer: AlertTimer }>({
      type: ALERT_EFFECTS.timer,
      perform: async ({ at, timer }, { effectId }) => this.deps.timers.schedule(new Date(at), timer, effectId),
    });
    outbox.register<{ alertId: AlertId; level: number; loops: number; from: Date }>({
      type: ALERT_EFFECTS.scheduleNext,
      perform: async ({ alertId, level, loops, from }, { effectId }) => {
        const alert = await this.deps.alerts.get(alertId);
        if (!alert) return;
        const policy = await this.policyFor(alert.agentId);
        const start = new Date(from).getTime();
        const timer = { alertId, level, loops };
        await this.deps.timers.schedule(
          new Date(start + policy.escalateAfterMinutes * this.minute),
          { ...timer, kind: 'escalate' },
          `${effectId}:escalate`,
        );
        if (policy.renotifyMinutes < policy.escalateAfterMinutes) {
          await this.deps.timers.schedule(
            new Date(start + policy.renotifyMinutes * this.minute),
            { ...timer, kind: 'renotify' },
            `${effectId}:renotify`,
          );
        }
      },
    });
  }

  async raise(input: RaiseAlert): Promise<AlertRecord> {
    const now = this.clock().toISOString();
    const policy = await this.policyFor(input.agentId);
    const candidate: AlertRecord = {
      id: input.id ?? newAlertId(),
      kind: input.kind,
      agentId: input.agentId,
      ...(input.scope ? { scope: input.scope } : {}),
      severity: input.severity,
      status: 'open',
      summary: input.summary,
      details: input.details ?? {},
      rotation: policy.rotation ?? this.deps.org.settings.alertRotation,
      level: 0,
      loops: 0,
      occurrences: 1,
      createdAt: now,
      updatedAt: now,
      version: 0,
    };
    const effects = [
      this.auditEffect({ kind: 'system', name: 'supervision' }, 'alert.raised', candidate, {
        kind: candidate.kind,
        severity: candidate.severity,
        summary: candidate.summary,
      }),
      ...this.pageEffects(candidate),
      ...this.pagerEffects(candidate, 'trigger'),
      ...[...new Set(input.notify ?? [])]
        .filter((person) => findPersonByEmail(this.deps.org, person))
        .map((person) => this.deps.outbox.effect(ALERT_EFFECTS.notify, { alertId: candidate.id, person })),
    ];
    const { alert, created } = await this.deps.alerts.openOrGet(candidate, effects);
    if (created) {
      await this.deps.outbox.settle({ kind: ALERT_HOLDER, id: alert.id }, effects, 'alert.raised');
      return alert;
    }
    if (alert.id === candidate.id) return alert;
    return this.mutate(alert.id, (a) => {
      a.summary = input.summary;
      a.details = { ...a.details, ...(input.details ?? {}) };
      a.occurrences += 1;
      if (input.severity === 'critical') a.severity = 'critical';
      return true;
    });
  }

  /**
   * Agent ids a platform key reported that the registry does not know, folded into one shadow
   * alert per key: the first id is the alert's agent (Register and Block act on it; Block blocks
   * every listed id), the others are listed up to `listed` and counted beyond. Fifty unknown ids
   * page on-call once, not fifty times; a resolved alert lets the next unknown id open a new one.
   */
  async raiseUnregistered(platformKey: string, agentIds: AgentId[], listed: number): Promise<AlertRecord> {
    const open = (await this.deps.alerts.list({ kind: 'shadow', status: ['open', 'acknowledged', 'snoozed'] })).find(
      (a) => a.details.platformKey === platformKey,
    );
    const before = Array.isArray(open?.details.agentIds) ? (open.details.agentIds as AgentId[]) : open ? [open.agentId] : [];
    const known = new Set(before);
    const fresh = [...new Set(agentIds)].filter((id) => !known.has(id));
    const list = [...before, ...fresh].slice(0, listed);
    const unlisted = Number(open?.details.unlisted ?? 0) + (before.length + fresh.length - list.length);
    const first = open?.agentId ?? list[0]!;
    const shown = list.slice(0, 10).join(', ');
    const more = list.length - Math.min(list.length, 10) + unlisted;
    const summary =
      list.length === 1 && unlisted === 0
        ? `Telemetry arrived for ${first}, which is not registered in Roster: an unregistered ("shadow") agent is running.`
        : `Platform key ${platformKey} sent telemetry for ${list.length + unlisted}${unlisted ? '+' : ''} agent ids not registered in Roster (unregistered "shadow" agents): ${shown}${more ? ` and ${more} more` : ''}. Register them, or Block to refuse their telemetry.`;
    return this.raise({
      kind: 'shadow',
      agentId: first,
      severity: 'critical',
      summary,
      details: { agentName: list.length > 1 ? 'Unregistered agents' : 'Unregistered agent', platformKey, agentIds: list, unlisted },
    });
  }

  async acknowledge(actor: string, alertId: AlertId): Promise<AlertRecord> {
    return this.mutate(
      alertId,
      (a) => {
        if (a.status === 'resolved') throw new RequestClosedError('completed', a.resolvedAt ? new Date(a.resolvedAt) : undefined);
        return this.markAcknowledged(a, actor);
      },
      (next) => [...this.actedOn(actor, 'alert.acknowledged', next, {}), ...this.pagerEffects(next, 'acknowledge')],
      'alert.acknowledged',
    );
  }

  async escalateNow(actor: string, alertId: AlertId): Promise<AlertRecord> {
    return this.mutate(
      alertId,
      (a) => {
        if (a.status === 'resolved') throw new RequestClosedError('completed', a.resolvedAt ? new Date(a.resolvedAt) : undefined);
        this.climb(a);
        a.status = 'open';
        return true;
      },
      (next) => [
        this.auditEffect({ kind: 'person', email: actor }, 'alert.escalated', next, { level: next.level + 1, manual: true }),
        ...this.pageEffects(next),
      ],
      'alert.escalated',
    );
  }

  async snooze(actor: string, alertId: AlertId, choice: string): Promise<AlertRecord> {
    const ms = SNOOZE_CHOICES[choice as keyof typeof SNOOZE_CHOICES];
    if (!ms) throw new InvalidInputError(`Snooze for ${Object.keys(SNOOZE_CHOICES).join(', ')}.`);
    const until = new Date(this.clock().getTime() + ms);
    return this.mutate(
      alertId,
      (a) => {
        if (a.status === 'resolved') throw new RequestClosedError('completed', a.resolvedAt ? new Date(a.resolvedAt) : undefined);
        a.status = 'snoozed';
        a.snoozedUntil = until.toISOString();
        return true;
      },
      (next) => [
        ...this.actedOn(actor, 'alert.snoozed', next, { until: until.toISOString() }),
        this.deps.outbox.effect(ALERT_EFFECTS.timer, {
          at: until,
          timer: { alertId: next.id, kind: 'wake', level: next.level, loops: next.loops } satisfies AlertTimer,
        }),
      ],
      'alert.snoozed',
    );
  }

  async resolve(actor: string, alertId: AlertId): Promise<AlertRecord> {
    return this.mutate(
      alertId,
      (a) => this.markResolved(a, actor),
      (next) => [...this.actedOn(actor, 'alert.resolved', next, {}), ...this.pagerEffects(next, 'resolve')],
      'alert.resolved',
    );
  }

  /** Acknowledged by `actor` (at the pager `via`, else in Roster); false when it already was. */
  private markAcknowledged(a: AlertRecord, actor: string, via?: PagerOrigin['provider']): boolean {
    if (a.status === 'acknowledged') return false;
    a.status = 'acknowledged';
    a.acknowledgedBy = actor;
    a.acknowledgedAt = this.clock().toISOString();
    if (via) a.acknowledgedVia = via;
    else delete a.acknowledgedVia;
    return true;
  }

  /** Resolved by `actor` (at the pager `via`, else in Roster); false when it already was. */
  private markResolved(a: AlertRecord, actor: string, via?: PagerOrigin['provider']): boolean {
    if (a.status === 'resolved') return false;
    a.status = 'resolved';
    a.resolvedBy = actor;
    a.resolvedAt = this.clock().toISOString();
    if (via) a.resolvedVia = via;
    return true;
  }

  /**
   * An acknowledgement or resolution made at the rotation's pager (its verified webhook): applied
   * as the pager, on behalf of the responder when they are in the directory, audited, and the
   * cards updated in place. Not sent back to that pager. Resolves the alert and whether it changed.
   */
  async fromPager(
    origin: PagerOrigin,
    action: 'acknowledge' | 'resolve',
    alertId: AlertId,
  ): Promise<{ alert: AlertRecord; changed: boolean }> {
    const by = origin.onBehalfOf ?? origin.name;
    let changed = false;
    const alert = await this.mutate(
      alertId,
      (a) => {
        if (a.status === 'resolved') changed = false;
        else if (action === 'resolve') changed = this.markResolved(a, by, origin.provider);
        else changed = this.markAcknowledged(a, by, origin.provider);
        return changed;
      },
      (next) => [
        this.auditEffect({ kind: 'system', name: origin.name }, action === 'resolve' ? 'alert.resolved' : 'alert.acknowledged', next, {
          via: origin.provider,
          ...(origin.onBehalfOf ? { onBehalfOf: origin.onBehalfOf } : {}),
          ...(origin.responder ? { responder: origin.responder.slice(0, 200) } : {}),
          ...(origin.reference ? { reference: origin.reference.slice(0, 200) } : {}),
        }),
        this.deps.outbox.effect(ALERT_EFFECTS.refresh, { alertId: next.id }),
        // The loop guard in the pager leaves these out for the pager the change came from.
        ...this.pagerEffects(next, action),
      ],
      action === 'resolve' ? 'alert.resolved' : 'alert.acknowledged',
    );
    return { alert, changed };
  }

  /** Blocks an unregistered agent's telemetry (a shadow alert's Block button) and resolves the alert. */
  async blockShadow(actor: string, alertId: AlertId, block: (agentId: AgentId) => Promise<void>): Promise<AlertRecord> {
    const alert = await this.deps.alerts.get(alertId);
    if (!alert) throw new NotFoundError('the alert', alertId);
    if (alert.kind !== 'shadow')
      throw new InvalidInputError('Only an unregistered (shadow) agent can be blocked; suspend a registered one.');
    // A platform key's folded alert blocks every id it lists.
    const listed = Array.isArray(alert.details.agentIds)
      ? (alert.details.agentIds as unknown[]).filter((id) => typeof id === 'string')
      : [];
    const blocked = [...new Set([alert.agentId, ...(listed as AgentId[])])];
    let resolvedNow = false;
    for (const agentId of blocked) await block(agentId);
    // The block is audited even on an alert resolved meanwhile: the version moves on with the entry.
    return this.mutate(
      alert.id,
      (a) => {
        resolvedNow = this.markResolved(a, actor);
        return true;
      },
      (next) => [
        this.auditEffect({ kind: 'person', email: actor }, 'agent.blocked', next, {
          blockedAgentId: alert.agentId,
          ...(blocked.length > 1 ? { blockedAgentIds: blocked } : {}),
        }),
        ...(resolvedNow
          ? [...this.actedOn(actor, 'alert.resolved', next, {}), ...this.pagerEffects(next, 'resolve')]
          : [this.deps.outbox.effect(ALERT_EFFECTS.refresh, { alertId: next.id })]),
      ],
      'alert.resolved',
    );
  }

  /**
   * "Assign sponsor" on a shadow or ownerless alert. A shadow agent's sponsor is recorded on the
   * alert (they are told, and may register it); for an ownerless agent, `apply` makes the person
   * its sponsor and the alert is resolved. Who may (the alert's responders) is the
   * `alert.sponsor.assign` command's rule, asked on the bus.
   */
  async assignSponsor(
    actor: string,
    alertId: AlertId,
    sponsor: string,
    apply: (alert: AlertRecord) => Promise<unknown>,
  ): Promise<AlertRecord> {
    const person = findPersonByEmail(this.deps.org, String(sponsor));
    if (!person)
      throw new InvalidInputError(`${String(sponsor) || 'That person'} is not in the directory.`, { sponsor: 'Not in the directory.' });
    const current = await this.deps.alerts.get(alertId);
    if (!current) throw new NotFoundError('the alert', alertId);
    if (current.kind !== 'shadow' && current.kind !== 'ownerless')
      throw new InvalidInputError('A sponsor can be assigned from a shadow-agent or ownerless-agent alert only.');
    if (current.status === 'resolved')
      throw new RequestClosedError('completed', current.resolvedAt ? new Date(current.resolvedAt) : undefined);
    if ((await apply(current)) === 'pending') {
      // The responder put themselves forward: the alert stays open until an IT admin confirms (the
      // proposal itself is stored with its effects by Sponsorships; this entry ties it to the alert).
      // Recorded on the alert with its entry in the alert's outbox; the same proposal again adds none.
      return this.mutate(
        current.id,
        (a) => {
          if (a.details.proposedSponsor === person.email) return false;
          a.details = { ...a.details, proposedSponsor: person.email };
          return true;
        },
        (next) => [
          this.auditEffect({ kind: 'person', email: actor }, 'alert.sponsor-proposed', next, { kind: next.kind, sponsor: person.email }),
        ],
        'alert.sponsor-proposed',
      );
    }
    const alert = await this.mutate(
      current.id,
      (a) => {
        a.details = { ...a.details, sponsor: person.email };
        return true;
      },
      (next) => [
        ...this.actedOn(actor, 'alert.sponsor-assigned', next, { sponsor: person.email }),
        // A shadow agent's sponsor is told (and may register it); an ownerless alert is resolved next.
        ...(next.kind === 'shadow' ? [this.deps.outbox.effect(ALERT_EFFECTS.notify, { alertId: next.id, person: person.email })] : []),
      ],
      'alert.sponsor-assigned',
    );
    if (alert.kind === 'ownerless') return this.resolve(actor, alert.id);
    return alert;
  }

  /** "Register": the agent-request run that registers a shadow agent was started; paging stops. */
  async registrationRequested(actor: string, alertId: AlertId, runId: RunId): Promise<AlertRecord> {
    let acknowledgedNow = false;
    return this.mutate(
      alertId,
      (a) => {
        if (a.kind !== 'shadow' || a.status === 'resolved') return false;
        a.details = { ...a.details, registrationRunId: runId, registrationBy: actor };
        acknowledgedNow = this.markAcknowledged(a, actor);
        return true;
      },
      (next) => [
        ...this.actedOn(actor, 'alert.registration-requested', next, { runId }),
        ...(acknowledgedNow ? this.pagerEffects(next, 'acknowledge') : []),
      ],
      'alert.registration-requested',
    );
  }

  /** The open shadow alert of an agent running unregistered, or the coded refusal saying none is waiting. */
  async openShadow(agentId: AgentId): Promise<AlertRecord> {
    const [alert] = await this.deps.alerts.list({ agentId, kind: 'shadow', status: ['open', 'acknowledged', 'snoozed'] });
    if (!alert) throw new InvalidInputError(`No unregistered agent ${String(agentId).slice(0, 200)} is waiting to be registered.`);
    return alert;
  }

  /**
   * The safety sweep's part: an open alert whose level was not escalated `graceMs` after its
   * escalation was due (its timer was lost or keeps failing) escalates now, audited as caught by
   * the sweep. Resolves true when it escalated.
   */
  async escalateOverdue(alertId: AlertId, graceMs: number): Promise<boolean> {
    const alert = await this.deps.alerts.get(alertId);
    if (!alert || alert.status !== 'open') return false;
    const policy = await this.policyFor(alert.agentId);
    if (Date.parse(alert.updatedAt) + policy.escalateAfterMinutes * this.minute + graceMs > this.clock().getTime()) return false;
    await this.onTimer({ alertId: alert.id, kind: 'escalate', level: alert.level, loops: alert.loops }, true);
    const after = await this.deps.alerts.get(alert.id);
    return after !== undefined && (after.level !== alert.level || after.loops !== alert.loops);
  }

  /** A due timer: escalate, re-notify or wake from snooze; a stale timer changes nothing. */
  async onTimer(timer: AlertTimer, caughtBySweep = false): Promise<void> {
    const current = await this.deps.alerts.get(timer.alertId);
    if (!current || current.level !== timer.level || current.loops !== timer.loops) return;
    if (timer.kind === 'wake') {
      if (current.status !== 'snoozed') return;
      await this.mutate(
        current.id,
        (a) => {
          if (a.status !== 'snoozed') return false;
          a.status = 'open';
          delete a.snoozedUntil;
          return true;
        },
        (woken) => this.pageEffects(woken),
        'alert.woken',
      );
      return;
    }
    if (current.status !== 'open') return;
    if (timer.kind === 'renotify') {
      await this.page(current);
      const policy = await this.policyFor(current.agentId);
      await this.deps.timers.schedule(new Date(this.clock().getTime() + policy.renotifyMinutes * this.minute), timer);
      return;
    }
    const policy = await this.policyFor(current.agentId);
    if (current.level + 1 >= this.levels(current).length && current.loops >= policy.maxLoops) return;
    // The audit entry, the pages and the next timers are stored with the new level, in the alert's outbox.
    await this.mutate(
      current.id,
      (a) => {
        if (a.status !== 'open' || a.level !== timer.level || a.loops !== timer.loops) return false;
        this.climb(a);
        return true;
      },
      (escalated) => [
        this.auditEffect({ kind: 'system', name: caughtBySweep ? 'safety-sweep' : 'scheduler' }, 'alert.escalated', escalated, {
          level: escalated.level + 1,
          loops: escalated.loops,
          paged: this.levels(escalated)[escalated.level]?.map((p) => p.email) ?? [],
          ...(caughtBySweep ? { caughtBy: 'the safety sweep' } : {}),
        }),
        ...this.pageEffects(escalated),
      ],
      'alert.escalated',
    );
  }

  /** People paged at the alert's current level. */
  pagedPeople(alert: AlertRecord): Person[] {
    return this.levels(alert)[alert.level] ?? [];
  }

  private climb(a: AlertRecord): void {
    const levels = this.levels(a).length;
    if (a.level + 1 < levels) a.level += 1;
    else {
      a.level = 0;
      a.loops += 1;
    }
  }

  private levels(alert: AlertRecord): Person[][] {
    return rotationLevels(this.deps.org, alert.rotation) ?? [];
  }

  /** The escalation policy of the agent's catalog role, else the organisation's default. */
  private async policyFor(agentId: AgentId): Promise<Escalation> {
    const roleId = await this.deps.roleOf(agentId);
    return (roleId ? roleById(this.deps.org, roleId)?.escalation : undefined) ?? this.deps.org.settings.defaultEscalation;
  }

  /** What the alert's rotation's pager is told, if it has one. */
  private pagerEffects(alert: AlertRecord, action: 'trigger' | 'acknowledge' | 'resolve'): PendingEffect[] {
    return this.deps.pager?.effects(alert, action) ?? [];
  }

  /** Paging the alert's current level and scheduling its escalation and re-notification from now. */
  private pageEffects(alert: AlertRecord): PendingEffect[] {
    return [
      this.deps.outbox.effect(ALERT_EFFECTS.page, { alertId: alert.id, level: alert.level }),
      this.deps.outbox.effect(ALERT_EFFECTS.scheduleNext, {
        alertId: alert.id,
        level: alert.level,
        loops: alert.loops,
        from: this.clock(),
      }),
    ];
  }

  /** Sends the alert's card to one person once per delivery id, and keeps it to update later. */
  private async sendOnce(alert: AlertRecord, person: string, deliveryId: string): Promise<void> {
    const now = this.clock();
    const claim = await this.deps.deliveries.claim(deliveryId, now, new Date(now.getTime() - this.deps.outbox.settings.leaseMs));
    if (claim === 'sent') return;
    if (claim === 'busy') throw new Error('another writer is sending this alert card');
    const ref = await sendClaimed(
      () => this.deps.notifier.send(person, this.deps.presenter.alert(alert, person)),
      () => this.deps.deliveries.release(deliveryId, now),
    );
    if (ref) await this.deps.alerts.saveMessage(alert.id, person, ref);
    await this.deps.deliveries.sent(deliveryId, person, ref);
  }

  /** Sends the alert card to the current level, and updates every card sent before. */
  private async page(alert: AlertRecord): Promise<void> {
    const sent = await this.deps.alerts.messages(alert.id);
    for (const m of sent) {
      await this.deps.notifier.update(m.ref as never, this.deps.presenter.alert(alert, m.person)).catch(() => undefined);
    }
    for (const person of this.pagedPeople(alert)) {
      const ref = await this.deps.notifier.send(person.email, this.deps.presenter.alert(alert, person.email));
      if (ref) await this.deps.alerts.saveMessage(alert.id, person.email, ref);
    }
  }

  private async refreshCards(alert: AlertRecord): Promise<void> {
    for (const m of await this.deps.alerts.messages(alert.id)) {
      await this.deps.notifier.update(m.ref as never, this.deps.presenter.alert(alert, m.person)).catch(() => undefined);
    }
  }

  private auditEffect(actor: AuditInput['actor'], action: string, alert: AlertRecord, details: Record<string, unknown>): PendingEffect {
    return this.deps.outbox.effect(AUDIT_EFFECT, {
      actor,
      action,
      subject: { type: 'alert', id: alert.id, agentId: alert.agentId },
      details: { kind: alert.kind, ...details },
      at: this.clock(),
    } satisfies AuditInput);
  }

  /** What a person's change to an alert implies: its audit entry, then every card sent about it updated. */
  private actedOn(actor: string, action: string, alert: AlertRecord, details: Record<string, unknown>): PendingEffect[] {
    return [
      this.auditEffect({ kind: 'person', email: actor }, action, alert, details),
      this.deps.outbox.effect(ALERT_EFFECTS.refresh, { alertId: alert.id }),
    ];
  }

  /**
   * Compare-and-set of the alert; `effectsOf` names the effects of the change, stored with it in
   * the alert's outbox and performed once it is stored.
   */
  private async mutate(
    alertId: AlertId,
    change: (a: AlertRecord) => boolean,
    effectsOf?: (next: AlertRecord) => PendingEffect[],
    label = 'alert.changed',
  ): Promise<AlertRecord> {
    for (let attempt = 0; attempt < 30; attempt++) {
      const stored = await this.deps.alerts.get(alertId);
      if (!stored) throw new NotFoundError('the alert', alertId);
      const next = structuredClone(stored);
      if (!change(next)) return stored;
      next.version = stored.version + 1;
      next.updatedAt = this.clock().toISOString();
      const effects = effectsOf?.(next) ?? [];
      const outbox = await this.deps.alerts.replace(next, stored.version, effects);
      if (outbox) {
        await this.deps.outbox.settle({ kind: ALERT_HOLDER, id: next.id }, effects, label, outbox);
        return next;
      }
      await new Promise((r) => setTimeout(r, Math.random() * 20));
    }
    throw new ConflictError(alertId);
  }
}
