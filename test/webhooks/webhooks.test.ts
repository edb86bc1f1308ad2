import { eventIdOf, signedHeaders } from '../../src/core/webhooks.js';
import { activeAgent } from '../access/support.js';
import { eventually, FAST_FLOWS, passingEvaluation, people, startHarness, type Harness } from '../helpers/harness.js';
import {
  newWebhookSecret,
  receiverWithSubscription,
  subscriptionTo,
  WebhookReceiver,
  type ReceivedWebhook,
} from '../helpers/webhook-receiver.js';
import { commandsOf } from '../helpers/commands.js';
import { asAgentId } from '../helpers/ids.js';

/*
 * Signed webhooks through the real services (embedded database, Agenda running), received by a
 * local receiver that verifies each request with the `standardwebhooks` package and parses it
 * with the `cloudevents` package. The services' clock is moved instead of waiting for back-off.
 */

const hiroshi = 'hiroshi.tanaka@brightwater.example'; // data-owner:crm

const itFeed = (events: string) => ({ id: 'it-feed', events, owner: people.aisha });

describe('signed webhooks (embedded database, real scheduler, standardwebhooks + cloudevents receiver)', () => {
  let h: Harness | undefined;
  let receiver: WebhookReceiver;
  let offsetMs = 0;
  const clock = () => new Date(Date.now() + offsetMs);

  async function start(events: string): Promise<Harness> {
    let webhooks;
    ({ receiver, webhooks } = await receiverWithSubscription(itFeed(events)));
    h = await startHarness({ flows: FAST_FLOWS, clock, webhooks });
    return h;
  }

  beforeEach(() => {
    offsetMs = 0;
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await receiver?.stop();
  });

  it('a grant approved, then revoked, arrives as two verified CloudEvents, in order, each once', async () => {
    const harness = await start('[grant.granted, grant.revoked]');
    const agent = await activeAgent(harness);
    const { run, grant } = await commandsOf(harness.services).requestAccess(people.tom, {
      agentId: agent.id,
      scope: 'crm:read',
      duration: '2h',
      reason: 'Look up order history when customers ask about deliveries.',
    });
    for (const approver of [people.liam, hiroshi, people.elena])
      await commandsOf(harness.services).decide(approver, { runId: run.id, stepId: 'approvals', decision: 'approve' });
    await commandsOf(harness.services).revokeGrant(people.tom, grant.id, 'The project ended.');

    const got = await eventually(() => (receiver.accepted().length >= 2 ? receiver.accepted() : undefined));
    expect(got.map((r) => r.event?.type)).toEqual(['com.roster.grant.granted', 'com.roster.grant.revoked']);
    for (const r of got) {
      expect(r.verified).toBe(true);
      expect(r.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
      expect(r.event).toMatchObject({ specversion: '1.0', id: r.webhookId, subject: agent.id, datacontenttype: 'application/json' });
      expect(r.event?.source).toMatch(/^http:\/\/127\.0\.0\.1/);
      expect((r.event?.data as { subject: unknown }).subject).toEqual({ type: 'grant', id: grant.id, agentId: agent.id });
    }
    expect((got[0]!.event!.data as { details: { scope: string } }).details.scope).toBe('crm:read');
    expect((got[1]!.event!.data as { details: { reason: string } }).details.reason).toBe('The project ended.');
    // Approval decisions, the request itself and the card effects were not subscribed to: nothing else came.
    await harness.services.webhooks.tick();
    expect(receiver.received).toHaveLength(2);
  }, 60_000);

  it("an agent's lifecycle arrives in order: requested, each approval, activated, its default grants, key rotated", async () => {
    const harness = await start('[agent.requested, approval.decided, agent.activated, grant.granted, key.rotated]');
    const commands = commandsOf(harness.services);
    const { run, agentId } = await commands.requestAgent(people.amara, {
      roleId: 'hr-onboarding-assistant',
      name: 'Onboarding Buddy',
      purpose: 'Guides new hires through their first two weeks.',
      businessUnit: 'people-ops',
      sponsors: [people.amara],
      justification: 'Onboarding volume doubled this year.',
    });
    await commands.submitEvaluation(people.aisha, agentId, passingEvaluation(harness.org, 'hr-onboarding-assistant'));
    for (const approver of [people.sofia, people.liam, people.grace, people.elena])
      await commands.decide(approver, { runId: run.id, stepId: 'approvals', decision: 'approve' });
    await harness.services.bus.execute(harness.services.bus.person(people.amara), { type: 'agent.key.rotate', agentId });
    const defaults = harness.org.catalog.find((r) => r.id === 'hr-onboarding-assistant')!.defaultScopes.length;
    const expected = [
      'agent.requested',
      ...Array<string>(4).fill('approval.decided'),
      'agent.activated',
      ...Array<string>(defaults).fill('grant.granted'),
      'key.rotated',
    ].map((t) => `com.roster.${t}`);
    const got = await eventually(() => (receiver.accepted().length >= expected.length ? receiver.accepted() : undefined));
    expect(got.map((r) => r.event?.type)).toEqual(expected);
    expect(got.every((r) => r.verified && r.event?.subject === agentId)).toBe(true);
    const decided = got.filter((r) => r.event?.type === 'com.roster.approval.decided');
    expect(decided.map((r) => (r.event?.data as { actor: { email: string } }).actor.email)).toEqual([
      people.sofia,
      people.liam,
      people.grace,
      people.elena,
    ]);
    // The rotated key's secret never leaves Roster: only its id and prefix are in the audit entry.
    const rotated = got[got.length - 1]!;
    expect(Object.keys((rotated.event?.data as { details: object }).details).sort()).toEqual([
      'credentialId',
      'graceMs',
      'prefix',
      'replaced',
    ]);
  }, 90_000);

  it('two Roster processes on one database deliver each event once', async () => {
    const harness = await start("['*']");
    const other = await startHarness({ db: harness.db, flows: FAST_FLOWS, clock, webhooks: subscriptionTo(receiver, itFeed("['*']")) });
    try {
      const appends = Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? harness : other).services.audit.append({
          actor: { kind: 'system', name: 'supervision' },
          action: 'alert.raised',
          subject: { type: 'alert', id: `alr_rep${i}`, agentId: asAgentId(`agt_rep${i % 3}`) },
          details: { kind: 'error-spike', severity: 'warning', summary: `alert ${i}` },
        }),
      );
      await Promise.all(appends);
      await Promise.all([harness.services.webhooks.tick(), other.services.webhooks.tick(), harness.services.webhooks.tick()]);
      await eventually(() => receiver.accepted().length >= 20);
      await Promise.all([harness.services.webhooks.tick(), other.services.webhooks.tick()]);
      expect(receiver.received).toHaveLength(20);
      expect(new Set(receiver.received.map((r) => r.webhookId)).size).toBe(20);
      // Per agent, in the order the audit trail recorded them.
      const seqOf = (r: ReceivedWebhook) => (r.event?.data as { auditSeq: number }).auditSeq;
      for (const agentId of ['agt_rep0', 'agt_rep1', 'agt_rep2']) {
        const seqs = receiver.received.filter((r) => r.event?.subject === agentId).map(seqOf);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      }
    } finally {
      // The whole second Roster (its HTTP server, outbox worker and own connection too); its
      // close() would also close the test's connection, which the first one shares.
      await other.roster.stop();
    }
  }, 60_000);

  it('a receiver answering 500 then 200 gets the same event again with the same webhook-id, re-signed', async () => {
    const harness = await start('[alert.opened]');
    receiver.respond = (_req, index) => (index === 0 ? 500 : 200);
    offsetMs = -30_000;
    const alert = await harness.services.supervision.alerts.raise({
      kind: 'error-spike',
      agentId: asAgentId('agt_0badc0de0badc0de'),
      severity: 'warning',
      summary: 'Failure rate 40 % over the last hour.',
    });
    await eventually(async () => (await harness.services.webhookRepo.undelivered('it-feed', 10))[0]?.attempts === 1);
    const [first] = receiver.received;
    expect(first).toMatchObject({ verified: true, answered: 500 });
    const pending = await harness.services.webhookRepo.undelivered('it-feed', 10);
    expect(pending).toMatchObject([{ status: 'pending', attempts: 1, lastError: 'the receiver answered HTTP 500' }]);
    // The back-off (5 s ± 25 %) is over once the clock is back to now.
    offsetMs = 0;
    await harness.services.webhooks.tick();
    await eventually(() => receiver.received.length >= 2);
    const [, second] = receiver.received as [ReceivedWebhook, ReceivedWebhook];
    expect(second).toMatchObject({ verified: true, answered: 200, webhookId: first!.webhookId });
    expect(second.headers['webhook-timestamp']).not.toBe(first!.headers['webhook-timestamp']);
    expect(second.headers['webhook-signature']).not.toBe(first!.headers['webhook-signature']);
    expect(second.body).toBe(first!.body);
    expect(receiver.accepted().map((r) => r.event?.type)).toEqual(['com.roster.alert.opened']);
    expect((receiver.accepted()[0]!.event!.data as { subject: { id: string } }).subject.id).toBe(alert.id);
    expect(await harness.services.webhookRepo.undelivered('it-feed', 10)).toEqual([]);
  }, 60_000);

  it("keeps each agent's order: an agent's later event waits while its first one fails; other agents' events go", async () => {
    const harness = await start("['*']");
    const entry = (agentId: string, id: string) => ({
      actor: { kind: 'system' as const, name: 'supervision' },
      action: 'alert.raised',
      subject: { type: 'alert', id, agentId: asAgentId(agentId) },
      details: { kind: 'error-spike', severity: 'warning', summary: `alert ${id}` },
    });
    const failOnce = new Set<string>();
    receiver.respond = (req) => {
      const subjectId = (req.event?.data as { subject?: { id?: string } } | undefined)?.subject?.id;
      if (subjectId === 'alr_a1' && !failOnce.has(req.webhookId)) {
        failOnce.add(req.webhookId);
        return 503;
      }
      return 200;
    };
    offsetMs = -30_000;
    await harness.services.audit.appendMany([entry('agt_aaaa', 'alr_a1'), entry('agt_aaaa', 'alr_a2'), entry('agt_bbbb', 'alr_b1')]);
    const subjectOf = (r: ReceivedWebhook) => (r.event?.data as { subject: { id: string } }).subject.id;
    await eventually(
      () => receiver.received.some((r) => subjectOf(r) === 'alr_b1') && receiver.received.some((r) => subjectOf(r) === 'alr_a1'),
    );
    // A few more passes: a2 still waits behind a1 (its back-off is not over).
    await harness.services.webhooks.tick();
    await harness.services.webhooks.tick();
    expect(receiver.received.map(subjectOf).filter((s) => s === 'alr_a2')).toEqual([]);
    expect(receiver.accepted().map(subjectOf)).toEqual(['alr_b1']);

    offsetMs = 0;
    await harness.services.webhooks.tick();
    const accepted = await eventually(() => (receiver.accepted().length >= 3 ? receiver.accepted() : undefined));
    expect(accepted.map(subjectOf)).toEqual(['alr_b1', 'alr_a1', 'alr_a2']);
    expect(accepted.every((r) => r.verified && r.event?.subject === (subjectOf(r) === 'alr_b1' ? 'agt_bbbb' : 'agt_aaaa'))).toBe(true);
  }, 60_000);

  it("more than 500 deliveries stuck behind one agent's failed head never starve another agent's fresh event", async () => {
    const harness = await start("['*']");
    const now = new Date();
    // Older than any audit entry, queued straight through the store: a failed head and 600 waiting behind it.
    const stuck = Array.from({ length: 601 }, (_, i) => ({
      id: `it-feed:stuck${i}`,
      subscriptionId: 'it-feed',
      seq: i - 10_000,
      eventId: `evt_stuck${i}`,
      type: 'alert.opened' as const,
      orderKey: 'agent:agt_stuck',
      body: '{}',
      status: i === 0 ? ('failed' as const) : ('pending' as const),
      attempts: i === 0 ? 12 : 0,
      nextAttemptAt: now,
      createdAt: now,
      ...(i === 0 ? { failedAt: now, firstAttemptAt: now, lastError: 'the receiver answered HTTP 500' } : {}),
    }));
    await harness.services.webhookRepo.insert(stuck);
    await harness.services.audit.append({
      actor: { kind: 'system', name: 'supervision' },
      action: 'alert.raised',
      subject: { type: 'alert', id: 'alr_fresh', agentId: asAgentId('agt_fresh') },
      details: { kind: 'error-spike', severity: 'warning', summary: 'a fresh alert' },
    });
    const got = await eventually(() => (receiver.accepted().length >= 1 ? receiver.accepted() : undefined));
    expect(got.map((r) => r.event?.subject)).toEqual(['agt_fresh']);
    expect(got[0]!.verified).toBe(true);
    // The stuck agent still waits behind its failed head: nothing of it went out, nothing was lost.
    await harness.services.webhooks.tick();
    expect(receiver.received).toHaveLength(1);
    const waiting = await harness.services.webhookRepo.undelivered('it-feed', 1000, 'agent:agt_stuck');
    expect(waiting).toHaveLength(601);
    expect(waiting.filter((d) => d.status === 'pending' && d.attempts === 0)).toHaveLength(600);
    expect(await harness.services.webhookRepo.undelivered('it-feed', 10, 'agent:agt_fresh')).toEqual([]);
  }, 60_000);

  it('queuing a batch again (another process got there first) keeps the stored deliveries and adds only the new ones', async () => {
    const harness = await start("['alert.opened']");
    const now = new Date();
    const delivery = (i: number, body: string) => ({
      id: `it-feed:dup${i}`,
      subscriptionId: 'it-feed',
      seq: i - 20_000,
      eventId: `evt_dup${i}`,
      type: 'alert.opened' as const,
      orderKey: 'agent:agt_dup',
      body,
      status: 'failed' as const,
      attempts: 3,
      nextAttemptAt: now,
      createdAt: now,
    });
    await harness.services.webhookRepo.insert([delivery(0, '{"first":true}'), delivery(1, '{"first":true}')]);
    // The same two (as the other process built them) with a new one between and after them: no error, none lost.
    await harness.services.webhookRepo.insert([
      delivery(0, '{"second":true}'),
      delivery(2, '{"second":true}'),
      delivery(1, '{"second":true}'),
      delivery(3, '{"second":true}'),
    ]);
    const stored = await harness.services.webhookRepo.undelivered('it-feed', 10, 'agent:agt_dup');
    expect(stored.map((d) => [d.id, d.body])).toEqual([
      ['it-feed:dup0', '{"first":true}'],
      ['it-feed:dup1', '{"first":true}'],
      ['it-feed:dup2', '{"second":true}'],
      ['it-feed:dup3', '{"second":true}'],
    ]);
  });

  it('delivers a burst of 40 events to a healthy receiver, each once and verified, and measures the lag', async () => {
    const harness = await start("['*']");
    const storedAt = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const entry = await harness.services.audit.append({
        actor: { kind: 'system', name: 'supervision' },
        action: 'alert.raised',
        subject: { type: 'alert', id: `alr_lag${i}`, agentId: asAgentId(`agt_lag${i % 8}`) },
        details: { kind: 'error-spike', severity: 'warning', summary: `alert ${i}` },
      });
      storedAt.set(eventIdOf(entry), Date.now());
    }
    await eventually(() => receiver.accepted().length >= 40);
    const lags = receiver
      .accepted()
      .map((r) => r.receivedAt - storedAt.get(r.webhookId)!)
      .sort((a, b) => a - b);
    const p95 = lags[Math.ceil(lags.length * 0.95) - 1]!;
    expect(lags).toHaveLength(40);
    expect(receiver.received).toHaveLength(40);
    // The bound (p95 under 1 s) is measured by the benchmark on an idle machine; this
    // shared test machine only bounds it loosely, so the test stays reliable under load.
    expect(p95).toBeLessThan(15_000);
    process.stdout.write(`webhook lag over 40 events: p50 ${lags[19]} ms, p95 ${p95} ms\n`);
  }, 60_000);

  it('a tampered signature or body fails verification in the receiver (the check can fail)', async () => {
    receiver = new WebhookReceiver(newWebhookSecret());
    await receiver.start();
    const body = JSON.stringify({ specversion: '1.0', id: 'evt_1_abc', source: '/roster', type: 'com.roster.grant.revoked', data: {} });
    const post = (headers: Record<string, string>, text: string) => fetch(receiver.url, { method: 'POST', headers, body: text });
    const good = signedHeaders(receiver.secret, 'evt_1_abc', new Date(), body);
    expect((await post(good, body)).status).toBe(200);
    expect((await post(good, body.replace('revoked', 'granted'))).status).toBe(400);
    const wrongKey = signedHeaders(newWebhookSecret(), 'evt_1_abc', new Date(), body);
    expect((await post(wrongKey, body)).status).toBe(400);
    const stale = signedHeaders(receiver.secret, 'evt_1_abc', new Date(Date.now() - 10 * 60_000), body);
    expect((await post(stale, body)).status).toBe(400);
    expect(receiver.received.map((r) => r.verified)).toEqual([true, false, false, false]);
    expect(receiver.received[1]!.verifyError).toMatch(/signature/i);
  });
});
