import type { AgentId } from '../../src/core/ids.js';
import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import { agentRecord, degradedCheckIn, eventually, grantRecord, people } from '../helpers/harness.js';
import { appHomeOpened, buttonClick, interaction, postSlack, slashCommand, viewSubmission } from '../helpers/slack-requests.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { cardButtons, cardText, inputIds } from './teams/card-reading.js';
import { type TeamsClient, teamsUser } from './teams/teams-client.js';
import type { AgentRecord } from '../../src/core/agents.js';

/*
 * Issue 22 item 5: `find` by status, role, business unit, sponsor, scope, data class, risk, last
 * check-in and cost, a page at a time, through the real endpoints: `/roster find …` to Bolt's
 * receiver (signed), the same words to the Agents SDK as a Teams message, and Previous / Next
 * clicked on both (Slack: the card replaced through its response_url; Teams: the invoke response).
 * Only agents the person may see are found.
 */

const LIAM = { id: 'U04K7R3D9SW', email: people.liam }; // it-admin: sees every agent; Slack and Teams
const DANIEL = { id: 'U05D9W4H7LE', email: people.daniel }; // requester in finance; Slack only

const text = (value: unknown) => JSON.stringify(value);

/** The agent names a Slack message lists (its section headings), in order. */
const slackNames = (blocks: unknown): string[] =>
  (blocks as Array<{ type: string; text?: { text?: string } }>)
    .filter((b) => b.type === 'section' && /^\*.+\*\s+`agt_/.test(b.text?.text ?? ''))
    .map((b) => /^\*(.+?)\*/.exec(b.text!.text!)![1]!);

describe('find agents in Slack and Teams', () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let roster: TestRoster;
  let stop: () => Promise<void>;
  let client: TeamsClient;
  let alpha: AgentRecord;
  let beta: AgentRecord;
  let gamma: AgentRecord;
  let seq = 0;

  const ask = async (userId: string, words: string) => {
    seq += 1;
    const id = `find-${seq}`;
    await postSlack(roster.baseUrl, slashCommand(userId, words, slack.responseUrl(id)));
    return (await slack.waitForResponse(id)).body as { blocks: unknown; text: string; replace_original?: boolean };
  };

  beforeAll(async () => {
    ({
      slack,
      connector,
      roster,
      teams: client,
      stop,
    } = await onBothPlatforms({
      // Many questions from one person in a minute: the chat rate limit is not what this tests.
      org: (org) => ({
        ...org,
        settings: {
          ...org.settings,
          rateLimits: { ...org.settings.rateLimits, chat: { ...org.settings.rateLimits.chat, requests: 1000 } },
        },
      }),
    }));
    const { agents, grants, supervision } = roster.services;
    alpha = agentRecord({ name: 'Findable Alpha', catalogRoleId: 'support-assistant', sponsors: [people.tom] });
    beta = agentRecord({
      name: 'Findable Beta',
      catalogRoleId: 'invoice-triage',
      businessUnit: 'finance',
      sponsors: [people.daniel],
    });
    gamma = agentRecord({
      name: 'Findable Gamma',
      catalogRoleId: 'fraud-screening',
      businessUnit: 'finance',
      sponsors: [people.maya],
      status: 'suspended',
    });
    for (const agent of [alpha, beta, gamma]) await agents.insert(agent);
    // Twelve more in customer support, for paging.
    for (let i = 1; i <= 12; i++) {
      await agents.insert(agentRecord({ name: `Pager ${String(i).padStart(2, '0')}`, catalogRoleId: 'kb-answerer' }));
    }
    await grants.insert(grantRecord(alpha.id, 'crm:write'));
    await grants.insert(grantRecord(beta.id, 'crm:write', { status: 'revoked' }));
    // Alpha was healthy once, degraded at its latest check-in; Beta and Gamma were never checked in.
    const older = {
      ...degradedCheckIn('ci_alpha_1', alpha.id),
      verdict: 'healthy' as const,
      at: new Date(Date.now() - 86_400_000).toISOString(),
    };
    await supervision.checkinRepo.save(older);
    await supervision.checkinRepo.save(degradedCheckIn('ci_alpha_2', alpha.id));
    const event = (agentId: AgentId, n: number, costUSD: number) => ({
      agentId,
      eventId: `${agentId}-${n}`,
      time: new Date(Date.now() - n * 3_600_000),
      taskType: 'task',
      outcome: 'success' as const,
      latencyMs: 100,
      costUSD,
    });
    // Alpha spent $150 over the last days, Beta $10, Gamma nothing.
    await supervision.telemetry.ingest([event(alpha.id, 1, 100), event(alpha.id, 30, 50), event(beta.id, 2, 10)]);
  });
  afterAll(() => stop?.());

  it('Slack: every filter at once finds exactly the one agent that matches them all', async () => {
    const body = await ask(
      LIAM.id,
      'find status:active role:"Customer support assistant" bu:customer-support sponsor:@tom scope:crm:write data:pii risk:medium checkin:degraded cost>100',
    );
    expect(slackNames(body.blocks)).toEqual(['Findable Alpha']);
    expect(text(body.blocks)).toContain('1–1 of 1 agent · page 1 of 1');
    // Each filter on its own really filters: one changed value and Alpha is gone.
    for (const words of [
      'find findable status:suspended',
      'find findable cost>150',
      'find findable checkin:healthy',
      'find findable scope:crm:read',
      'find findable risk:high',
      'find findable data:health',
      'find findable sponsor:maya.chen@brightwater.example',
      'find findable bu:finance',
    ]) {
      expect(slackNames((await ask(LIAM.id, words)).blocks)).not.toContain('Findable Alpha');
    }
  });

  it('Slack: no check-in, cheap, risky, by business unit name and sponsor e-mail', async () => {
    expect(slackNames((await ask(LIAM.id, 'find findable checkin:none')).blocks)).toEqual(['Findable Beta', 'Findable Gamma']);
    expect(slackNames((await ask(LIAM.id, 'find findable cost<50')).blocks)).toEqual(['Findable Beta', 'Findable Gamma']);
    expect(slackNames((await ask(LIAM.id, 'find risk:high bu:Finance')).blocks)).toEqual(['Findable Gamma']);
    // A revoked grant is not holding the scope.
    expect(slackNames((await ask(LIAM.id, 'find scope:crm:write')).blocks)).toEqual(['Findable Alpha']);
    expect(slackNames((await ask(LIAM.id, `find sponsor:${people.daniel}`)).blocks)).toEqual(['Findable Beta']);
  });

  it('only agents the person may see: a finance requester finds finance agents, never customer support ones', async () => {
    expect(slackNames((await ask(DANIEL.id, 'find findable')).blocks)).toEqual(['Findable Beta', 'Findable Gamma']);
    const none = await ask(DANIEL.id, 'find Pager');
    expect(slackNames(none.blocks)).toEqual([]);
    expect(text(none.blocks)).toContain('No agent you may see matches');
    expect(slackNames((await ask(DANIEL.id, 'find scope:crm:write')).blocks)).toEqual([]);
    // The read is recorded beside the audit chain, with what was asked.
    const reads = await roster.services.reads.list();
    expect(
      reads.some((r) => r.action === 'agents.found' && r.actor.kind === 'person' && (r.actor as { email: string }).email === DANIEL.email),
    ).toBe(true);
  });

  it('the visibility rule in the query: agents naming the person as requester or proposed sponsor, and each branch indexed', async () => {
    const { agents } = roster.services;
    await agents.insert(
      agentRecord({ name: 'Findable Asked', businessUnit: 'engineering', sponsors: [people.maya], requestedBy: people.daniel }),
    );
    await agents.insert(
      agentRecord({
        name: 'Findable Proposed',
        businessUnit: 'engineering',
        sponsors: [people.maya],
        requestedBy: people.maya,
        proposedSponsors: [{ id: 'sp_find', email: people.daniel, by: people.liam, at: new Date().toISOString() }],
      }),
    );
    await agents.insert(
      agentRecord({ name: 'Findable Hidden', businessUnit: 'engineering', sponsors: [people.maya], requestedBy: people.maya }),
    );
    expect(slackNames((await ask(DANIEL.id, 'find findable bu:engineering')).blocks)).toEqual(['Findable Asked', 'Findable Proposed']);
    // An $or is served by indexes only when every branch has one (the embedded server lists them; MongoDB uses them).
    const keys = (await roster.db.connection.collection('agents').indexes()).map((i) => Object.keys(i.key)[0]);
    expect(keys).toEqual(expect.arrayContaining(['sponsors', 'proposedSponsors.email', 'requestedBy', 'businessUnit']));
  });

  it('Slack: Next page replaces the card in place with the next ten, then Previous brings the first back', async () => {
    const first = await ask(LIAM.id, 'find pager');
    expect(slackNames(first.blocks)).toEqual(Array.from({ length: 10 }, (_, i) => `Pager ${String(i + 1).padStart(2, '0')}`));
    expect(text(first.blocks)).toContain('1–10 of 12 agents · page 1 of 2');
    const next = actionElements(first.blocks).find((b) => b.action_id === 'find_page')!;
    expect(JSON.parse(String(next.value))).toEqual({ page: 2, q: 'pager' });
    await postSlack(roster.baseUrl, interaction(buttonClick(LIAM.id, 'find_page', String(next.value), slack.responseUrl('next'))));
    const second = (await slack.waitForResponse('next')).body as { blocks: unknown; replace_original?: boolean };
    expect(second.replace_original).toBe(true);
    expect(slackNames(second.blocks)).toEqual(['Pager 11', 'Pager 12']);
    expect(text(second.blocks)).toContain('11–12 of 12 agents · page 2 of 2');
    const buttons = actionElements(second.blocks).filter((b) => b.action_id === 'find_page');
    expect(buttons.map((b) => JSON.parse(String(b.value)).page)).toEqual([1]);
    await postSlack(roster.baseUrl, interaction(buttonClick(LIAM.id, 'find_page', String(buttons[0]!.value), slack.responseUrl('prev'))));
    expect(slackNames(((await slack.waitForResponse('prev')).body as { blocks: unknown }).blocks)).toHaveLength(10);
    // A forged page value cannot widen what Daniel sees.
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(DANIEL.id, 'find_page', JSON.stringify({ q: 'pager', page: 2 }), slack.responseUrl('forged'))),
    );
    expect(slackNames(((await slack.waitForResponse('forged')).body as { blocks: unknown }).blocks)).toEqual([]);
  });

  it('Teams: the same words as a message, and Next / Previous answered in place', async () => {
    const liam = teamsUser(roster.chat.person(LIAM.email)!);
    await client.install(liam);
    connector.reset();
    await client.message(liam, 'find pager');
    const post = await eventually(() =>
      connector.posts(liam.conversationId).find((p) => cardText(FakeConnector.card(p)).includes('Pager 01')),
    );
    const card = FakeConnector.card(post);
    expect(cardText(card)).toContain('1–10 of 12 agents · page 1 of 2');
    expect(cardText(card)).not.toContain('Pager 11');
    const next = cardButtons(card).find((b) => b.verb === 'find_page')!;
    expect(next.data).toEqual({ q: 'pager', page: 2 });
    const second = await client.execute(liam, 'find_page', next.data as Record<string, unknown>, { replyToId: String(post.createdId) });
    expect(cardText(second.card)).toContain('Pager 11');
    expect(cardText(second.card)).toContain('11–12 of 12 agents · page 2 of 2');
    const prev = cardButtons(second.card).find((b) => b.verb === 'find_page')!;
    expect(prev.data).toEqual({ q: 'pager', page: 1 });
    const back = await client.execute(liam, 'find_page', prev.data as Record<string, unknown>);
    expect(cardText(back.card)).toContain('Pager 01');
  });

  it('bad filters get a friendly error naming the filter and what it accepts, on both platforms', async () => {
    const risk = await ask(LIAM.id, 'find risk:extreme');
    expect(text(risk.blocks)).toContain('Filter `risk`');
    expect(text(risk.blocks)).toContain('low, medium, high');
    const typo = await ask(LIAM.id, 'find rsik:high');
    expect(text(typo.blocks)).toContain('Did you mean `risk`');
    const cost = await ask(LIAM.id, 'find cost:lots');
    expect(text(cost.blocks)).toContain('Filter `cost`');
    const liam = teamsUser(roster.chat.person(LIAM.email)!);
    connector.reset();
    await client.message(liam, 'find status:sleeping');
    const post = await eventually(() =>
      connector.posts(liam.conversationId).find((p) => cardText(FakeConnector.card(p)).includes('Filter')),
    );
    expect(cardText(FakeConnector.card(post))).toContain('requested, active, probation');
  });

  it('Slack App Home: Find agents… opens the form; its results, and their next page, are shown on Home in place', async () => {
    await postSlack(roster.baseUrl, appHomeOpened(LIAM.id));
    const home = await slack.waitFor('views.publish', (a) => a.user_id === LIAM.id);
    const open = actionElements((home.args.view as { blocks: unknown }).blocks).find((e) => e.action_id === 'find_open')!;
    expect(open).toBeDefined();
    const onHome = (click: Record<string, unknown>) => ({ ...click, view: { id: 'VHOMEF', type: 'home', team_id: 'TBRIGHT' } });
    await postSlack(
      roster.baseUrl,
      interaction(onHome(buttonClick(LIAM.id, 'find_open', String(open.value), undefined, { type: 'view', view_id: 'VHOMEF' }))),
    );
    const modal = (await slack.waitFor('views.open')).args.view as Record<string, unknown>;
    expect(modal.callback_id).toBe('find_submit');
    // A bad cost is marked on its field in the acknowledgement; nothing is published.
    const published = slack.of('views.publish', (a) => a.user_id === LIAM.id).length;
    const bad = await postSlack(
      roster.baseUrl,
      interaction(viewSubmission(LIAM.id, modal, { find_cost: { find_cost: { type: 'plain_text_input', value: 'lots' } } })),
    );
    const refused = JSON.parse(bad.text) as { response_action: string; errors: Record<string, string> };
    expect(refused.response_action).toBe('errors');
    expect(refused.errors.find_cost).toContain('Filter `cost`');
    // Customer support agents costing at least $100, sponsored by Tom (picked with the user picker).
    slack.emails.set('U0TOMBECK1', people.tom);
    const ok = await postSlack(
      roster.baseUrl,
      interaction(
        viewSubmission(LIAM.id, modal, {
          find_bu: { find_bu: { type: 'static_select', selected_option: { value: 'customer-support' } } },
          find_sponsor: { find_sponsor: { type: 'users_select', selected_user: 'U0TOMBECK1' } },
          find_checkin: { find_checkin: { type: 'static_select', selected_option: { value: 'degraded' } } },
          find_cost: { find_cost: { type: 'plain_text_input', value: '100' } },
        }),
      ),
    );
    expect(ok.status).toBe(200);
    const results = await eventually(() => slack.of('views.publish', (a) => a.user_id === LIAM.id)[published]);
    const blocks = (results.args.view as { blocks: unknown }).blocks;
    expect(text(blocks)).toContain('Findable Alpha');
    expect(text(blocks)).toContain(`bu:customer-support sponsor:${people.tom} checkin:degraded cost&gt;=100`);
    expect(slackNames(blocks).filter((n) => n.startsWith('Findable'))).toEqual(['Findable Alpha']);
    // Paging a larger search on Home republishes Home with the next page.
    await postSlack(
      roster.baseUrl,
      interaction(
        onHome(buttonClick(LIAM.id, 'find_page', JSON.stringify({ q: 'pager', page: 2 }), undefined, { type: 'view', view_id: 'VHOMEF' })),
      ),
    );
    const paged = await eventually(() => slack.of('views.publish', (a) => a.user_id === LIAM.id)[published + 1]);
    expect(text((paged.args.view as { blocks: unknown }).blocks)).toContain('11–12 of 12 agents · page 2 of 2');
  });

  it('Teams home card: Find agents… shows the form in place, and Find shows the results in place', async () => {
    const liam = teamsUser(roster.chat.person(LIAM.email)!);
    connector.reset();
    await client.message(liam, 'home');
    const home = await eventually(() =>
      connector.posts(liam.conversationId).find((p) => cardButtons(FakeConnector.card(p)).some((b) => b.verb === 'find_open')),
    );
    expect(home).toBeDefined();
    const form = await client.execute(liam, 'find_open', {}, { replyToId: String(home.createdId) });
    expect(cardButtons(form.card).map((b) => b.verb)).toContain('find_submit');
    expect(inputIds(form.card)).toEqual(
      expect.arrayContaining([
        'findStatus',
        'findRole',
        'findBu',
        'findSponsor',
        'findScope',
        'findData',
        'findRisk',
        'findCheckin',
        'findCost',
      ]),
    );
    const found = await client.execute(liam, 'find_submit', { findRisk: 'high', findBu: 'finance', findStatus: 'suspended' });
    expect(cardText(found.card)).toContain('Findable Gamma');
    expect(cardText(found.card)).not.toContain('Findable Beta');
    const wrong = await client.execute(liam, 'find_submit', { findCost: '<<5' });
    expect(cardText(wrong.card)).toContain('Filter `cost`');
    expect(cardButtons(wrong.card).map((b) => b.verb)).toContain('find_submit');
  });
});
