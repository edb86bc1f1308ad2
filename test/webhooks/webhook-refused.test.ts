import mongoose, { type Connection } from 'mongoose';
import {
  isRefusal,
  WebhookDispatcher,
  type DispatchSubscription,
  type WebhookDelivery,
  type WebhookRepository,
} from '../../src/core/webhooks.js';
import { createWebhookRepository } from '../../src/store/webhook-store.js';
import { eventually, FAST_FLOWS, people, startHarness, type Harness } from '../helpers/harness.js';
import { silentLogger } from '../helpers/logger.js';
import { RecordingNotifier } from '../helpers/recording-notifier.js';
import { newWebhookSecret, receiverWithSubscription, type ReceivedWebhook, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { asAgentId, asWebhookSubscriptionId } from '../helpers/ids.js';
import { webhookCards } from '../../src/views/webhook-cards.js';

/*
 * Two loose ends of signed webhooks (issue 18), through the real services and the embedded
 * database. A receiver that refuses a delivery with a 4xx other than 408/409/425/429 gets it once,
 * not for 24 hours: the delivery is parked at once and the IT owner gets the Retry card, while
 * "not now" answers are still retried. And the owner's card is posted once even when two
 * dispatchers (two replicas) on one database refresh it at the same moment.
 */

const REFUSED = { agt_r400: 400, agt_r401: 401, agt_r403: 403, agt_r404: 404, agt_r422: 422 } as const;
const NOT_NOW = { agt_t408: 408, agt_t409: 409, agt_t425: 425, agt_t429: 429 } as const;
const STATUS: Record<string, number> = { ...REFUSED, ...NOT_NOW };

const alertEntry = (agentId: string, id: string) => ({
  actor: { kind: 'system' as const, name: 'supervision' },
  action: 'alert.raised',
  subject: { type: 'alert', id, agentId: asAgentId(agentId) },
  details: { kind: 'error-spike', severity: 'warning', summary: `alert ${id}` },
});

describe('a webhook receiver refusing a delivery with a 4xx', () => {
  let h: Harness | undefined;
  let receiver: WebhookReceiver | undefined;
  let offsetMs = 0;
  const clock = () => new Date(Date.now() + offsetMs);

  afterEach(async () => {
    await h?.close();
    h = undefined;
    await receiver?.stop();
    receiver = undefined;
  });

  it('classifies answers: 4xx refusals are final; 408, 409, 425, 429 and 5xx are "not now"; 410 is handled apart', () => {
    for (const status of [400, 401, 403, 404, 405, 413, 415, 422, 451, 499]) expect(isRefusal(status)).toBe(true);
    for (const status of [200, 301, 408, 409, 410, 425, 429, 500, 502, 503, 504]) expect(isRefusal(status)).toBe(false);
  });

  it("parks a refused delivery after one attempt and tells the owner with Retry; 'not now' answers are retried; Retry delivers in order", async () => {
    const subjectOf = (r: ReceivedWebhook) => (r.event?.data as { subject: { id: string; agentId: string } }).subject;
    let webhooks;
    ({ receiver, webhooks } = await receiverWithSubscription({
      id: 'it-feed',
      events: '[alert.opened]',
      owner: people.aisha,
      respond: (req) => STATUS[subjectOf(req).agentId] ?? 200,
    }));
    // Thirty seconds in the past, so the back-off of the "not now" answers (5 s) is over once the clock is back.
    offsetMs = -30_000;
    h = await startHarness({ flows: FAST_FLOWS, clock, webhooks });
    // The webhook figures Roster serves at /metrics.
    const registry = h.roster.http.metrics.registry;
    const agents = Object.keys(STATUS);
    await h.services.audit.appendMany([
      ...agents.map((agentId) => alertEntry(agentId, `alr_${agentId}`)),
      // A later event of a refused agent waits behind its refused head (each agent's order is kept).
      alertEntry('agt_r400', 'alr_agt_r400_2'),
    ]);

    const heads = await eventually(async () => {
      const all = await h!.services.webhookRepo.undelivered('it-feed', 50);
      const tried = all.filter((d) => d.attempts === 1);
      return tried.length === agents.length ? all : undefined;
    });
    const byAgent = (agentId: string) => heads.find((d) => d.orderKey === `agent:${agentId}` && d.attempts === 1)!;
    for (const [agentId, status] of Object.entries(REFUSED)) {
      expect(byAgent(agentId)).toMatchObject({
        status: 'failed',
        attempts: 1,
        refusedStatus: status,
        lastError: `the receiver answered HTTP ${status}`,
      });
    }
    for (const [agentId, status] of Object.entries(NOT_NOW)) {
      const d = byAgent(agentId);
      expect(d).toMatchObject({ status: 'pending', attempts: 1, lastError: `the receiver answered HTTP ${status}` });
      expect(d.refusedStatus).toBeUndefined();
    }
    expect(heads.find((d) => d.orderKey === 'agent:agt_r400' && d.attempts === 0)).toMatchObject({ status: 'pending' });

    // Back to now: the "not now" deliveries are due again and retried; the refused ones are never sent again.
    offsetMs = 0;
    await h.services.webhooks.tick();
    await eventually(() => Object.keys(NOT_NOW).every((a) => receiver!.received.filter((r) => subjectOf(r).agentId === a).length >= 2));
    await h.services.webhooks.tick();
    for (const agentId of Object.keys(REFUSED)) {
      expect(receiver.received.filter((r) => subjectOf(r).agentId === agentId).map((r) => r.answered)).toEqual([STATUS[agentId]]);
    }
    expect(await h.services.webhookRepo.countFailed('it-feed')).toBe(Object.keys(REFUSED).length);

    // The owner has one card, with Retry, saying the receiver refused them and that a refusal is not retried.
    const [told] = await eventually(() => {
      const cards = h!.notifier.to(people.aisha, 'notice');
      return cards.length && String((cards[0]!.card.data as { title: string }).title).includes('5 deliveries failed') ? cards : undefined;
    });
    expect(h.notifier.to(people.aisha, 'notice')).toHaveLength(1);
    expect(told!.card.data).toMatchObject({ level: 'error', title: 'Webhook it-feed: 5 deliveries failed' });
    const text = String((told!.card.data as { text: string }).text);
    expect(text).toMatch(/the receiver refused them with HTTP 4\d\d\./);
    expect(text).toContain('is not retried');
    expect(text).not.toContain('hours of retries');
    expect((told!.card.data as { actions: unknown[] }).actions).toEqual([
      { action: 'webhook_retry', label: 'Retry', style: 'primary', value: { subscriptionId: 'it-feed' } },
    ]);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/^roster_webhook_deliveries_failed_total\{subscription="it-feed"\} 5$/m);
    expect(metrics).toMatch(/^roster_webhook_failed_deliveries\{subscription="it-feed"\} 5$/m);

    // Fixed receiver, Retry: every parked delivery goes, and the one queued behind agt_r400's head after it.
    receiver.respond = () => 200;
    const card = await h.services.webhooks.retry(people.aisha, asWebhookSubscriptionId('it-feed'));
    expect(card.data).toMatchObject({ level: 'success' });
    const refusedAgents = Object.keys(REFUSED);
    const accepted = await eventually(() => {
      const got = receiver!.accepted().filter((r) => refusedAgents.includes(subjectOf(r).agentId));
      return got.length === refusedAgents.length + 1 ? got : undefined;
    });
    expect(accepted.filter((r) => subjectOf(r).agentId === 'agt_r400').map((r) => subjectOf(r).id)).toEqual([
      'alr_agt_r400',
      'alr_agt_r400_2',
    ]);
    expect(accepted.every((r) => r.verified)).toBe(true);
    expect(await h.services.webhookRepo.countFailed('it-feed')).toBe(0);
    expect((await h.services.webhookRepo.refusals('it-feed')).count).toBe(0);
  }, 90_000);
});

describe("the webhook owner's card with two dispatchers on one database", () => {
  let h: Harness | undefined;
  const connections: Connection[] = [];

  afterEach(async () => {
    for (const c of connections.splice(0)) await c.close();
    await h?.close();
    h = undefined;
  });

  /** A second connection to the harness's database: another Roster process's view of it. */
  async function replicaRepo(): Promise<WebhookRepository> {
    const connection = await mongoose
      .createConnection(h!.db.uri, { dbName: h!.db.dbName, serverSelectionTimeoutMS: 5000, autoCreate: false })
      .asPromise();
    connections.push(connection);
    return createWebhookRepository(connection);
  }

  /**
   * Holds each caller of `staleCards` until `parties` have called it, so both dispatchers read the
   * card as stale before either shows it: the race of two replicas, made to happen every time.
   */
  function together(parties: number) {
    let arrived = 0;
    let open: () => void = () => undefined;
    const allThere = new Promise<void>((resolve) => (open = resolve));
    return (repo: WebhookRepository): WebhookRepository => ({
      ...repo,
      async staleCards() {
        arrived += 1;
        if (arrived === parties) open();
        if (arrived <= parties) await allThere;
        return repo.staleCards();
      },
    });
  }

  const sub: DispatchSubscription = {
    id: 'it-feed',
    url: 'http://127.0.0.1:9/hooks',
    events: ['alert.opened'],
    secret: newWebhookSecret(),
    owner: people.aisha,
  };

  const dispatcher = (
    repo: WebhookRepository,
    notifier: RecordingNotifier | { send: RecordingNotifier['send']; update: RecordingNotifier['update'] },
  ) =>
    new WebhookDispatcher({
      subscriptions: [sub],
      repo,
      transport: async () => ({ status: 200 }),
      notifier,
      source: 'http://127.0.0.1',
      retryWindowMs: 24 * 3_600_000,
      outbox: h!.services.outbox,
      log: silentLogger(),
      cards: webhookCards,
    });

  /** A delivery that failed for good (as after its retries), with the card asked for. */
  async function failOne(repo: WebhookRepository, seq: number): Promise<void> {
    const now = new Date();
    const delivery: WebhookDelivery = {
      id: `${sub.id}:${seq}`,
      subscriptionId: sub.id,
      seq,
      eventId: `evt_${seq}_0123456789abcdef`,
      type: 'alert.opened',
      orderKey: `agent:agt_card${seq}`,
      body: '{}',
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      createdAt: now,
    };
    await repo.insert([delivery]);
    await repo.failed(delivery.id, { attempts: 12, failedAt: now, firstAttemptAt: now, lastError: 'the receiver answered HTTP 503' });
    await repo.touchCard(sub.id);
  }

  it('posts the card once when both refresh it at the first send, then both update that one message in place', async () => {
    h = await startHarness({ flows: FAST_FLOWS });
    const [repoA, repoB] = [await replicaRepo(), await replicaRepo()];
    await repoA.ensureState(sub.id, 0);
    await failOne(repoA, 1);
    // One chat: both replicas post to the same owner through the same platform.
    const chat = new RecordingNotifier();

    const first = together(2);
    await Promise.all([dispatcher(first(repoA), chat).refreshCards(), dispatcher(first(repoB), chat).refreshCards()]);
    expect(chat.to(people.aisha, 'notice')).toHaveLength(1);
    const [posted] = chat.messages;
    expect(posted!.versions[0]!.data).toMatchObject({ title: 'Webhook it-feed: 1 delivery failed' });
    const state = await repoB.state(sub.id);
    expect(state).toMatchObject({ cardRef: posted!.ref, cardShown: state!.cardVersion });
    expect(state).not.toHaveProperty('cardPostUntil');

    // A second failure: both refresh again at once; the one message is updated, no second one is posted.
    await failOne(repoB, 2);
    const second = together(2);
    await Promise.all([dispatcher(second(repoA), chat).refreshCards(), dispatcher(second(repoB), chat).refreshCards()]);
    expect(chat.messages).toHaveLength(1);
    expect(chat.to(people.aisha, 'notice')[0]!.card.data).toMatchObject({ title: 'Webhook it-feed: 2 deliveries failed' });
    expect(await repoA.staleCards()).toEqual([]);
  }, 60_000);

  it('a first post that fails gives its claim back, so the next pass posts it (once)', async () => {
    h = await startHarness({ flows: FAST_FLOWS });
    const repo = await replicaRepo();
    await repo.ensureState(sub.id, 0);
    await failOne(repo, 1);
    const chat = new RecordingNotifier();
    let down = true;
    const flaky = {
      send: (to: string, card: Parameters<RecordingNotifier['send']>[1]) =>
        down ? Promise.reject(new Error('chat is down')) : chat.send(to, card),
      update: chat.update.bind(chat),
    };
    const webhooks = dispatcher(repo, flaky);
    await webhooks.refreshCards();
    expect(chat.messages).toEqual([]);
    expect(await repo.staleCards()).toHaveLength(1);
    down = false;
    await webhooks.refreshCards();
    await webhooks.refreshCards();
    expect(chat.to(people.aisha, 'notice')).toHaveLength(1);
  }, 60_000);
});
