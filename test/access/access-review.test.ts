import type { GrantRecord } from '../../src/core/agents.js';
import { GRANT_JOBS } from '../../src/jobs/grants.js';
import { eventually, people, type Harness } from '../helpers/harness.js';
import { activeAgent, errorOf, startAccessHarness } from './support.js';
import { asAgentId, asGrantId } from '../helpers/ids.js';
import { commandsOf } from '../helpers/commands.js';

const priya = 'priya.raman@brightwater.example';

function grantOf(agentId: string, scope: string): GrantRecord {
  const now = Date.now();
  return {
    id: asGrantId(`grt_${agentId.slice(4, 10)}_${scope.replace(/:/g, '_')}`),
    agentId: asAgentId(agentId),
    scope,
    reason: 'Granted earlier.',
    requestedBy: people.tom,
    approvedBy: [people.liam],
    startsAt: new Date(now - 86_400_000).toISOString(),
    expiresAt: new Date(now + 30 * 86_400_000).toISOString(),
    status: 'active',
    source: 'run_earlier',
    createdAt: new Date(now - 86_400_000).toISOString(),
  };
}

describe('access reviews (embedded database, real scheduler)', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('one Keep, one Revoke, and an unanswered review revoked and escalated to IT after the grace period', async () => {
    h = await startAccessHarness({ reviewGraceMs: 2500, reviewEnforcement: 'revoke' });
    const copilot = await activeAgent(h, { name: 'Support Copilot', sponsors: [people.tom] });
    const triage = await activeAgent(h, { name: 'Ticket Triage', sponsors: [priya] });
    const crm = grantOf(copilot.id, 'crm:read');
    const reply = grantOf(copilot.id, 'tickets:reply');
    const orphan = grantOf(triage.id, 'tickets:reply');
    await h.services.grants.insertMany([crm, reply, orphan]);

    await h.scheduler.agenda.now(GRANT_JOBS.review, {});
    const tomCard = await eventually(() => h.notifier.to(people.tom, 'access-review')[0]);
    const reviewId = String(tomCard.card.data.reviewId);
    expect(tomCard.card.data.items).toEqual([
      expect.objectContaining({ grantId: crm.id, scope: 'crm:read', agentName: 'Support Copilot', state: 'open', canDecide: true }),
      expect.objectContaining({ grantId: reply.id, scope: 'tickets:reply', state: 'open', canDecide: true }),
    ]);
    expect(h.notifier.to(priya, 'access-review')[0]!.card.data.items).toEqual([expect.objectContaining({ grantId: orphan.id })]);

    await commandsOf(h.services).answerReview(people.tom, { cycle: reviewId, grantId: crm.id, answer: 'keep' });
    await commandsOf(h.services).answerReview(people.tom, { cycle: reviewId, grantId: reply.id, answer: 'revoke' });
    // Tom's review card as the chat shows it after his answer.
    const after = (await h.services.reviews.card(reviewId, people.tom))!;
    expect(after.data.items).toEqual([
      expect.objectContaining({ grantId: crm.id, state: 'kept', decidedBy: 'Tom Becker', canDecide: false }),
      expect.objectContaining({ grantId: reply.id, state: 'revoked', decidedBy: 'Tom Becker', canDecide: false }),
    ]);
    expect(
      await errorOf(commandsOf(h.services).answerReview(people.tom, { cycle: reviewId, grantId: crm.id, answer: 'revoke' })),
    ).toMatchObject({
      code: 'not_waiting',
    });
    expect(
      await errorOf(commandsOf(h.services).answerReview(people.tom, { cycle: reviewId, grantId: orphan.id, answer: 'keep' })),
    ).toMatchObject({
      code: 'forbidden',
    });

    // Priya never answers: after the grace period her grant is revoked and IT admins are told.
    const escalation = await eventually(() =>
      h.notifier.to(people.liam, 'notice').find((m) => /not attested/.test(String(m.card.data.title))),
    );
    expect(String(escalation.card.data.text)).toContain('Ticket Triage: tickets:reply (sponsors: Priya Raman)');
    // The escalation's notices are outbox effects performed one after the other: Aisha's follows Liam's.
    await eventually(() => h.notifier.to(people.aisha, 'notice').some((m) => /not attested/.test(String(m.card.data.title))));
    expect(h.notifier.to(people.aisha, 'notice').some((m) => /not attested/.test(String(m.card.data.title)))).toBe(true);
    expect((await h.services.grants.get(orphan.id))!).toMatchObject({ status: 'revoked', endedBy: 'access-review' });
    expect((await h.services.grants.get(crm.id))!.status).toBe('active');
    expect((await h.services.grants.get(reply.id))!.status).toBe('revoked');

    const audit = await h.services.audit.export();
    const of = (id: string) => audit.filter((e) => e.subject.id === id).map((e) => e.action);
    expect(of(crm.id)).toEqual(['grant.review.kept']);
    expect(of(reply.id)).toEqual(['grant.review.revoked', 'grant.revoked']);
    expect(of(orphan.id)).toEqual(['grant.revoked']);
    expect(of(reviewId)).toEqual(['access-review.started', 'access-review.escalated']);
  });

  it('with enforcement "flag", an unanswered grant stays active and is flagged to IT', async () => {
    h = await startAccessHarness({ reviewGraceMs: 1500, reviewEnforcement: 'flag' });
    const agent = await activeAgent(h);
    const crm = grantOf(agent.id, 'crm:read');
    await h.services.grants.insertMany([crm]);
    await h.scheduler.agenda.now(GRANT_JOBS.review, {});
    const flagged = await eventually(() =>
      h.notifier.to(people.liam, 'notice').find((m) => /not attested/.test(String(m.card.data.title))),
    );
    expect(String(flagged.card.data.text)).toContain('are flagged for you to decide');
    expect((await h.services.grants.get(crm.id))!).toMatchObject({
      status: 'active',
      review: expect.objectContaining({ answer: 'flagged' }),
    });
    // The sponsor's refreshed card is an effect of the escalation performed after the IT notices.
    await eventually(() => h.notifier.to(people.tom, 'access-review').length > 1);
    const latest = h.notifier.to(people.tom, 'access-review').at(-1)!;
    expect(latest.card.data.items).toEqual([expect.objectContaining({ state: 'flagged', canDecide: false })]);
  });
});
