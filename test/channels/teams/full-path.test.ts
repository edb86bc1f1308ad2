import { checkTeamsCard } from '../../../src/cards/checks.js';
import { loadOrgConfig } from '../../../src/config/org-config.js';
import { teamsTestRosterPerSuite } from '../../helpers/app.js';
import { FakeConnector } from '../../helpers/fake-connector.js';
import { passingEvaluation, people, SHIPPED_CONFIG } from '../../helpers/harness.js';
import { button, cardButtons, cardText, cardVerbs, inputIds } from './card-reading.js';
import { teamsUser } from './teams-client.js';

const ROLE = 'kb-answerer'; // low risk: the business-unit approver and an IT admin
const grace = 'grace.liu@brightwater.example'; // security, engineering: the requester here
const noah = 'noah.fischer@brightwater.example'; // approver:engineering

describe('Teams: the whole request, from the catalog to an active agent, in Teams alone', () => {
  const suite = teamsTestRosterPerSuite();

  it('runs catalog → request form → evaluation → two Action.Execute approvals → active, with proactive cards', async () => {
    const { roster, connector, client } = suite;
    const person = (email: string) => roster.chat.person(email)!;
    const me = teamsUser(person(grace));
    const approvers = { noah: teamsUser(person(noah)), liam: teamsUser(person(people.liam)), aisha: teamsUser(person(people.aisha)) };

    // Everyone installs Roster in their personal scope: references are stored, a welcome card is sent.
    for (const u of [me, ...Object.values(approvers)]) {
      expect((await client.install(u)).status).toBe(200);
      expect((await client.membersAdded(u)).status).toBe(200);
    }
    const welcome = FakeConnector.card(connector.posts(me.conversationId)[0]);
    expect(cardText(welcome)).toContain("Hi Grace, I'm Roster");
    expect(cardText(welcome)).toContain('catalog');

    // 1. "catalog" as a plain message: the catalog card with a Request button per role.
    connector.reset();
    expect((await client.message(me, 'catalog')).status).toBe(200);
    const [catalogReply] = connector.posts(me.conversationId);
    const catalog = FakeConnector.card(catalogReply);
    expect(cardText(catalog)).toContain('Knowledge-base answerer');
    expect(cardVerbs(catalog).length).toBeGreaterThan(1);
    expect(cardVerbs(catalog).every((v) => v === 'catalog_request')).toBe(true);

    // 2. Request: the card turns into the request form.
    const kbRequest = cardButtons(catalog).find((b) => b.data?.roleId === ROLE)!;
    expect(kbRequest.title).toBe('Request');
    const formResponse = await client.execute(me, 'catalog_request', kbRequest.data!, { replyToId: catalogReply!.createdId! });
    expect(formResponse.status).toBe(200);
    expect(formResponse.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    const form = formResponse.card!;
    expect(cardText(form)).toContain('Knowledge-base answerer');
    expect(inputIds(form)).toEqual(['agentName', 'purpose', 'businessUnit', 'sponsorEmails', 'justification']);

    // A form with a missing field comes back with the field marked, and nothing is created.
    const incomplete = await client.execute(me, 'agent_request_submit', {
      ...button(form, 'agent_request_submit').data,
      agentName: 'Docs Helper',
    });
    expect(cardText(incomplete.card)).toContain('Please check the fields marked below');
    expect(inputIds(incomplete.card)).toContain('purpose');
    expect(await roster.services.agents.list({})).toHaveLength(0);

    // 3. Send the request: the form becomes a confirmation; the status card arrives proactively.
    connector.reset();
    const sent = await client.execute(me, 'agent_request_submit', {
      ...button(form, 'agent_request_submit').data,
      agentName: 'Docs Helper',
      purpose: 'Answers engineering how-to questions from the internal wiki.',
      businessUnit: 'engineering',
      sponsorEmails: grace,
      justification: 'The platform team answers the same questions every week.',
    });
    expect(cardText(sent.card)).toContain('Request sent: Docs Helper');
    const [agent] = await roster.services.agents.list({});
    expect(agent).toMatchObject({ name: 'Docs Helper', status: 'requested', businessUnit: 'engineering', requestedBy: grace });
    const [statusPost] = connector.posts(me.conversationId);
    expect(statusPost!.path).toMatch(/\/v3\/conversations\/[^/]+\/activities$/);
    expect(cardText(FakeConnector.card(statusPost))).toContain('Your request: Docs Helper');
    const statusActivityId = statusPost!.createdId!;
    const waiting = connector
      .puts(me.conversationId)
      .filter((c) => c.activityId === statusActivityId)
      .at(-1);
    expect(cardText(FakeConnector.card(waiting))).toContain('Waiting for evaluation results');

    // 4. "eval Docs Helper": typed-in results are an IT admin's, with a reason, so the requester is pointed to IT;
    // Aisha (IT admin) gets the evaluation form, and submitting passing results opens the approvals.
    connector.reset();
    await client.message(me, 'eval Docs Helper');
    expect(cardText(FakeConnector.card(connector.posts(me.conversationId)[0]))).toContain('Typed-in results need an IT admin');
    connector.reset();
    await client.message(approvers.aisha, 'eval Docs Helper');
    const evalForm = FakeConnector.card(connector.posts(approvers.aisha.conversationId)[0]);
    expect(inputIds(evalForm)).toEqual(['accuracy', 'p95LatencyMs', 'costPerTaskUsd', 'roleFit', 'notes']);
    const results = passingEvaluation(loadOrgConfig(SHIPPED_CONFIG), ROLE);
    connector.reset();
    const verdict = await client.execute(approvers.aisha, 'evaluation_submit', {
      ...button(evalForm, 'evaluation_submit').data,
      accuracy: String(results.accuracy),
      p95LatencyMs: String(results.p95LatencyMs),
      costPerTaskUsd: String(results.costPerTaskUSD),
      roleFit: results.roleFitChecked.map((_, i) => i).join(','),
      notes: 'Tested on 200 questions from last quarter.',
    });
    expect(cardText(verdict.card)).toContain('Evaluation passed');

    // The status card changed in place (PUT on the same activity), and each approver got a card.
    const statusUpdate = connector
      .puts(me.conversationId)
      .filter((c) => c.activityId === statusActivityId)
      .at(-1);
    expect(cardText(FakeConnector.card(statusUpdate))).toContain('Waiting for approval (0 of 2)');
    const approvalCards = Object.fromEntries(
      Object.entries(approvers).map(([name, u]) => [name, connector.posts(u.conversationId).at(-1)!] as const),
    );
    for (const post of Object.values(approvalCards)) {
      const card = FakeConnector.card(post);
      expect(cardText(card)).toContain('Approve Docs Helper (');
      expect(cardVerbs(card)).toEqual(['approval_approve', 'approval_deny']);
    }

    // 5. Noah approves from his card: his card shows his decision, the others' cards move to 1 of 2.
    connector.reset();
    const noahCard = FakeConnector.card(approvalCards.noah);
    const first = await client.execute(approvers.noah, 'approval_approve', button(noahCard, 'approval_approve').data!, {
      replyToId: approvalCards.noah!.createdId!,
    });
    expect(first.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    expect(cardText(first.card)).toContain('Approved by **Noah Fischer**');
    expect(cardText(first.card)).toContain('You have already decided');
    expect(cardVerbs(first.card)).toEqual([]);
    // The invoke answers once the decision is stored; the other cards and the run's next steps follow through the outbox.
    await roster.services.outbox.idle();
    const aishaUpdate = connector
      .puts(approvers.aisha.conversationId)
      .filter((c) => c.activityId === approvalCards.aisha!.createdId)
      .at(-1);
    expect(cardText(FakeConnector.card(aishaUpdate))).toContain('1 of 2 approvals');
    expect(cardVerbs(FakeConnector.card(aishaUpdate))).toEqual(['approval_approve', 'approval_deny']);

    // 6. Liam approves: the agent is active, and the requester hears about it proactively.
    connector.reset();
    const liamCard = FakeConnector.card(approvalCards.liam);
    const second = await client.execute(approvers.liam, 'approval_approve', button(liamCard, 'approval_approve').data!, {
      replyToId: approvalCards.liam!.createdId!,
    });
    expect(cardText(second.card)).toContain('**Approved** by Liam');
    expect(cardVerbs(second.card)).toEqual([]);
    // The invoke answers once the decision is stored; the other cards and the run's next steps follow through the outbox.
    await roster.services.outbox.idle();
    expect((await roster.services.agents.get(agent!.id))?.status).toBe('active');

    const toRequester = connector.posts(me.conversationId).map((c) => cardText(FakeConnector.card(c)));
    expect(toRequester.some((t) => t.includes('Docs Helper is active'))).toBe(true);
    expect(toRequester.some((t) => t.includes('telemetry key'))).toBe(true);
    const finalStatus = connector
      .puts(me.conversationId)
      .filter((c) => c.activityId === statusActivityId)
      .at(-1);
    expect(cardText(FakeConnector.card(finalStatus))).toContain('Active');
    // Aisha's card (she never clicked) now says approved, with no buttons left.
    const aishaFinal = connector.puts(approvers.aisha.conversationId).at(-1);
    expect(cardText(FakeConnector.card(aishaFinal))).toContain('**Approved**');
    expect(cardVerbs(FakeConnector.card(aishaFinal))).toEqual([]);
    // Anonymous local mode: no token was sent to the connector.
    expect(connector.calls.every((c) => c.authorization === undefined)).toBe(true);

    // Stored state and the audit trail say the same.
    const run = await roster.services.runs.get(agent!.requestRunId);
    expect(run?.status).toBe('completed');
    expect(run?.steps.approvals?.decisions?.map((d) => [d.by, d.decision])).toEqual([
      [noah, 'approve'],
      [people.liam, 'approve'],
    ]);
    const trail = await roster.services.audit.export({ agentId: agent!.id });
    const actions = trail.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['run.started', 'gate.passed', 'step.approved', 'agent.onboarded', 'run.completed']));
    expect(trail.filter((e) => e.action === 'decision.approve').map((e) => (e.actor as { email: string }).email)).toEqual([
      noah,
      people.liam,
    ]);
    expect(await roster.services.audit.verify()).toMatchObject({ ok: true });

    // Every card Teams was sent or handed back is one Teams accepts (Adaptive Cards 1.5, its limits).
    const cards = [
      ...connector.history.map((c) => FakeConnector.card(c)).filter(Boolean),
      ...[formResponse, incomplete, sent, verdict, first, second].map((r) => r.card),
    ];
    expect(cards.length).toBeGreaterThan(20);
    for (const card of cards) expect(checkTeamsCard(card)).toEqual([]);
  });
});
