import type { CommandEvent, CommandType } from '../../src/commands/index.js';
import type { AgentRecord, GrantRecord } from '../../src/core/agents.js';
import { onBothPlatforms, type BothPlatformsTestRoster } from '../helpers/app.js';
import { uniqueDbName } from '../helpers/db.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { agentRecord, eventually } from '../helpers/harness.js';
import { asAgentId, asGrantId } from '../helpers/ids.js';
import { buttonClick, interaction, postSlack, slashCommand, viewSubmission } from '../helpers/slack-requests.js';
import { button, cardText, cardVerbs } from '../channels/teams/card-reading.js';
import { teamsUser } from '../channels/teams/teams-client.js';

const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' }; // it-admin, on Slack here
const NOAH = 'noah.fischer@brightwater.example'; // approver:engineering, in Teams here

/*
 * The access doors of both platforms reach one command handler each: the typed `access` and
 * `break-glass` words (a Slack slash command, a Teams message), the access form (a Slack modal's
 * submission, a Teams card's Action.Execute) and Keep on an access review card (a Slack
 * block_actions, a Teams Action.Execute) become `access.request`, `access.break-glass` and
 * `access-review.answer` on the command bus, observed through its observers, and what they did
 * is stored: the grants requested, granted and the review answers.
 */
describe('command bus: access words, the access form and access review answers from Slack and from Teams', () => {
  let both: BothPlatformsTestRoster;
  const events: CommandEvent[] = [];
  const agents: Record<'words' | 'form' | 'glass' | 'review', AgentRecord> = {
    words: agentRecord({ id: asAgentId('agt_d00r0000words001'), name: 'Door Words' }),
    form: agentRecord({ id: asAgentId('agt_d00r00000form01'), name: 'Door Form' }),
    glass: agentRecord({ id: asAgentId('agt_d00r0000glass01'), name: 'Door Glass' }),
    review: agentRecord({ id: asAgentId('agt_d00r000review01'), name: 'Door Review' }),
  };
  beforeAll(async () => {
    both = await onBothPlatforms({ dbName: uniqueDbName('bus_access') });
    for (const [key, agent] of Object.entries(agents)) {
      agents[key as keyof typeof agents] = {
        ...agent,
        catalogRoleId: 'kb-answerer',
        sponsors: [LIAM.email, NOAH],
        businessUnit: 'engineering',
        status: 'active',
      };
      await both.roster.services.agents.insert(agents[key as keyof typeof agents]);
    }
    both.roster.services.bus.observe((event) => events.push(event));
  });
  afterAll(() => both?.stop());

  const grantsOf = (agent: AgentRecord) => both.roster.services.grants.listForAgent(agent.id);
  /** The one event of `type` the person's door produced. */
  const eventOf = (type: CommandType, actor: string) => eventually(() => events.find((e) => e.type === type && e.actor === actor));
  /** Both doors' events of `type` were run by the bus, done, through one handler. */
  const sameHandler = async (type: CommandType) => {
    const fromSlack = await eventOf(type, LIAM.email);
    const fromTeams = await eventOf(type, NOAH);
    expect(fromSlack).toMatchObject({ type, outcome: 'done', stage: 'done' });
    expect(fromTeams).toMatchObject({ type, outcome: 'done', stage: 'done' });
    expect(fromTeams.handler).toBe(fromSlack.handler);
    return fromSlack.handler;
  };
  const noah = () => teamsUser(both.roster.chat.person(NOAH)!);

  it('the typed access word and the access form reach the one access.request handler', async () => {
    const { roster, slack, teams, connector } = both;
    await teams.install(noah());

    // The words: a Slack slash command and a Teams message.
    await postSlack(roster.baseUrl, slashCommand(LIAM.id, 'access Door Words web:search 1d read vendor docs', slack.responseUrl('words')));
    expect((await teams.message(noah(), 'access Door Words kb:read 1d answer from the handbook')).status).toBe(200);
    const words = await sameHandler('access.request');
    await eventually(async () => (await grantsOf(agents.words)).length === 2);
    expect((await grantsOf(agents.words)).map((g) => [g.scope, g.requestedBy, g.status]).sort()).toEqual([
      ['kb:read', NOAH, 'pending'],
      ['web:search', LIAM.email, 'pending'],
    ]);

    // The form: a Slack modal's submission and a Teams form card's Send request.
    events.length = 0;
    await postSlack(roster.baseUrl, slashCommand(LIAM.id, 'access', slack.responseUrl('form')));
    const opened = await slack.waitFor('views.open', (a) => (a.view as Record<string, unknown>).callback_id === 'access_request_submit');
    const submitted = await postSlack(
      roster.baseUrl,
      interaction(
        viewSubmission(LIAM.id, opened.args.view as Record<string, unknown>, {
          access_target: { access_target: { type: 'static_select', selected_option: { value: `${agents.form.id}:web:search` } } },
          duration: { duration: { type: 'plain_text_input', value: '2d' } },
          reason: { reason: { type: 'plain_text_input', value: 'Read vendor docs.' } },
        }),
      ),
    );
    expect(submitted.status).toBe(200);
    connector.reset();
    expect((await teams.message(noah(), 'access "Door Form"')).status).toBe(200);
    const form = connector
      .posts(noah().conversationId)
      .map((p) => FakeConnector.card(p))
      .find((c) => cardVerbs(c).includes('access_request_submit'));
    const sent = await teams.execute(noah(), 'access_request_submit', {
      ...button(form, 'access_request_submit').data,
      target: `${agents.form.id}:kb:read`,
      duration: '8h',
      reason: 'Answers on-call questions from the runbooks.',
    });
    expect(sent.status).toBe(200);
    expect(await sameHandler('access.request')).toBe(words);
    // The form's agent picker (its list, the agent named, the pick sent) is the agents.pick read on either platform.
    await sameHandler('agents.pick');
    await eventually(async () => (await grantsOf(agents.form)).length === 2);
    expect((await grantsOf(agents.form)).map((g) => [g.scope, g.requestedBy]).sort()).toEqual([
      ['kb:read', NOAH],
      ['web:search', LIAM.email],
    ]);
  }, 90_000);

  it('the typed break-glass word reaches the one access.break-glass handler', async () => {
    const { roster, slack, teams } = both;
    events.length = 0;
    await postSlack(
      roster.baseUrl,
      slashCommand(LIAM.id, 'break-glass Door Glass web:search search proxy outage', slack.responseUrl('glass')),
    );
    expect((await teams.message(noah(), 'break-glass Door Glass kb:read handbook search is down')).status).toBe(200);
    await sameHandler('access.break-glass');
    await eventually(async () => (await grantsOf(agents.glass)).length === 2);
    expect((await grantsOf(agents.glass)).map((g) => [g.scope, g.requestedBy, g.source, g.status]).sort()).toEqual([
      ['kb:read', NOAH, 'break-glass', 'active'],
      ['web:search', LIAM.email, 'break-glass', 'active'],
    ]);
  }, 60_000);

  it('a break-glass word without its scope names the scopes the agent may be granted, through the one access.scopes handler', async () => {
    const { roster, slack, teams, connector } = both;
    events.length = 0;
    await postSlack(roster.baseUrl, slashCommand(LIAM.id, 'break-glass Door Glass', slack.responseUrl('usage')));
    const slackText = JSON.stringify((await slack.waitForResponse('usage')).body.blocks);
    connector.reset();
    expect((await teams.message(noah(), 'break-glass Door Glass')).status).toBe(200);
    const teamsText = connector
      .posts(noah().conversationId)
      .map((p) => cardText(FakeConnector.card(p)))
      .join('\n');
    await sameHandler('access.scopes');
    for (const text of [slackText, teamsText]) {
      expect(text).toContain('Please name the scope');
      expect(text).toMatch(/Door Glass may be granted: [^.]*kb:read[^.]*\./);
    }
  }, 60_000);

  it('Keep on an access review card reaches the one access-review.answer handler', async () => {
    const { roster, slack, teams } = both;
    const cycle = 'rev_doors';
    const now = Date.now();
    const inReview = (scope: string): GrantRecord => ({
      id: asGrantId(`grt_doors_${scope.replace(':', '_')}`),
      agentId: agents.review.id,
      scope,
      reason: 'Granted earlier.',
      requestedBy: LIAM.email,
      approvedBy: [NOAH],
      startsAt: new Date(now - 86_400_000).toISOString(),
      expiresAt: new Date(now + 30 * 86_400_000).toISOString(),
      status: 'active',
      source: 'run_earlier',
      createdAt: new Date(now - 86_400_000).toISOString(),
      review: { cycle, dueAt: new Date(now + 86_400_000).toISOString() },
    });
    const [web, kb] = [inReview('web:search'), inReview('kb:read')];
    await roster.services.grants.insertMany([web, kb]);
    events.length = 0;
    const keep = (grant: GrantRecord) => ({ grantId: grant.id, reviewId: cycle });
    await postSlack(roster.baseUrl, interaction(buttonClick(LIAM.id, 'review_keep', JSON.stringify(keep(web)), slack.responseUrl('keep'))));
    expect((await teams.execute(noah(), 'review_keep', keep(kb))).status).toBe(200);
    await sameHandler('access-review.answer');
    await eventually(async () => (await roster.services.grants.get(web.id))?.review?.answer === 'keep');
    expect((await roster.services.grants.get(web.id))?.review).toMatchObject({ answer: 'keep', by: LIAM.email });
    expect((await roster.services.grants.get(kb.id))?.review).toMatchObject({ answer: 'keep', by: NOAH });
  }, 60_000);
});
