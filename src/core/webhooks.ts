import { CloudEvent } from 'cloudevents';
import { Webhook } from 'standardwebhooks';
import type { AuditEntry, AuditInput } from './audit.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import { NotFoundError } from './errors.js';
import type { WebhookSubscriptionId } from './ids.js';
import type { MessageRef, Notifier, OutgoingCard } from './notifications.js';
import type { Outbox } from './outbox.js';
import type { PendingEffect } from './ports.js';

/*
 * Signed webhooks, delivered at least once, in order per agent.
 *
 * The audit trail is the event log: every state change Roster makes is recorded there, durably,
 * numbered 1, 2, 3… without gaps (a writer takes number n+1 only after n is stored). So a
 * dispatcher tails it per subscription: it turns each new entry the subscription wants into a
 * delivery record keyed by (subscription, audit number) (inserting twice is harmless) and then
 * moves the subscription's cursor with a compare-and-set, so any number of replicas may run it.
 * Nothing in the code that changes state has to know webhooks exist, and no event can be lost
 * between a state change and its webhook: if the entry is stored, its delivery will be made.
 *
 * A sender then posts each subscription's deliveries: CloudEvents 1.0 structured JSON, signed per
 * Standard Webhooks (`webhook-id` = the event id, the same on every retry; a fresh timestamp and
 * signature per attempt). Per agent, a delivery waits while an earlier one for the same agent is
 * not yet delivered (or has failed for good), so receivers see an agent's events in order.
 * Failures are retried with exponential back-off and jitter for the retry window (24 h), then
 * the delivery is marked failed, counted in /metrics, and the subscription's IT owner gets one
 * card (updated in place) with a Retry button.
 *
 * A receiver answering a 4xx other than 408, 409, 425 and 429 has read the request and refused it
 * (bad signature or secret, unknown path, payload it will not take): sending the same bytes again
 * gets the same answer, so 24 hours of retries would only hide the problem from the owner. Such a
 * delivery fails at once (it is parked, like one whose retries ran out) and the owner gets the same
 * card with Retry, saying the receiver refused it. 408, 409, 425 and 429 say "not now" and are
 * retried (honouring Retry-After), as are 5xx, 3xx and network errors. (Standard Webhooks and Svix
 * name only 2xx as success and 410 as "disable"; Adobe I/O Events, Brevo and Ashby do not retry
 * such 4xx either.)
 *
 * The owner's card is posted once across replicas: the process that posts it first claims the
 * subscription's state record with a conditional update (no card yet, no claim alive), so two
 * replicas refreshing the same stale card at once never post two; later changes update it in place.
 *
 * A receiver answering 410 Gone says the endpoint is no more: the subscription is disabled (in the
 * database, so neither a restart nor a config reload resumes it), nothing more is queued or sent,
 * what is queued is kept, and the owner's card says why and offers Re-enable (IT admins, audited).
 * Re-enabled, the subscription picks up from its cursor, so no event recorded meanwhile is lost.
 *
 * The audit entries of a disable, a Retry and a Re-enable are outbox effects of the subscription's
 * state record (holder `webhook-subscription`), stored in the same update that records the change.
 */

/** The outbox holder kind of a subscription's state record (collection `webhook_subscriptions`). */
export const WEBHOOK_HOLDER = 'webhook-subscription';

/** The event types a subscription may ask for; the CloudEvent `type` is `com.roster.<type>`. */
export const WEBHOOK_EVENT_TYPES = [
  'agent.requested',
  'agent.activated',
  'agent.suspended',
  'agent.reactivated',
  'agent.retiring',
  'agent.retired',
  'grant.granted',
  'grant.extended',
  'grant.revoked',
  'grant.expired',
  'approval.decided',
  'alert.opened',
  'alert.acknowledged',
  'alert.resolved',
  'checkin.completed',
  'key.rotated',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The CloudEvent `type` prefix (reverse-DNS, as the CloudEvents spec recommends). */
export const EVENT_TYPE_PREFIX = 'com.roster.';

const DIRECT: Readonly<Record<string, WebhookEventType>> = {
  'agent.registered': 'agent.requested',
  'agent.onboarded': 'agent.activated',
  'agent.suspended': 'agent.suspended',
  // The Reactivate flow (suspended → the status the agent had) records its own entry.
  'agent.reactivated': 'agent.reactivated',
  'agent.retired': 'agent.retired',
  'grant.activated': 'grant.granted',
  'grant.created': 'grant.granted',
  // A break-glass grant is recorded as requested (`grant.break-glass`), then activated by its flow.
  // An extension is a new grant that supersedes the active one; the old grant's entry names it.
  'grant.superseded': 'grant.extended',
  'grant.revoked': 'grant.revoked',
  'grant.expired': 'grant.expired',
  'decision.approve': 'approval.decided',
  'decision.deny': 'approval.decided',
  // A runtime approval's outcome (approved, denied, timed out, closed), as the agent waits for it;
  // a forbidden request is recorded as denied at once.
  'runtime.approved': 'approval.decided',
  'runtime.denied': 'approval.decided',
  'alert.raised': 'alert.opened',
  'alert.acknowledged': 'alert.acknowledged',
  'alert.resolved': 'alert.resolved',
  'checkin.completed': 'checkin.completed',
  'credential.rotated': 'key.rotated',
};

/** The webhook event an audit entry stands for, if any. */
export function eventTypeOf(entry: Pick<AuditEntry, 'action' | 'details'>): WebhookEventType | undefined {
  const direct = DIRECT[entry.action];
  if (direct) return direct;
  if (entry.action !== 'agent.status-changed') return undefined;
  const { from, to } = entry.details as { from?: unknown; to?: unknown };
  if (to === 'retiring') return 'agent.retiring';
  if (to === 'suspended') return 'agent.suspended';
  if (to === 'active' && from === 'suspended') return 'agent.reactivated';
  return undefined;
}

/** Whether a subscription asked for this event type. */
export function wants(events: ReadonlyArray<string>, type: WebhookEventType): boolean {
  return events.includes('*') || events.includes(type);
}

/**
 * The stable event id of an audit entry: its number and the start of its hash, so a database
 * started afresh (numbers reused) never repeats an id. No `.` (Standard Webhooks forbids it).
 */
export function eventIdOf(entry: Pick<AuditEntry, 'seq' | 'hash'>): string {
  return `evt_${entry.seq}_${entry.hash.slice(0, 16)}`;
}

/**
 * The CloudEvent (structured JSON) of an audit entry. `data` holds exactly what the audit entry
 * records (who, what, about which, the details); no secret is ever written to the audit trail.
 */
export function cloudEventOf(entry: AuditEntry, type: WebhookEventType, source: string): string {
  const event = new CloudEvent({
    specversion: '1.0',
    id: eventIdOf(entry),
    source,
    type: `${EVENT_TYPE_PREFIX}${type}`,
    ...(entry.subject.agentId ? { subject: entry.subject.agentId } : {}),
    time: entry.at.toISOString(),
    datacontenttype: 'application/json',
    data: {
      action: entry.action,
      auditSeq: entry.seq,
      actor: entry.actor,
      subject: entry.subject,
      details: entry.details,
    },
  });
  event.validate();
  return JSON.stringify(event.toJSON());
}

/** Standard Webhooks headers for one attempt (the timestamp and signature are per attempt). */
export function signedHeaders(secret: string, webhookId: string, at: Date, body: string): Record<string, string> {
  return {
    'content-type': 'application/cloudevents+json; charset=utf-8',
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(webhookId, at, body),
  };
}

/** 4xx answers that mean "not now" (timeout, conflict, too early, too many requests): retried like a 5xx. */
const TRANSIENT_4XX: ReadonlySet<number> = new Set([408, 409, 425, 429]);

/**
 * Whether an answer refuses the delivery for good: a 4xx other than 408, 409, 425 and 429 (410 Gone,
 * which disables the whole subscription, is handled before this is asked).
 */
export function isRefusal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 410 && !TRANSIENT_4XX.has(status);
}

/** Back-off before attempt `attempt + 1`: 5 s doubling to at most 2 h, ±25 % jitter. */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(2 * 3_600_000, 5_000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.75 + random() * 0.5));
}

/** One event to one subscription. */
export interface WebhookDelivery {
  /** `<subscriptionId>:<audit seq>`: the same event is never queued twice for a subscription. */
  id: string;
  subscriptionId: string;
  seq: number;
  /** `webhook-id` header and CloudEvent id. */
  eventId: string;
  type: WebhookEventType;
  /** Deliveries with the same key go out in `seq` order (the agent, else the subject). */
  orderKey: string;
  /** The exact JSON body, built once so every retry sends the same bytes. */
  body: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: Date;
  firstAttemptAt?: Date;
  leaseUntil?: Date;
  lastError?: string;
  createdAt: Date;
  deliveredAt?: Date;
  failedAt?: Date;
  /** The 4xx the receiver refused it with (failed at once, not retried); absent when its retries ran out. */
  refusedStatus?: number;
}

/** What the dispatcher keeps per subscription: the audit cursor and the owner's card. */
export interface WebhookSubscriptionState {
  id: string;
  /** The last audit seq turned into deliveries (or skipped). */
  cursor: number;
  /** The IT owner's failure card, when one was sent. */
  cardRef?: MessageRef;
  /** Bumped each time the card needs re-rendering; `cardShown` catches up once it is. */
  cardVersion: number;
  cardShown: number;
  /** The last Retry, shown on the card. */
  retriedBy?: string;
  retriedAt?: Date;
  retriedCount?: number;
  /** Set when the receiver answered 410 Gone: nothing is queued or sent until an IT admin re-enables it. */
  disabledAt?: Date;
  disabledReason?: string;
  /** The last Re-enable, shown on the card. */
  enabledBy?: string;
  enabledAt?: Date;
}

/** Storage of deliveries and subscription state; see src/store/webhook-store.ts. */
export interface WebhookRepository {
  /** The highest audit seq (0 when empty). */
  auditHead(): Promise<number>;
  /** Audit entries after `seq`, in order, at most `limit`. */
  auditAfter(seq: number, limit: number): Promise<AuditEntry[]>;
  /** The state, created with `cursor` when absent (an existing one is returned unchanged). */
  ensureState(subscriptionId: string, cursor: number): Promise<WebhookSubscriptionState>;
  state(subscriptionId: string): Promise<WebhookSubscriptionState | undefined>;
  /** Moves the cursor from `from` to `to`; false when another process moved it first. */
  advance(subscriptionId: string, from: number, to: number): Promise<boolean>;
  /** Inserts deliveries; ones already there are left as they are. */
  insert(deliveries: readonly WebhookDelivery[]): Promise<void>;
  /** Undelivered (pending or failed) deliveries of a subscription (of one order key when given), by `seq`, at most `limit`. */
  undelivered(subscriptionId: string, limit: number, orderKey?: string): Promise<WebhookDelivery[]>;
  /** The order keys (agents) that have undelivered deliveries in a subscription. */
  undeliveredKeys(subscriptionId: string): Promise<string[]>;
  /** Takes an attempt: only if still pending with `attempts` and not leased by another process. */
  claim(id: string, attempts: number, now: Date, leaseUntil: Date): Promise<boolean>;
  delivered(id: string, at: Date, attempts: number): Promise<void>;
  retryLater(id: string, update: { attempts: number; nextAttemptAt: Date; firstAttemptAt: Date; lastError: string }): Promise<void>;
  failed(
    id: string,
    update: { attempts: number; failedAt: Date; firstAttemptAt: Date; lastError: string; refusedStatus?: number },
  ): Promise<void>;
  /** Failed deliveries of a subscription back to pending, due now; resolves how many. */
  requeueFailed(subscriptionId: string, now: Date): Promise<number>;
  countFailed(subscriptionId?: string): Promise<number>;
  /** How many of a subscription's failed deliveries the receiver refused (4xx), and the status of the latest refusal. */
  refusals(subscriptionId: string): Promise<{ count: number; lastStatus?: number }>;
  /** Asks for the card to be re-rendered (and records a Retry when given), storing `effects` with it. */
  touchCard(subscriptionId: string, retried?: { by: string; at: Date; count: number }, effects?: readonly PendingEffect[]): Promise<void>;
  /**
   * Claims the first post of the owner's card until `until`: true only for one caller while the
   * subscription has no card yet and no unexpired claim (so replicas never post two).
   */
  claimCardPost(subscriptionId: string, now: Date, until: Date): Promise<boolean>;
  /** Gives a claim back after the post failed, so the next pass tries again at once. */
  releaseCardPost(subscriptionId: string): Promise<void>;
  /** Records the card as shown at `version` (and its message reference; a claim to post it ends). */
  cardShown(subscriptionId: string, version: number, ref: MessageRef): Promise<void>;
  /** Subscriptions whose card is behind. */
  staleCards(): Promise<WebhookSubscriptionState[]>;
  /** Disables a subscription (and bumps its card), storing `effects` with it; false when it already was. */
  disable(subscriptionId: string, at: Date, reason: string, effects?: readonly PendingEffect[]): Promise<boolean>;
  /** Re-enables a disabled subscription (and bumps its card), storing `effects` with it; false when it was not disabled. */
  enable(subscriptionId: string, by: string, at: Date, effects?: readonly PendingEffect[]): Promise<boolean>;
}

/** The answer of one HTTP attempt; `error` when there was none (refused, timed out…). */
export type TransportResult = { status: number; retryAfterMs?: number } | { error: string };

/** Posts one signed request under the URL policy; never follows redirects, never keeps the body. */
export type WebhookTransport = (url: string, headers: Record<string, string>, body: string) => Promise<TransportResult>;

/** A subscription as the dispatcher needs it (see src/config/webhooks.ts). */
export interface DispatchSubscription {
  id: string;
  url: string;
  events: ReadonlyArray<string>;
  secret: string;
  owner: string;
}

/** Counters for /metrics. */
export interface WebhookObserver {
  delivered(subscriptionId: string, type: string, lagMs: number): void;
  attemptFailed(subscriptionId: string): void;
  failed(subscriptionId: string): void;
  /** The receiver answered 410 Gone and the subscription was disabled. */
  disabled(subscriptionId: string): void;
}

export interface WebhookDispatcherDeps {
  subscriptions: readonly DispatchSubscription[];
  repo: WebhookRepository;
  transport: WebhookTransport;
  notifier: Notifier;
  /** The CloudEvent `source` (Roster's public URL). */
  source: string;
  retryWindowMs: number;
  /** Whether this person may press Retry (IT admins). */
  /** Stores the audit entries of disable, Retry and Re-enable with the subscription's state change. */
  outbox: Pick<Outbox, 'effect' | 'settle'>;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void; info(obj: object, msg: string): void };
  clock?: () => Date;
  random?: () => number;
  observer?: WebhookObserver;
  /** Deliveries in flight at once per subscription (one per agent at most). */
  concurrency?: number;
  /** The owner's card (src/views/webhook-cards.ts). */
  cards: WebhookCards;
}

/** What the owner's card of a subscription shows: its state and its failed deliveries. */
export interface WebhookCardFacts {
  subscriptionId: string;
  /** The receiver's host, e.g. `hooks.example.com`. */
  host: string;
  state: WebhookSubscriptionState;
  /** Deliveries that failed for good. */
  failed: number;
  /** Of those, the ones the receiver refused (a 4xx not retried), and the last status. */
  refused: { count: number; lastStatus?: number };
  retryWindowMs: number;
}

/** Presenter port: the IT owner's card of a webhook subscription. */
export interface WebhookCards {
  status(facts: WebhookCardFacts): OutgoingCard;
}

const BATCH = 500;
const LEASE_MS = 60_000;
/** How long a claim to post an owner's card holds off other replicas (a post takes well under this). */
const CARD_CLAIM_MS = 60_000;
const MAX_RETRY_AFTER_MS = 3_600_000;

/** Tails the audit trail into deliveries and sends them; see the module comment. */
export class WebhookDispatcher {
  private readonly clock: () => Date;
  private readonly random: () => number;
  private running: Promise<void> | undefined;
  private again = false;
  private readonly observer: WebhookObserver | undefined;
  private stopped = false;
  /** Subscriptions disabled during this pass: their other lanes stop at once. */
  private readonly gone = new Set<string>();

  constructor(private readonly deps: WebhookDispatcherDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.random = deps.random ?? Math.random;
    this.observer = deps.observer;
  }

  get subscriptions(): readonly DispatchSubscription[] {
    return this.deps.subscriptions;
  }

  /** New subscriptions start at the current end of the audit trail (no replay of history). */
  async start(): Promise<void> {
    if (this.deps.subscriptions.length === 0) return;
    const head = await this.deps.repo.auditHead();
    for (const sub of this.deps.subscriptions) await this.deps.repo.ensureState(sub.id, head);
  }

  /**
   * One pass: queue new events, send what is due, refresh owners' cards. Calls while a pass runs
   * make it run once more afterwards, so a nudge is never lost.
   */
  tick(): Promise<void> {
    if (this.deps.subscriptions.length === 0 || this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          this.gone.clear();
          await this.pass();
        } while (this.again && !this.stopped);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Stops taking nudges and waits for the pass in progress (graceful shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  /** A nudge after an audit append (lower lag than the worker's interval); errors are logged. */
  kick(): void {
    if (this.deps.subscriptions.length === 0) return;
    void this.tick().catch((err: unknown) => this.deps.log.error({ reason: describe(err) }, 'webhook dispatch failed'));
  }

  private async pass(): Promise<void> {
    for (const sub of this.deps.subscriptions) {
      const state = await this.deps.repo.state(sub.id);
      // Disabled (410 Gone): the cursor stays where it is, so a Re-enable resumes with every event since.
      if (state?.disabledAt) continue;
      await this.queue(sub, state);
      await this.send(sub);
    }
    await this.refreshCards();
  }

  /** Turns the audit entries after the cursor into deliveries, then moves the cursor. */
  async queue(sub: DispatchSubscription, known?: WebhookSubscriptionState): Promise<void> {
    // The cursor the pass just read is carried in, and after a successful compare-and-set it is
    // known without a read; a lost compare-and-set ends the loop (the other process queued them).
    let cursor = known?.cursor;
    for (;;) {
      if (cursor === undefined) {
        const state = (await this.deps.repo.state(sub.id)) ?? (await this.deps.repo.ensureState(sub.id, await this.deps.repo.auditHead()));
        cursor = state.cursor;
      }
      const from = cursor;
      const entries = await this.deps.repo.auditAfter(from, BATCH);
      if (entries.length === 0) return;
      const now = this.clock();
      const deliveries: WebhookDelivery[] = [];
      for (const entry of entries) {
        const type = eventTypeOf(entry);
        if (!type || !wants(sub.events, type)) continue;
        deliveries.push({
          id: `${sub.id}:${entry.seq}`,
          subscriptionId: sub.id,
          seq: entry.seq,
          eventId: eventIdOf(entry),
          type,
          orderKey: entry.subject.agentId ? `agent:${entry.subject.agentId}` : `${entry.subject.type}:${entry.subject.id}`,
          body: cloudEventOf(entry, type, this.deps.source),
          status: 'pending',
          attempts: 0,
          nextAttemptAt: now,
          createdAt: now,
        });
      }
      await this.deps.repo.insert(deliveries);
      const last = entries[entries.length - 1]!.seq;
      if (!(await this.deps.repo.advance(sub.id, from, last))) return;
      if (entries.length < BATCH) return;
      cursor = last;
    }
  }

  /**
   * Sends the due deliveries of one subscription, in `seq` order per order key. Paged by order
   * key, not by the subscription's oldest deliveries: thousands stuck behind one agent's failed
   * head must not hide another agent's fresh event from the pass.
   */
  async send(sub: DispatchSubscription): Promise<void> {
    // The usual case, a short backlog: one read gives every undelivered delivery, grouped into
    // lanes here (a lane's seq order and its failed or backed-off head are all in the snapshot).
    const all = await this.deps.repo.undelivered(sub.id, BATCH);
    if (all.length < BATCH) {
      const lanes = new Map<string, WebhookDelivery[]>();
      for (const d of all) {
        const lane = lanes.get(d.orderKey);
        if (lane) lane.push(d);
        else lanes.set(d.orderKey, [d]);
      }
      await this.eachLimited([...lanes.values()], (lane) => this.sendLane(sub, lane));
      return;
    }
    // A long backlog: paged per key, so one agent's stuck thousands cannot hide the others.
    await this.eachLimited(await this.deps.repo.undeliveredKeys(sub.id), async (key) => {
      if (this.gone.has(sub.id)) return;
      // The head alone first: a lane waiting behind a failed or backed-off head costs one small read.
      const [head] = await this.deps.repo.undelivered(sub.id, 1, key);
      if (!head || !this.due(head)) return;
      await this.sendLane(sub, await this.deps.repo.undelivered(sub.id, BATCH, key));
    });
  }

  /** Runs `work` over `items`, at most `concurrency` (8) at once: one lane per agent in flight. */
  private async eachLimited<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
    const queue = [...items];
    const workers = Array.from({ length: Math.min(this.deps.concurrency ?? 8, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
        await work(item);
      }
    });
    await Promise.all(workers);
  }

  private due(d: WebhookDelivery): boolean {
    const now = this.clock().getTime();
    return d.status === 'pending' && d.nextAttemptAt.getTime() <= now && !(d.leaseUntil && d.leaseUntil.getTime() > now);
  }

  /** An order key's deliveries: each goes only once the one before it is delivered. */
  private async sendLane(sub: DispatchSubscription, lane: readonly WebhookDelivery[]): Promise<void> {
    for (const d of lane) {
      if (this.gone.has(sub.id) || !this.due(d)) return;
      if (!(await this.attempt(sub, d))) return;
    }
  }

  /** One attempt; true when the receiver took it. */
  private async attempt(sub: DispatchSubscription, d: WebhookDelivery): Promise<boolean> {
    const now = this.clock();
    if (!(await this.deps.repo.claim(d.id, d.attempts, now, new Date(now.getTime() + LEASE_MS)))) return false;
    const attempts = d.attempts + 1;
    let result: TransportResult;
    try {
      result = await this.deps.transport(sub.url, signedHeaders(sub.secret, d.eventId, now, d.body), d.body);
    } catch (err) {
      result = { error: describe(err) };
    }
    const after = this.clock();
    if ('status' in result && result.status >= 200 && result.status < 300) {
      await this.deps.repo.delivered(d.id, after, attempts);
      this.observer?.delivered(sub.id, d.type, after.getTime() - d.createdAt.getTime());
      return true;
    }
    const lastError = 'status' in result ? `the receiver answered HTTP ${result.status}` : result.error;
    const firstAttemptAt = d.firstAttemptAt ?? now;
    this.observer?.attemptFailed(sub.id);
    // 410 Gone: the receiver says the endpoint is no more; retrying would only be noise.
    const gone = 'status' in result && result.status === 410;
    const retryAfter = 'status' in result ? Math.min(result.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS) : 0;
    const nextAttemptAt = new Date(after.getTime() + Math.max(retryDelayMs(attempts, this.random), retryAfter));
    if (gone) {
      await this.deps.repo.failed(d.id, { attempts, failedAt: after, firstAttemptAt, lastError });
      this.observer?.failed(sub.id);
      await this.disable(sub, after);
      return false;
    }
    // Refused (a 4xx that is not "not now"): the same request would be refused again, so it is parked
    // at once, as a delivery whose retries ran out is, and the owner is told now.
    const refusedStatus = 'status' in result && isRefusal(result.status) ? result.status : undefined;
    if (refusedStatus !== undefined || nextAttemptAt.getTime() - firstAttemptAt.getTime() > this.deps.retryWindowMs) {
      await this.deps.repo.failed(d.id, {
        attempts,
        failedAt: after,
        firstAttemptAt,
        lastError,
        ...(refusedStatus ? { refusedStatus } : {}),
      });
      await this.deps.repo.touchCard(sub.id);
      this.observer?.failed(sub.id);
      this.deps.log.error(
        { subscription: sub.id, deliveryId: d.id, eventType: d.type, attempts, reason: lastError },
        refusedStatus
          ? 'a webhook receiver refused a delivery; it is not retried and its IT owner is told'
          : 'a webhook delivery failed for good; its IT owner is told',
      );
      return false;
    }
    await this.deps.repo.retryLater(d.id, { attempts, nextAttemptAt, firstAttemptAt, lastError });
    this.deps.log.warn(
      { subscription: sub.id, deliveryId: d.id, attempts, reason: lastError },
      'a webhook delivery failed; it will be retried',
    );
    return false;
  }

  /** The receiver answered 410 Gone: stop sending to it, keep what is queued, tell the owner. */
  private async disable(sub: DispatchSubscription, at: Date): Promise<void> {
    this.gone.add(sub.id);
    const reason = `${safeHost(sub.url)} answered 410 Gone: the receiver says this endpoint no longer exists`;
    const effects = [
      this.auditEffect(sub, { kind: 'system', name: 'webhooks' }, 'webhook.disabled', {
        reason: 'gone',
        status: 410,
        host: safeHost(sub.url),
      }),
    ];
    // Only the process that flips it reports it: several replicas may see the 410 at once.
    if (!(await this.deps.repo.disable(sub.id, at, reason, effects))) return;
    await this.deps.outbox.settle({ kind: WEBHOOK_HOLDER, id: sub.id }, effects, 'webhook.disabled');
    this.observer?.disabled(sub.id);
    this.deps.log.error({ subscription: sub.id, reason }, 'a webhook subscription was disabled; its IT owner is told');
  }

  /**
   * Sends or updates (in place) the cards whose subscription changed since they were shown. The
   * first post is claimed on the subscription's state record, so of several replicas refreshing
   * the same card at once only one posts it; the others leave it to that one.
   */
  async refreshCards(): Promise<void> {
    for (const state of await this.deps.repo.staleCards()) {
      const sub = this.deps.subscriptions.find((s) => s.id === state.id);
      if (!sub) continue;
      let claimed = false;
      try {
        let ref = state.cardRef;
        if (!ref) {
          const now = this.clock();
          claimed = await this.deps.repo.claimCardPost(sub.id, now, new Date(now.getTime() + CARD_CLAIM_MS));
          if (!claimed) continue;
        }
        const card = await this.card(sub, state);
        if (ref) await this.deps.notifier.update(ref, card);
        else ref = await this.deps.notifier.send(sub.owner, card);
        if (ref) await this.deps.repo.cardShown(sub.id, state.cardVersion, ref);
        else if (claimed) await this.deps.repo.releaseCardPost(sub.id);
      } catch (err) {
        if (claimed) await this.deps.repo.releaseCardPost(sub.id).catch(() => undefined);
        this.deps.log.warn({ subscription: sub.id, reason: describe(err) }, 'could not show the webhook failure card; will try again');
      }
    }
  }

  /** The owner's card: disabled (Re-enable), what failed (Retry), or all well; the views word it. */
  async card(sub: DispatchSubscription, state: WebhookSubscriptionState): Promise<OutgoingCard> {
    const failed = await this.deps.repo.countFailed(sub.id);
    return this.deps.cards.status({
      subscriptionId: sub.id,
      host: safeHost(sub.url),
      state,
      failed,
      refused: failed > 0 && !state.disabledAt ? await this.deps.repo.refusals(sub.id) : { count: 0 },
      retryWindowMs: this.deps.retryWindowMs,
    });
  }

  /**
   * **Retry** on the owner's card: an IT admin re-queues the subscription's failed deliveries (who
   * may is the `webhook.act` command's rule, asked on the bus). Resolves the refreshed card (also
   * updated in place for the owner).
   * @throws NotFoundError for an unknown subscription.
   */
  async retry(email: string, subscriptionId: WebhookSubscriptionId): Promise<OutgoingCard> {
    const sub = this.deps.subscriptions.find((s) => s.id === subscriptionId);
    if (!sub) throw new NotFoundError('the webhook subscription', subscriptionId);
    const now = this.clock();
    // Recorded (with its audit entry) before the deliveries are re-queued, so no re-queue goes unaudited.
    const count = await this.deps.repo.countFailed(sub.id);
    const effects = [this.auditEffect(sub, { kind: 'person', email }, 'webhook.retried', { requeued: count })];
    await this.deps.repo.touchCard(sub.id, { by: email, at: now, count }, effects);
    await this.deps.outbox.settle({ kind: WEBHOOK_HOLDER, id: sub.id }, effects, 'webhook.retried');
    await this.deps.repo.requeueFailed(sub.id, now);
    await this.refreshCards();
    this.kick();
    const state = await this.deps.repo.state(sub.id);
    return this.card(sub, state ?? { id: sub.id, cursor: 0, cardVersion: 0, cardShown: 0 });
  }

  /**
   * **Re-enable** on the owner's card of a subscription disabled by a 410 Gone: an IT admin resumes
   * it; its failed deliveries are re-queued and it picks up every event since from its cursor.
   * Resolves the refreshed card (also updated in place for the owner). Who may is the `webhook.act`
   * command's rule, asked on the bus.
   * @throws NotFoundError for an unknown subscription.
   */
  async enable(email: string, subscriptionId: WebhookSubscriptionId): Promise<OutgoingCard> {
    const sub = this.deps.subscriptions.find((s) => s.id === subscriptionId);
    if (!sub) throw new NotFoundError('the webhook subscription', subscriptionId);
    const now = this.clock();
    // Nothing fails while the subscription is disabled, so the count is what the re-queue below takes.
    const requeued = await this.deps.repo.countFailed(sub.id);
    const effects = [this.auditEffect(sub, { kind: 'person', email }, 'webhook.enabled', { requeued })];
    if (await this.deps.repo.enable(sub.id, email, now, effects)) {
      await this.deps.outbox.settle({ kind: WEBHOOK_HOLDER, id: sub.id }, effects, 'webhook.enabled');
      await this.deps.repo.requeueFailed(sub.id, now);
      await this.refreshCards();
      this.kick();
    }
    const state = await this.deps.repo.state(sub.id);
    return this.card(sub, state ?? { id: sub.id, cursor: 0, cardVersion: 0, cardShown: 0 });
  }

  private auditEffect(
    sub: DispatchSubscription,
    actor: AuditInput['actor'],
    action: string,
    details: Record<string, unknown>,
  ): PendingEffect<AuditInput> {
    return this.deps.outbox.effect<AuditInput>(AUDIT_EFFECT, {
      actor,
      action,
      subject: { type: 'webhook-subscription', id: sub.id },
      details,
      at: this.clock(),
    });
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'its receiver';
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 200);
  return `${err.name}: ${err.message}`.slice(0, 200);
}
