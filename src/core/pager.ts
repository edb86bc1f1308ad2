import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail } from '../config/directory.js';
import type { AlertPagerHook, AlertRecord, AlertRepository } from './alerts.js';
import type { Outbox } from './outbox.js';
import type { PendingEffect } from './ports.js';
import { idOrUndefined, type AlertId } from './ids.js';

/*
 * Paging a rotation through PagerDuty (Events API v2) or Opsgenie (Alert API) besides chat, and
 * taking their acknowledgements back.
 *
 * Out: raising an alert for a rotation with a pager stores a `trigger` effect in the alert's
 * outbox with the change; acknowledging or resolving it in chat stores `acknowledge` / `resolve`.
 * The performer reads the alert and the rotation's pager when it runs (no key is ever stored in
 * the outbox) and sends one request; a failure is retried by the outbox, after the vendor's
 * Retry-After when it gave one. The vendor-side id is derived from the alert id (`roster-alr_…`),
 * so a retried trigger deduplicates at the vendor instead of opening a second incident.
 *
 * Back: the vendor's webhook (PagerDuty V3 signed with the subscription secret, Opsgenie with the
 * shared secret) names that id; Roster acknowledges or resolves the alert as "PagerDuty" /
 * "Opsgenie", on behalf of the responder when they are in the directory, and the cards update
 * through the alert's usual outbox path. A change that came from a vendor is never sent back to
 * that vendor (the loop guard: `acknowledgedVia` / `resolvedVia`).
 */

/** The vendors a rotation may page through. */
export type PagerProvider = 'pagerduty' | 'opsgenie';
/** What Roster asks the vendor to do. */
export type PagerAction = 'trigger' | 'acknowledge' | 'resolve';

/** How the vendors are named to people (cards, audit actor). */
export const PAGER_NAMES: Readonly<Record<PagerProvider, string>> = { pagerduty: 'PagerDuty', opsgenie: 'Opsgenie' };

/** The outbox effect that sends one request to a rotation's pager. */
export const PAGER_EFFECT = 'alert.pager';

/** A rotation's pager with its secrets resolved from the environment (see src/config/pager.ts). */
export interface ResolvedPager {
  rotation: string;
  provider: PagerProvider;
  /** The API base URL: the vendor's, or a local fake in tests. */
  baseUrl: string;
  /** PagerDuty's routing key or Opsgenie's API key; never logged or stored. */
  key: string;
  /** The inbound webhook's secret (PagerDuty subscription secret, Opsgenie shared secret); acknowledgements do not flow back without it. */
  webhookSecret?: string;
}

/** One request to a vendor. */
export interface PagerRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** Sends a request under the outbound policy; a transport failure is `{ error }` with a readable reason. */
export type PagerTransport = (request: PagerRequest) => Promise<{ status: number; retryAfterMs?: number } | { error: string }>;

/** A vendor refused or failed a request; `retryAfterMs` carries its Retry-After (the outbox waits at least that long). */
export class PagerSendError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'PagerSendError';
  }
}

const KEY_PREFIX = 'roster-';

/** The vendor-side id of an alert (PagerDuty `dedup_key`, Opsgenie `alias`): the same on every retry. */
export function pagerKey(alertId: AlertId): string {
  return `${KEY_PREFIX}${alertId}`;
}

/** The alert id a vendor-side id stands for, if it is one of Roster's. */
export function alertIdOfPagerKey(key: string | null | undefined): AlertId | undefined {
  if (typeof key !== 'string' || !key.startsWith(KEY_PREFIX)) return undefined;
  const id = key.slice(KEY_PREFIX.length);
  return /^alr_[0-9a-f]{16}$/.test(id) ? idOrUndefined('AlertId', id) : undefined;
}

/** PagerDuty's severities, from the alert's severity and kind. */
export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

/**
 * Critical alerts are `critical`; of the warnings, an error spike is an `error`, a dormant agent
 * still holding access is `info` (nothing is failing), the rest `warning`.
 */
export function pagerDutySeverity(alert: Pick<AlertRecord, 'severity' | 'kind'>): PagerDutySeverity {
  if (alert.severity === 'critical') return 'critical';
  if (alert.kind === 'error-spike') return 'error';
  if (alert.kind === 'dormant') return 'info';
  return 'warning';
}

/** Opsgenie's priority for the same levels. */
export function opsgeniePriority(alert: Pick<AlertRecord, 'severity' | 'kind'>): 'P1' | 'P2' | 'P3' | 'P5' {
  return ({ critical: 'P1', error: 'P2', warning: 'P3', info: 'P5' } as const)[pagerDutySeverity(alert)];
}

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

const agentNameOf = (alert: AlertRecord) => (typeof alert.details.agentName === 'string' ? alert.details.agentName : alert.agentId);

/**
 * What the vendor is told about an alert: an allow-list of the alert's fields. The alert's free
 * `details` are not copied (a shadow alert's carry the platform key's name, a drift alert's the statistics).
 */
function detailsOf(alert: AlertRecord, publicUrl: string | undefined): Record<string, string> {
  return {
    roster_alert_id: alert.id,
    kind: alert.kind,
    severity: alert.severity,
    agent_id: alert.agentId,
    agent_name: agentNameOf(alert),
    rotation: alert.rotation,
    occurrences: String(alert.occurrences),
    raised_at: alert.createdAt,
    ...(publicUrl ? { roster_url: publicUrl } : {}),
  };
}

/** The name of whoever acted in Roster, for the vendor's note. */
function actorName(org: OrgConfig, who: string | undefined): string | undefined {
  if (!who) return undefined;
  return findPersonByEmail(org, who)?.name ?? who;
}

/** The request that asks `pager` to do `action` about `alert`. */
export function pagerRequest(
  pager: ResolvedPager,
  alert: AlertRecord,
  action: PagerAction,
  options: { org: OrgConfig; publicUrl?: string | undefined },
): PagerRequest {
  const base = pager.baseUrl.replace(/\/+$/, '');
  const key = pagerKey(alert.id);
  if (pager.provider === 'pagerduty') {
    const body =
      action === 'trigger'
        ? {
            routing_key: pager.key,
            event_action: 'trigger',
            dedup_key: key,
            payload: {
              summary: clip(`${agentNameOf(alert)}: ${alert.summary}`, 1024),
              source: alert.agentId,
              severity: pagerDutySeverity(alert),
              timestamp: alert.createdAt,
              component: agentNameOf(alert),
              group: alert.rotation,
              class: alert.kind,
              custom_details: detailsOf(alert, options.publicUrl),
            },
            client: 'Roster',
            ...(options.publicUrl
              ? { client_url: options.publicUrl, links: [{ href: options.publicUrl, text: 'Open Roster (act on the alert card in chat)' }] }
              : {}),
          }
        : { routing_key: pager.key, dedup_key: key, event_action: action };
    return { url: `${base}/v2/enqueue`, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  }
  const headers = { 'content-type': 'application/json', authorization: `GenieKey ${pager.key}` };
  if (action === 'trigger') {
    const body = {
      message: clip(`[Roster] ${alert.kind} alert: ${agentNameOf(alert)}`, 130),
      alias: key,
      description: clip(alert.summary, 15_000),
      entity: clip(agentNameOf(alert), 512),
      source: 'Roster',
      priority: opsgeniePriority(alert),
      tags: ['roster', alert.kind],
      details: detailsOf(alert, options.publicUrl),
    };
    return { url: `${base}/v2/alerts`, headers, body: JSON.stringify(body) };
  }
  const who = actorName(options.org, action === 'acknowledge' ? alert.acknowledgedBy : alert.resolvedBy);
  const body = {
    ...(who ? { user: clip(who, 100) } : {}),
    source: 'Roster',
    note: `${action === 'acknowledge' ? 'Acknowledged' : 'Resolved'} in Roster${who ? ` by ${who}` : ''}.`,
  };
  const verb = action === 'acknowledge' ? 'acknowledge' : 'close';
  return { url: `${base}/v2/alerts/${encodeURIComponent(key)}/${verb}?identifierType=alias`, headers, body: JSON.stringify(body) };
}

export interface AlertPagerDeps {
  org: OrgConfig;
  outbox: Outbox;
  alerts: Pick<AlertRepository, 'get'>;
  pagers: readonly ResolvedPager[];
  transport: PagerTransport;
  /** Roster's public URL (`ROSTER_PUBLIC_URL`), linked from the vendor's incident; none when unset. */
  publicUrl?: string | undefined;
  log: { info(obj: object, msg: string): void };
}

/**
 * The pagers of the organisation's rotations: which effects an alert change implies (the
 * {@link AlertPagerHook} of the alert service) and the performer that sends them.
 */
export class AlertPager implements AlertPagerHook {
  private readonly byRotation: Map<string, ResolvedPager>;

  constructor(private readonly deps: AlertPagerDeps) {
    this.byRotation = new Map(deps.pagers.map((p) => [p.rotation, p]));
    deps.outbox.register<{ alertId: AlertId; action: PagerAction }>({
      type: PAGER_EFFECT,
      perform: async ({ alertId, action }) => this.send(alertId, action),
    });
  }

  /** The rotation's pager, if it has one. */
  pagerOf(rotation: string): ResolvedPager | undefined {
    return this.byRotation.get(rotation);
  }

  /** The pagers that take acknowledgements back from `provider`. */
  inbound(provider: PagerProvider): ResolvedPager[] {
    return [...this.byRotation.values()].filter((p) => p.provider === provider && p.webhookSecret);
  }

  effects(alert: AlertRecord, action: PagerAction): PendingEffect[] {
    const pager = this.byRotation.get(alert.rotation);
    if (!pager || cameFrom(alert, action, pager.provider)) return [];
    return [this.deps.outbox.effect(PAGER_EFFECT, { alertId: alert.id, action })];
  }

  private async send(alertId: AlertId, action: PagerAction): Promise<void> {
    const alert = await this.deps.alerts.get(alertId);
    if (!alert) return;
    const pager = this.byRotation.get(alert.rotation);
    // The rotation lost its pager since (a restart with new configuration), or the change came from the vendor.
    if (!pager || cameFrom(alert, action, pager.provider)) return;
    const name = PAGER_NAMES[pager.provider];
    const answer = await this.deps.transport(pagerRequest(pager, alert, action, this.deps));
    if ('error' in answer) throw new PagerSendError(`${name} could not be reached: ${answer.error}`);
    if (answer.status >= 200 && answer.status < 300) return;
    // Opsgenie answers 404 to acknowledging or closing an alert it does not have: nothing is left to do there.
    if (pager.provider === 'opsgenie' && action !== 'trigger' && answer.status === 404) {
      this.deps.log.info({ alertId, action }, 'Opsgenie does not know the alert; nothing to acknowledge or close');
      return;
    }
    throw new PagerSendError(
      `${name} answered ${answer.status} to ${action}${answer.retryAfterMs !== undefined ? ` (retry after ${Math.ceil(answer.retryAfterMs / 1000)} s)` : ''}`,
      answer.retryAfterMs,
    );
  }
}

/** The loop guard: an acknowledgement or resolution that came from this vendor is not sent back to it. */
function cameFrom(alert: AlertRecord, action: PagerAction, provider: PagerProvider): boolean {
  if (action === 'acknowledge') return alert.acknowledgedVia === provider;
  if (action === 'resolve') return alert.resolvedVia === provider;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Inbound: the vendors' webhooks.

const digest = (value: string | Buffer) => createHash('sha256').update(value).digest();

/** Constant-time equality of two secrets of any length. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * PagerDuty V3: `X-PagerDuty-Signature` lists `v1=<hex HMAC-SHA256 of the raw body>` entries, one
 * per active secret (rotation); the delivery is authentic when any one matches `secret`.
 */
export function verifyPagerDutySignature(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (!header || header.length > 2000) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(rawBody).digest('hex'));
  return header
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('v1='))
    .some((s) => {
      const given = Buffer.from(s.slice(3).toLowerCase());
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}

/** What Roster reads of a PagerDuty V3 webhook (everything else in it is ignored). */
export const pagerDutyWebhookSchema = z.object({
  event: z.object({
    id: z.string().min(1).max(200),
    event_type: z.string().min(1).max(100),
    resource_type: z.string().max(100).optional(),
    occurred_at: z.string().max(100).optional(),
    agent: z
      .object({ id: z.string().max(100).optional(), summary: z.string().max(300).optional(), type: z.string().max(100).optional() })
      .passthrough()
      .nullish(),
    data: z
      .object({ id: z.string().max(100).optional(), incident_key: z.string().max(300).nullish(), status: z.string().max(50).optional() })
      .passthrough()
      .nullish(),
  }),
});

/** What Roster reads of an Opsgenie outgoing-webhook (alert action) delivery. */
export const opsgenieWebhookSchema = z.object({
  action: z.string().min(1).max(100),
  alert: z
    .object({
      alias: z.string().max(512).optional(),
      alertId: z.string().max(100).optional(),
      username: z.string().max(300).optional(),
    })
    .passthrough(),
  source: z
    .object({ name: z.string().max(300).optional(), type: z.string().max(100).optional() })
    .passthrough()
    .nullish(),
});

/** A vendor's change to an alert, as Roster applies it. */
export interface PagerChange {
  provider: PagerProvider;
  action: 'acknowledge' | 'resolve';
  alertId: AlertId;
  /** The directory person who acted at the vendor, when they can be told apart. */
  onBehalfOf?: Person;
  /** The responder as the vendor named them (for the audit entry). */
  responder?: string;
  /** The vendor's event or alert id (for the audit entry). */
  reference?: string;
}

/**
 * The directory person a vendor's responder stands for: by e-mail (Opsgenie's `username` is
 * one), else by a name that exactly one person in the directory has (PagerDuty names its agent).
 */
export function responderPerson(org: OrgConfig, responder: string | undefined): Person | undefined {
  if (!responder) return undefined;
  const byEmail = findPersonByEmail(org, responder.trim().toLowerCase());
  if (byEmail) return byEmail;
  const wanted = responder.trim().toLowerCase();
  const named = org.people.filter((p) => p.name.trim().toLowerCase() === wanted);
  return named.length === 1 ? named[0] : undefined;
}

/** The change a PagerDuty V3 event asks for, or why it is ignored. */
export function pagerDutyChange(
  org: OrgConfig,
  body: z.output<typeof pagerDutyWebhookSchema>,
): { change: PagerChange } | { ignored: string } {
  const { event } = body;
  const action =
    event.event_type === 'incident.acknowledged' ? 'acknowledge' : event.event_type === 'incident.resolved' ? 'resolve' : undefined;
  if (!action) return { ignored: `event type ${event.event_type} is not acted on` };
  const alertId = alertIdOfPagerKey(event.data?.incident_key);
  if (!alertId) return { ignored: 'the incident was not opened by Roster' };
  const agent = event.agent?.type === 'user_reference' || event.agent?.type === 'user' ? event.agent.summary : undefined;
  const person = responderPerson(org, agent);
  return {
    change: {
      provider: 'pagerduty',
      action,
      alertId,
      ...(person ? { onBehalfOf: person } : {}),
      ...(agent ? { responder: agent } : {}),
      reference: event.id,
    },
  };
}

/** The change an Opsgenie alert action asks for, or why it is ignored. */
export function opsgenieChange(
  org: OrgConfig,
  body: z.output<typeof opsgenieWebhookSchema>,
): { change: PagerChange } | { ignored: string } {
  const action = body.action === 'Acknowledge' ? 'acknowledge' : body.action === 'Close' ? 'resolve' : undefined;
  if (!action) return { ignored: `action ${body.action} is not acted on` };
  const alertId = alertIdOfPagerKey(body.alert.alias);
  if (!alertId) return { ignored: 'the alert was not opened by Roster' };
  const person = responderPerson(org, body.alert.username);
  return {
    change: {
      provider: 'opsgenie',
      action,
      alertId,
      ...(person ? { onBehalfOf: person } : {}),
      ...(body.alert.username ? { responder: body.alert.username } : {}),
      ...(body.alert.alertId ? { reference: body.alert.alertId } : {}),
    },
  };
}
