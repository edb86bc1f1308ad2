import { FakeConnector } from '../helpers/fake-connector.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import { CONTRACT_EXTENSION_IN_2S, shippedConfigWith } from '../helpers/config-copy.js';
import { eventually, people } from '../helpers/harness.js';
import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { approvalCardsTo } from '../helpers/slack-journeys.js';
import { appHomeOpened, buttonClick, interaction, postSlack, slashCommand, viewSubmission } from '../helpers/slack-requests.js';
import { receiverWithSubscription, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { button, cardButtons, cardText, cardVerbs } from '../channels/teams/card-reading.js';
import { type TeamsClient, teamsUser } from '../channels/teams/teams-client.js';
import { agentClient } from '../api/support.js';
import { asApprovalId } from '../helpers/ids.js';

/*
 * Issue 19, item 5 and the webhooks of runtime approvals, through the real endpoints: what people
 * see in Slack App Home and the Teams home card (runtime approvals with the agent's action and
 * age, hand-offs with Take it), the agent's decision log with its runtime approvals, a sponsor's
 * boundary change that only takes effect once an IT admin approves it (both steps audited), and
 * the `approval.decided` webhook for an approval, a denial and a timeout, verified by a receiver
 * built on `standardwebhooks` and `cloudevents`.
 */

const MAYA = { id: 'U04B7K2M9QX', email: 'maya.chen@brightwater.example' }; // finance approver, Slack
const DANIEL = { id: 'U05D9W4H7LE', email: 'daniel.okafor@brightwater.example' }; // the agents' requester
const SOFIA = 'sofia.alvarez@brightwater.example'; // prefers Teams
const JONAS = { id: 'U06R5C2T8WK', email: 'jonas.weber@brightwater.example' }; // recruiter
const LIAM = { id: 'U04K7R3D9SW', email: people.liam }; // IT admin

describe('people see and decide what agents ask, in App Home and the Teams home card; boundaries change only with IT', () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let teams: TeamsClient;
  let receiver: WebhookReceiver;
  let roster: TestRoster;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    let webhooks;
    ({ receiver, webhooks } = await receiverWithSubscription({ id: 'agents-feed', events: '[approval.decided]', owner: people.aisha }));
    ({ slack, connector, roster, teams, stop } = await onBothPlatforms({
      configDir: shippedConfigWith('roster-runtime-chat-', { 'procurement-agent': [CONTRACT_EXTENSION_IN_2S] }),
      webhooks,
    }));
  });
  afterAll(async () => {
    await stop?.();
    await receiver?.stop();
  });

  const { agentAndToken, api } = agentClient(() => roster);

  const procurement = (name: string, sponsor = MAYA.email) => ({
    catalogRoleId: 'procurement-agent',
    businessUnit: 'finance',
    sponsors: [sponsor],
    requestedBy: DANIEL.email,
    name,
  });
  const modify = (key: string, summary = 'Extend the Acme cleaning contract by 12 months at the same rate.') => ({
    action: 'contracts.modify',
    summary,
    details: { contractId: 'C-2291', supplier: 'Acme Facilities', change: 'Extend to 2026-06-30', amountUSD: 48000 },
    idempotency_key: key,
  });

  /** A resume screener sponsored by Sofia; its hand-offs go to the recruiters (Jonas). */
  const screener = (name: string, requestedBy = SOFIA) => ({
    catalogRoleId: 'resume-screener',
    businessUnit: 'people-ops',
    sponsors: [SOFIA],
    requestedBy,
    name,
  });
  /** A new screener named `agentName` hands a candidate review to the recruiters; resolves the hand-off's id. */
  async function candidateHandoff(
    agentName: string,
    key: string,
    summary: string,
    details: { candidateRef: string; position: string },
  ): Promise<string> {
    const { token } = await agentAndToken(screener(agentName));
    const created = await api(token, 'POST', '/api/v1/handoffs', { kind: 'candidate-review', summary, details, idempotency_key: key });
    expect(created.status).toBe(201);
    return String(created.body.id);
  }

  /** Opens App Home for a Slack user and returns the view Roster publishes next. */
  async function openHome(userId: string): Promise<{ blocks: unknown; text: string }> {
    const before = slack.of('views.publish', (a) => a.user_id === userId).length;
    expect((await postSlack(roster.baseUrl, appHomeOpened(userId))).status).toBe(200);
    const published = await eventually(() => slack.of('views.publish', (a) => a.user_id === userId)[before]);
    const view = published.args.view as { type: string; blocks: unknown };
    expect(view.type).toBe('home');
    return { blocks: view.blocks, text: JSON.stringify(view.blocks) };
  }

  /** The `approval.decided` CloudEvents the receiver accepted about one runtime approval. */
  const allDecided = (approvalId: string) =>
    receiver
      .accepted()
      .filter((r) => r.event?.type === 'com.roster.approval.decided')
      .map((r) => r.event!.data as { action: string; subject: { type: string; id: string }; details: Record<string, unknown> })
      .filter((d) => d.subject.type === 'runtime-approval' && d.subject.id === approvalId);
  /** Its outcome (approved, denied, timed out): the event an agent acts on; each person's vote comes as `decision.*`. */
  const decidedEvents = (approvalId: string) => allDecided(approvalId).filter((d) => d.action.startsWith('runtime.'));

  it('App Home lists a runtime approval with the agent, its action and age; Approve there answers the agent and fires approval.decided', async () => {
    const { agent, token } = await agentAndToken(procurement('Home desk'));
    const read = await api(token, 'POST', '/api/v1/approvals', {
      action: 'suppliers.read',
      summary: 'Compare offers',
      idempotency_key: 'home-read-01',
    });
    expect(read.body.status).toBe('allowed');
    const hostile = 'Extend Acme <!channel> *now* <https://evil.example|click>';
    const asked = await api(token, 'POST', '/api/v1/approvals', modify('home-0001', hostile));
    expect(asked.body.status).toBe('pending');
    const id = String(asked.body.id);
    const record = await eventually(async () => {
      const r = await roster.services.runtime.get(agent.id, asApprovalId(id));
      return r.runId && approvalCardsTo(slack, MAYA.id, r.runId).length ? r : undefined;
    });

    // Before deciding, the approver sees the agent's recent decisions on the card.
    const card = JSON.stringify(approvalCardsTo(slack, MAYA.id, record.runId!)[0]!.args.blocks);
    expect(card).toContain('Recent decisions of this agent');
    expect(card).toContain('Read supplier data: allowed (autonomous)');

    const home = await openHome(MAYA.id);
    expect(home.text).toContain('Home desk');
    expect(home.text).toContain('Asks to Modify a supplier contract (contracts.modify)');
    expect(home.text).toMatch(/asked (under a minute|\d+ minutes?) ago/);
    expect(home.text).not.toContain('<!channel>');
    expect(home.text).not.toContain('<https://evil.example|click>');
    const approve = actionElements(home.blocks).find((e) => e.action_id === 'approval_approve' && String(e.value).includes(record.runId!));
    expect(approve).toBeDefined();

    const poll = api(token, 'GET', `/api/v1/approvals/${id}?wait=30`);
    const publishedBefore = slack.of('views.publish', (a) => a.user_id === MAYA.id).length;
    const click = {
      ...buttonClick(MAYA.id, 'approval_approve', String(approve!.value), undefined, { type: 'view', view_id: 'VHOME1' }),
      view: { id: 'VHOME1', type: 'home', team_id: 'TBRIGHT' },
    };
    expect((await postSlack(roster.baseUrl, interaction(click))).status).toBe(200);
    expect((await poll).body).toMatchObject({ status: 'approved', decided_by: [MAYA.email] });
    // App Home is published again for her, without the decided request.
    const again = await eventually(() => slack.of('views.publish', (a) => a.user_id === MAYA.id)[publishedBefore]);
    expect(actionElements((again.args.view as { blocks: unknown }).blocks).some((e) => String(e.value ?? '').includes(record.runId!))).toBe(
      false,
    );

    const [event] = await eventually(() => {
      const got = decidedEvents(id);
      return got.length ? got : undefined;
    });
    expect(event).toMatchObject({
      action: 'runtime.approved',
      details: { reason: 'approved', decidedBy: [MAYA.email], action: 'contracts.modify' },
    });
    expect(allDecided(id).map((d) => d.action)).toEqual(['decision.approve', 'runtime.approved']);

    // The agent's decision log shows the runtime approval and who decided it.
    await postSlack(roster.baseUrl, slashCommand(MAYA.id, `decisions "Home desk"`, slack.responseUrl('log-home')));
    const log = JSON.stringify((await slack.waitForResponse('log-home')).body);
    expect(log).toContain('Runtime approvals, newest first');
    expect(log).toContain(`Modify a supplier contract: approved by ${MAYA.email}`);
    expect(log).not.toContain('<!channel>');
  });

  it('Deny… on App Home opens the reason modal; its submit answers the agent and republishes Home without the request', async () => {
    const { agent, token } = await agentAndToken(procurement('Home deny desk'));
    const asked = await api(token, 'POST', '/api/v1/approvals', modify('home-deny-0001'));
    expect(asked.body.status).toBe('pending');
    const id = String(asked.body.id);
    const record = await eventually(async () => {
      const r = await roster.services.runtime.get(agent.id, asApprovalId(id));
      return r.runId && approvalCardsTo(slack, MAYA.id, r.runId).length ? r : undefined;
    });
    const onHome = (blocks: unknown) => actionElements(blocks).filter((e) => String(e.value ?? '').includes(record.runId!));

    const home = await openHome(MAYA.id);
    expect(home.text).toContain('Asks to Modify a supplier contract (contracts.modify)');
    const deny = onHome(home.blocks).find((e) => e.action_id === 'approval_deny');
    expect(deny).toBeDefined();
    const from = slack.calls.length;
    const click = {
      ...buttonClick(MAYA.id, 'approval_deny', String(deny!.value), undefined, { type: 'view', view_id: 'VHOME2' }),
      view: { id: 'VHOME2', type: 'home', team_id: 'TBRIGHT' },
    };
    expect((await postSlack(roster.baseUrl, interaction(click))).status).toBe(200);
    const opened = await eventually(() =>
      slack.calls
        .slice(from)
        .find((c) => c.method === 'views.open' && (c.args.view as { callback_id?: string }).callback_id === 'approval_deny_submit'),
    );

    const poll = api(token, 'GET', `/api/v1/approvals/${id}?wait=30`);
    const publishedBefore = slack.of('views.publish', (a) => a.user_id === MAYA.id).length;
    const reason = 'Wait for the Q3 tender before extending.';
    const submit = viewSubmission(MAYA.id, opened.args.view as Record<string, unknown>, {
      reason: { reason: { type: 'plain_text_input', value: reason } },
    });
    expect((await postSlack(roster.baseUrl, interaction(submit))).status).toBe(200);
    expect((await poll).body).toMatchObject({ status: 'denied', reason: 'denied', message: reason, decided_by: [MAYA.email] });
    // App Home is published again for her, without the denied request.
    const again = await eventually(() => slack.of('views.publish', (a) => a.user_id === MAYA.id)[publishedBefore]);
    expect(onHome((again.args.view as { blocks: unknown }).blocks)).toEqual([]);
    // The agent stays among her agents; the request is no longer among what waits for her.
    expect(JSON.stringify((again.args.view as { blocks: unknown }).blocks)).not.toContain('Asks to Modify a supplier contract');
  });

  it('the Teams home card lists it too; Deny there with a reason answers the agent and fires approval.decided', async () => {
    const sofia = teamsUser(roster.chat.person(SOFIA)!);
    expect((await teams.install(sofia)).status).toBe(200);
    const { agent, token } = await agentAndToken(procurement('Teams home desk', SOFIA));
    const asked = await api(token, 'POST', '/api/v1/approvals', modify('teams-home-0001'));
    const id = String(asked.body.id);
    const record = await eventually(async () => {
      const r = await roster.services.runtime.get(agent.id, asApprovalId(id));
      return r.runId ? r : undefined;
    });
    await eventually(() => connector.posts(sofia.conversationId).find((p) => cardText(FakeConnector.card(p)).includes('Teams home desk')));

    connector.reset();
    expect((await teams.message(sofia, 'home')).status).toBe(200);
    const home = await eventually(() => {
      const post = connector.posts(sofia.conversationId).find((p) => cardText(FakeConnector.card(p)).includes('Waiting for your approval'));
      return post ? FakeConnector.card(post) : undefined;
    });
    expect(cardText(home)).toContain('Teams home desk');
    expect(cardText(home)).toContain('Asks to Modify a supplier contract (contracts.modify)');
    expect(cardText(home)).toMatch(/asked (under a minute|\d+ minutes?) ago/);
    expect(cardVerbs(home)).toEqual(expect.arrayContaining(['approval_approve', 'approval_deny']));
    const deny = button(home, 'approval_deny');
    expect(JSON.stringify(deny.data)).toContain(record.runId!);
    const reasonId = String(deny.data!.reasonInputId ?? 'reason');
    const denied = await teams.execute(sofia, 'approval_deny', { ...deny.data!, [reasonId]: 'Not before the Q3 tender.' });
    expect(denied.status).toBe(200);
    // Her home card again, fresh, without the request (not the decided approval card in its place).
    expect(cardText(denied.card)).toContain('Here are the approvals waiting for you');
    expect(cardText(denied.card)).not.toContain('Asks to Modify a supplier contract');

    const decided = await api(token, 'GET', `/api/v1/approvals/${id}?wait=20`);
    expect(decided.body).toMatchObject({ status: 'denied', reason: 'denied', message: 'Not before the Q3 tender.', decided_by: [SOFIA] });
    const [event] = await eventually(() => {
      const got = decidedEvents(id);
      return got.length ? got : undefined;
    });
    expect(event).toMatchObject({ action: 'runtime.denied', details: { reason: 'denied', message: 'Not before the Q3 tender.' } });
  });

  /** Sends "home" in Teams and returns the home card Roster posts once it lists what `ready` looks for. */
  async function teamsHome(user: ReturnType<typeof teamsUser>, ready: (text: string) => boolean): Promise<Record<string, unknown>> {
    connector.reset();
    expect((await teams.message(user, 'home')).status).toBe(200);
    return eventually(() => {
      const post = connector.posts(user.conversationId).find((p) => {
        const text = cardText(FakeConnector.card(p));
        return text.includes('Here are the approvals waiting for you') && ready(text);
      });
      return post ? (FakeConnector.card(post) as Record<string, unknown>) : undefined;
    });
  }
  /** The buttons of a card that act on one request (runtime approval run, hand-off). */
  const buttonsFor = (card: unknown, verb: string, id: string) =>
    cardButtons(card).filter((b) => b.verb === verb && Object.values(b.data ?? {}).includes(id));

  it('Approve on the Teams home card answers the agent and gives the clicker the home card again, without the request', async () => {
    const sofia = teamsUser(roster.chat.person(SOFIA)!);
    expect((await teams.install(sofia)).status).toBe(200);
    const { agent, token } = await agentAndToken(procurement('Teams home approve desk', SOFIA));
    const asked = await api(token, 'POST', '/api/v1/approvals', modify('teams-home-approve-0001'));
    const id = String(asked.body.id);
    const record = await eventually(async () => {
      const r = await roster.services.runtime.get(agent.id, asApprovalId(id));
      return r.runId ? r : undefined;
    });
    await eventually(() =>
      connector.posts(sofia.conversationId).find((p) => cardText(FakeConnector.card(p)).includes('Teams home approve desk')),
    );

    const home = await teamsHome(sofia, (text) => text.includes('Asks to Modify a supplier contract'));
    const [approve] = buttonsFor(home, 'approval_approve', record.runId!);
    expect(approve).toBeDefined();
    const clicked = await teams.execute(sofia, 'approval_approve', approve!.data!);
    expect(clicked.status).toBe(200);
    // Her home card, fresh (as Slack publishes App Home again): the request is no longer waiting there.
    expect(cardText(clicked.card)).toContain('Here are the approvals waiting for you');
    expect(cardText(clicked.card)).not.toContain('Asks to Modify a supplier contract');
    expect(buttonsFor(clicked.card, 'approval_approve', record.runId!)).toEqual([]);
    expect(cardVerbs(clicked.card)).not.toContain('approval_refresh');

    const decided = await api(token, 'GET', `/api/v1/approvals/${id}?wait=20`);
    expect(decided.body).toMatchObject({ status: 'approved', reason: 'approved', decided_by: [SOFIA] });
  });

  it('Take it and Resolve on the Teams home card act on the hand-off and give the recruiter the home card again', async () => {
    const jonas = teamsUser(roster.chat.person(JONAS.email)!);
    expect((await teams.install(jonas)).status).toBe(200);
    const id = await candidateHandoff('Teams home screener', 'teams-home-handoff-0001', 'A strong candidate for the data role.', {
      candidateRef: 'CAND-7002',
      position: 'Data engineer',
    });
    await eventually(async () => (await roster.services.handoffs.openFor(JONAS.email)).find((h) => h.id === id));

    const home = await teamsHome(jonas, (text) => text.includes('Hand-off from Teams home screener to Recruiters'));
    const [take] = buttonsFor(home, 'handoff_take', id);
    expect(take).toBeDefined();
    const taken = await teams.execute(jonas, 'handoff_take', take!.data!);
    expect(taken.status).toBe(200);
    // His home card again, with the case as taken and its Resolve buttons, not the hand-off's own card.
    expect(cardText(taken.card)).toContain('Here are the approvals waiting for you');
    expect(cardText(taken.card)).toContain('(you took it)');
    expect(buttonsFor(taken.card, 'handoff_take', id)).toEqual([]);
    const [resolve] = buttonsFor(taken.card, 'handoff_resolve', id);
    expect(resolve).toBeDefined();
    expect((await roster.services.handoffs.openFor(JONAS.email)).find((h) => h.id === id)).toMatchObject({
      status: 'taken',
      takenBy: JONAS.email,
    });

    const resolved = await teams.execute(jonas, 'handoff_resolve', resolve!.data!);
    expect(resolved.status).toBe(200);
    expect(cardText(resolved.card)).toContain('Here are the approvals waiting for you');
    expect(cardText(resolved.card)).not.toContain('Hand-off from Teams home screener to Recruiters');
    expect((await roster.services.handoffs.openFor(JONAS.email)).some((h) => h.id === id)).toBe(false);
  });

  it('a timeout denies the request and fires approval.decided with the reason timeout', async () => {
    const { token } = await agentAndToken(procurement('Timeout desk'));
    const asked = await api(token, 'POST', '/api/v1/approvals', {
      action: 'contracts.extend',
      summary: 'Extend C-9',
      details: { contractId: 'C-9' },
      idempotency_key: 'extend-hook-0001',
    });
    const id = String(asked.body.id);
    expect((await api(token, 'GET', `/api/v1/approvals/${id}?wait=30`)).body).toMatchObject({ status: 'denied', reason: 'timeout' });
    const [event] = await eventually(() => {
      const got = decidedEvents(id);
      return got.length ? got : undefined;
    }, 30_000);
    expect(event).toMatchObject({ action: 'runtime.denied', details: { reason: 'timeout', decidedBy: [] } });
    expect(decidedEvents(id)).toHaveLength(1);
  });

  it("a recruiter's App Home lists an open hand-off with its age and Take it; taking it there leaves Resolve buttons", async () => {
    const id = await candidateHandoff('Home screener', 'home-handoff-0001', 'Strong candidate <!here> for the platform role.', {
      candidateRef: 'CAND-7001',
      position: 'Platform engineer',
    });
    await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === JONAS.id && actionElements(a.blocks).some((e) => e.action_id === 'handoff_take' && String(e.value).includes(id)),
    );

    const home = await openHome(JONAS.id);
    expect(home.text).toContain('Hand-offs and changes waiting for you');
    expect(home.text).toContain('Hand-off from Home screener to Recruiters');
    expect(home.text).toMatch(/waiting (under a minute|\d+ min)/);
    expect(home.text).not.toContain('<!here>');
    const take = actionElements(home.blocks).find((e) => e.action_id === 'handoff_take' && String(e.value).includes(id));
    expect(take).toBeDefined();

    const click = {
      ...buttonClick(JONAS.id, 'handoff_take', String(take!.value), undefined, { type: 'view', view_id: 'VHOME2' }),
      view: { id: 'VHOME2', type: 'home', team_id: 'TBRIGHT' },
    };
    const publishedBefore = slack.of('views.publish', (a) => a.user_id === JONAS.id).length;
    expect((await postSlack(roster.baseUrl, interaction(click))).status).toBe(200);
    // His Home is published again on its own, with the case as taken and its Resolve buttons.
    const republished = await eventually(() => slack.of('views.publish', (a) => a.user_id === JONAS.id)[publishedBefore]);
    const republishedBlocks = (republished.args.view as { blocks: unknown }).blocks;
    expect(JSON.stringify(republishedBlocks)).toContain('(you took it)');
    expect(actionElements(republishedBlocks).some((e) => e.action_id === 'handoff_take' && String(e.value).includes(id))).toBe(false);
    const handoff = await eventually(async () => {
      const h = await roster.services.handoffs.openFor(JONAS.email);
      return h.find((x) => x.id === id && x.status === 'taken');
    });
    expect(handoff.takenBy).toBe(JONAS.email);
    const after = await openHome(JONAS.id);
    expect(after.text).toContain('(you took it)');
    expect(
      actionElements(after.blocks).filter((e) => e.action_id === 'handoff_resolve' && String(e.value).includes(id)).length,
    ).toBeGreaterThan(0);

    // Resolve on Home: the case leaves his Home, published again without it.
    const resolve = actionElements(after.blocks).find((e) => e.action_id === 'handoff_resolve' && String(e.value).includes(id))!;
    const resolvedBefore = slack.of('views.publish', (a) => a.user_id === JONAS.id).length;
    const resolveClick = {
      ...buttonClick(JONAS.id, 'handoff_resolve', String(resolve.value), undefined, { type: 'view', view_id: 'VHOME2' }),
      view: { id: 'VHOME2', type: 'home', team_id: 'TBRIGHT' },
    };
    expect((await postSlack(roster.baseUrl, interaction(resolveClick))).status).toBe(200);
    const cleared = await eventually(() => slack.of('views.publish', (a) => a.user_id === JONAS.id)[resolvedBefore]);
    const clearedText = JSON.stringify((cleared.args.view as { blocks: unknown }).blocks);
    expect(clearedText).not.toContain('Hand-off from Home screener to Recruiters');
    expect((await roster.services.handoffs.openFor(JONAS.email)).some((x) => x.id === id)).toBe(false);
  });

  it('a sponsor changes a boundary only through IT: refused for others, waits for an IT admin, applies once approved, audited', async () => {
    const { agent, token } = await agentAndToken(procurement('Boundary desk'));
    const reason = 'Amendments under 50k are routine and the buyers review them weekly.';

    // Not a sponsor (the agent's requester): refused, nothing stored.
    await postSlack(
      roster.baseUrl,
      slashCommand(DANIEL.id, `boundary "Boundary desk" contracts.modify autonomous ${reason}`, slack.responseUrl('b-daniel')),
    );
    expect(JSON.stringify((await slack.waitForResponse('b-daniel')).body)).toContain("Only Boundary desk's sponsors can ask");
    // Bad input from the sponsor: a clear message each, nothing stored.
    await postSlack(
      roster.baseUrl,
      slashCommand(MAYA.id, `boundary "Boundary desk" contracts.burn autonomous ${reason}`, slack.responseUrl('b-unknown')),
    );
    expect(JSON.stringify((await slack.waitForResponse('b-unknown')).body)).toContain('contracts.burn is not an action');
    await postSlack(
      roster.baseUrl,
      slashCommand(MAYA.id, `boundary "Boundary desk" contracts.modify sometimes ${reason}`, slack.responseUrl('b-mode')),
    );
    expect(JSON.stringify((await slack.waitForResponse('b-mode')).body)).toContain('autonomous, needs-approval or forbidden');
    await postSlack(
      roster.baseUrl,
      slashCommand(MAYA.id, `boundary "Boundary desk" contracts.modify autonomous`, slack.responseUrl('b-noreason')),
    );
    expect(JSON.stringify((await slack.waitForResponse('b-noreason')).body)).toContain('reason of at least 10 characters');
    expect(await roster.services.boundaryChanges.override(agent.id, 'contracts.modify')).toBeUndefined();

    // The sponsor asks; IT admins get the change with Approve / Deny…; nothing changes yet.
    await postSlack(
      roster.baseUrl,
      slashCommand(MAYA.id, `boundary "Boundary desk" contracts.modify autonomous ${reason}`, slack.responseUrl('b-maya')),
    );
    const sent = JSON.stringify((await slack.waitForResponse('b-maya')).body);
    expect(sent).toContain('Boundary change sent to IT');
    const card = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === LIAM.id && actionElements(a.blocks).some((e) => e.action_id === 'boundary_approve'),
    );
    const itCard = JSON.stringify(card.args.blocks);
    expect(itCard).toContain('Boundary change for Boundary desk: IT approval needed');
    expect(itCard).toContain('from needs approval (asks a person first) to autonomous (acts alone)');
    expect(itCard).toContain(reason);
    const approve = actionElements(card.args.blocks).find((e) => e.action_id === 'boundary_approve')!;
    const changeId = String(JSON.parse(String(approve.value)).changeId);
    // A second request while it waits is refused.
    await postSlack(
      roster.baseUrl,
      slashCommand(MAYA.id, `boundary "Boundary desk" contracts.modify forbidden ${reason}`, slack.responseUrl('b-twice')),
    );
    expect(JSON.stringify((await slack.waitForResponse('b-twice')).body)).toContain('already waiting for IT');
    const before = await api(token, 'POST', '/api/v1/approvals', modify('boundary-0001'));
    expect(before.body.status).toBe('pending');

    // IT admins' home card lists it with the same buttons.
    const home = await openHome(LIAM.id);
    expect(home.text).toContain('Boundary change for Boundary desk');
    expect(actionElements(home.blocks).some((e) => e.action_id === 'boundary_approve' && String(e.value).includes(changeId))).toBe(true);

    // The sponsor cannot approve her own change (she is no IT admin): refused server-side.
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(MAYA.id, 'boundary_approve', String(approve.value), slack.responseUrl('b-self'))),
    );
    expect(JSON.stringify((await slack.waitForResponse('b-self')).body)).toContain('Only IT admins can decide boundary changes');
    expect(await roster.services.boundaryChanges.override(agent.id, 'contracts.modify')).toBeUndefined();

    // An IT admin approves: the card shows it, the sponsor is told, the override applies to the next request.
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(LIAM.id, 'boundary_approve', String(approve.value), slack.responseUrl('b-liam'))),
    );
    expect(JSON.stringify((await slack.waitForResponse('b-liam')).body)).toContain('Boundary change for Boundary desk approved');
    await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === MAYA.id && JSON.stringify(a.blocks).includes('Boundary change for Boundary desk approved'),
    );
    expect(await roster.services.boundaryChanges.override(agent.id, 'contracts.modify')).toEqual({ mode: 'autonomous', changeId });
    // The agent's profile shows the override beside the catalog's boundary, who asked and who approved.
    await postSlack(roster.baseUrl, slashCommand(DANIEL.id, 'show Boundary desk', slack.responseUrl('b-profile')));
    const profile = JSON.stringify((await slack.waitForResponse('b-profile')).body);
    expect(profile).toContain('Boundaries changed from the catalog');
    expect(profile).toContain('Modify a supplier contract: autonomous (catalog: needs approval), changed by Maya Chen, approved by Liam O');
    expect(profile).toContain(`(request ${changeId})`);
    const after = await api(token, 'POST', '/api/v1/approvals', modify('boundary-0002'));
    expect(after.body).toMatchObject({ status: 'allowed', reason: 'autonomous' });
    // A second click (a second IT admin, or a retry) changes nothing.
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick('U04L2V8F5HY', 'boundary_approve', String(approve.value), slack.responseUrl('b-aisha'))),
    );
    expect(JSON.stringify((await slack.waitForResponse('b-aisha')).body)).toContain('This request is approved');

    // Then the sponsor asks to forbid it; the IT admin denies with a reason through the Deny… prompt.
    await postSlack(
      roster.baseUrl,
      slashCommand(
        MAYA.id,
        `boundary "Boundary desk" contracts.modify forbidden Legal wants every change to go through them.`,
        slack.responseUrl('b-2'),
      ),
    );
    await slack.waitForResponse('b-2');
    const second = await slack.waitFor(
      'chat.postMessage',
      (a) =>
        a.channel === LIAM.id &&
        actionElements(a.blocks).some((e) => e.action_id === 'boundary_deny' && !String(e.value).includes(changeId)),
    );
    const denyButton = actionElements(second.args.blocks).find((e) => e.action_id === 'boundary_deny')!;
    const opensBefore = slack.of('views.open').length;
    await postSlack(roster.baseUrl, interaction(buttonClick(LIAM.id, 'boundary_deny', String(denyButton.value))));
    const opened = await eventually(() => slack.of('views.open')[opensBefore]);
    const modal = opened.args.view as Record<string, unknown>;
    expect(JSON.stringify(modal)).toContain('Deny the change');
    const submit = await postSlack(
      roster.baseUrl,
      interaction(
        viewSubmission(LIAM.id, modal, { text: { text: { type: 'plain_text_input', value: 'Legal reviews the buyers already.' } } }),
      ),
    );
    expect(submit.status).toBe(200);
    await slack.waitFor(
      'chat.postMessage',
      (a) =>
        a.channel === MAYA.id &&
        JSON.stringify(a.blocks).includes('Boundary change for Boundary desk denied') &&
        JSON.stringify(a.blocks).includes('Legal reviews the buyers already.'),
    );
    expect((await roster.services.boundaryChanges.override(agent.id, 'contracts.modify'))?.mode).toBe('autonomous');

    const audit = await eventually(async () => {
      const trail = await roster.services.audit.export({ agentId: agent.id });
      return trail.some((e) => e.action === 'boundary.change-denied') ? trail : undefined;
    });
    const boundary = audit.filter((e) => e.action.startsWith('boundary.'));
    expect(boundary.map((e) => [e.action, e.actor])).toEqual([
      ['boundary.change-requested', { kind: 'person', email: MAYA.email }],
      ['boundary.change-approved', { kind: 'person', email: LIAM.email }],
      ['boundary.change-requested', { kind: 'person', email: MAYA.email }],
      ['boundary.change-denied', { kind: 'person', email: LIAM.email }],
    ]);
    expect(boundary[0]!.details).toMatchObject({ changeId, action: 'contracts.modify', from: 'needs-approval', to: 'autonomous', reason });
    expect(boundary[3]!.details).toMatchObject({ from: 'autonomous', to: 'forbidden', reason: 'Legal reviews the buyers already.' });
  });
  it("an IT admin's Approve and Deny… on a boundary change clicked on App Home publish that Home again without it", async () => {
    await agentAndToken(procurement('Home boundary desk'));
    const homeClick = (actionId: string, value: string) => ({
      ...buttonClick(LIAM.id, actionId, value, undefined, { type: 'view', view_id: 'VHOME3' }),
      view: { id: 'VHOME3', type: 'home', team_id: 'TBRIGHT' },
    });
    const nextHome = async (before: number) => {
      const published = await eventually(() => slack.of('views.publish', (a) => a.user_id === LIAM.id)[before]);
      return (published.args.view as { blocks: unknown }).blocks;
    };
    const ask = async (mode: string, key: string) => {
      await postSlack(
        roster.baseUrl,
        slashCommand(
          MAYA.id,
          `boundary "Home boundary desk" contracts.modify ${mode} The buyers review these every week.`,
          slack.responseUrl(key),
        ),
      );
      expect(JSON.stringify((await slack.waitForResponse(key)).body)).toContain('Boundary change sent to IT');
      const home = await openHome(LIAM.id);
      const button = (verb: string) =>
        actionElements(home.blocks).find(
          (e) => e.action_id === verb && JSON.stringify(home.blocks).includes('Boundary change for Home boundary desk'),
        );
      return { approve: button('boundary_approve')!, deny: button('boundary_deny')! };
    };

    const first = await ask('autonomous', 'hb-1');
    const changeId = String(JSON.parse(String(first.approve.value)).changeId);
    let before = slack.of('views.publish', (a) => a.user_id === LIAM.id).length;
    expect((await postSlack(roster.baseUrl, interaction(homeClick('boundary_approve', String(first.approve.value))))).status).toBe(200);
    const afterApprove = await nextHome(before);
    expect(actionElements(afterApprove).some((e) => String(e.value ?? '').includes(changeId))).toBe(false);
    expect(JSON.stringify(afterApprove)).not.toContain('Boundary change for Home boundary desk');
    expect((await roster.services.boundaryChanges.get(changeId))?.status).toBe('approved');

    const second = await ask('forbidden', 'hb-2');
    const secondId = String(JSON.parse(String(second.deny.value)).changeId);
    const opensBefore = slack.of('views.open').length;
    expect((await postSlack(roster.baseUrl, interaction(homeClick('boundary_deny', String(second.deny.value))))).status).toBe(200);
    const modal = (await eventually(() => slack.of('views.open')[opensBefore])).args.view as Record<string, unknown>;
    before = slack.of('views.publish', (a) => a.user_id === LIAM.id).length;
    const submit = await postSlack(
      roster.baseUrl,
      interaction(viewSubmission(LIAM.id, modal, { text: { text: { type: 'plain_text_input', value: 'Legal reviews these already.' } } })),
    );
    expect(submit.status).toBe(200);
    const afterDeny = await nextHome(before);
    expect(actionElements(afterDeny).some((e) => String(e.value ?? '').includes(secondId))).toBe(false);
    expect((await roster.services.boundaryChanges.get(secondId))?.status).toBe('denied');
  });

  it('the same in Teams: the sponsor asks in a message, an IT admin denies through the Deny… prompt card, the sponsor reads why', async () => {
    const sofia = teamsUser(roster.chat.person(SOFIA)!);
    const aisha = teamsUser(roster.chat.person(people.aisha)!);
    expect((await teams.install(sofia)).status).toBe(200);
    expect((await teams.install(aisha)).status).toBe(200);
    const { agent, token } = await agentAndToken(screener('Teams screener', 'amara.osei@brightwater.example'));
    connector.reset();
    expect(
      (
        await teams.message(
          sofia,
          'boundary "Teams screener" candidate.screen needs-approval Screening should be checked during the pilot.',
        )
      ).status,
    ).toBe(200);
    const sent = await eventually(() =>
      connector.posts(sofia.conversationId).find((p) => cardText(FakeConnector.card(p)).includes('Boundary change sent to IT')),
    );
    expect(cardText(FakeConnector.card(sent))).toContain('from autonomous to needs-approval');
    const change = (await roster.services.audit.export({ agentId: agent.id })).find((e) => e.action === 'boundary.change-requested');
    const changeId = String(change?.details.changeId);

    const prompt = await teams.execute(aisha, 'boundary_deny', { changeId });
    expect(prompt.status).toBe(200);
    expect(cardText(prompt.card)).toContain('Deny the change');
    const submit = button(prompt.card, 'prompt_submit').data ?? {};
    // An empty reason is refused with the prompt again.
    const empty = await teams.execute(aisha, 'prompt_submit', { ...submit, text: ' ' });
    expect(cardText(empty.card)).toContain('Tell the sponsor why');
    const denied = await teams.execute(aisha, 'prompt_submit', { ...submit, text: 'The pilot already samples screenings weekly.' });
    expect(cardText(denied.card)).toContain('Boundary change for Teams screener denied');
    await eventually(() =>
      connector
        .posts(sofia.conversationId)
        .find((p) => cardText(FakeConnector.card(p)).includes('The pilot already samples screenings weekly.')),
    );
    expect(await roster.services.boundaryChanges.override(agent.id, 'candidate.screen')).toBeUndefined();
    const screened = await api(token, 'POST', '/api/v1/approvals', {
      action: 'candidate.screen',
      summary: 'Screen CAND-1',
      idempotency_key: 'teams-screen-0001',
    });
    expect(screened.body).toMatchObject({ status: 'allowed', reason: 'autonomous' });
    const trail = await eventually(async () => {
      const t = await roster.services.audit.export({ agentId: agent.id });
      return t.some((e) => e.action === 'boundary.change-denied') ? t : undefined;
    });
    expect(trail.find((e) => e.action === 'boundary.change-denied')).toMatchObject({
      actor: { kind: 'person', email: people.aisha },
      details: { changeId, from: 'autonomous', to: 'needs-approval', reason: 'The pilot already samples screenings weekly.' },
    });
  });
});
