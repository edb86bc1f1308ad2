import { createSlackChannel } from '../../src/channels/slack/index.js';
import type { AgentRecord } from '../../src/core/agents.js';
import { startTestRoster } from '../helpers/app.js';
import { handbookHelper } from './support.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { buttonClick, interaction, postSlack, slashCommand, viewSubmission } from '../helpers/slack-requests.js';
import { actionElements } from '../helpers/slack-blocks.js';

type Roster = Awaited<ReturnType<typeof startTestRoster>>;

const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' }; // it-admin: the agent's only sponsor
const AISHA = { id: 'U04L2V8F5HY', email: 'aisha.khan@brightwater.example' }; // it-admin: approves in the sponsor's place
const GRACE = { id: 'U04M9X1G3JT', email: 'grace.liu@brightwater.example' }; // security

const elements = actionElements;

const textOf = (value: unknown) => JSON.stringify(value);

describe('access in Slack end to end (real Bolt receiver, fake Slack Web API)', () => {
  let slack: FakeSlack;
  let roster: Roster;
  let agent: AgentRecord;

  beforeEach(async () => {
    slack = new FakeSlack();
    await slack.start();
    roster = await startTestRoster({
      env: slack.rosterEnv(),
      channels: [createSlackChannel],
    });
    agent = handbookHelper();
    await roster.services.agents.insert(agent);
  });
  afterEach(async () => {
    await roster.stop();
    await slack.stop();
  });

  it('request → approve → active grant on the profile → expiry notice', async () => {
    await postSlack(
      roster.baseUrl,
      slashCommand(LIAM.id, 'access Handbook Helper web:search 3s read vendor docs', slack.responseUrl('access')),
    );
    const requested = await slack.waitForResponse('access');
    expect(requested.body.response_type).toBe('ephemeral');
    expect(textOf(requested.body.blocks)).toContain('Access requested: web:search for Handbook Helper, 3 seconds');
    expect(textOf(requested.body.blocks)).toContain('Waiting for approval from Aisha Khan');

    // Liam sponsors the agent alone, so an IT admin approves in his place; Liam gets no buttons.
    const card = await slack.waitFor('chat.postMessage', (a) => a.channel === AISHA.id && textOf(a.blocks).includes('web:search'));
    expect(
      slack.of('chat.postMessage', (a) => a.channel === LIAM.id && elements(a.blocks).some((e) => e.action_id === 'approval_approve')),
    ).toHaveLength(0);
    const approve = elements(card.args.blocks).find((e) => e.action_id === 'approval_approve')!;
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(AISHA.id, 'approval_approve', String(approve.value), slack.responseUrl('aisha'))),
    );

    const granted = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === LIAM.id && textOf(a.blocks).includes('has web:search for 3 seconds'),
    );
    expect(textOf(granted.args.blocks)).toContain('Aisha Khan');
    const [grant] = (await roster.services.grants.listForAgent(agent.id)).filter((g) => g.scope === 'web:search');
    expect(grant).toMatchObject({ status: 'active', approvedBy: [AISHA.email] });

    await postSlack(roster.baseUrl, slashCommand(LIAM.id, 'show Handbook Helper', slack.responseUrl('show')));
    expect(textOf((await slack.waitForResponse('show')).body.blocks)).toContain('web:search');

    const notice = await slack.waitFor('chat.postMessage', (a) => a.channel === LIAM.id && textOf(a.blocks).includes('expired'), 15_000);
    expect(textOf(notice.args.blocks)).toContain("Handbook Helper's access to web:search expired");
    expect((await roster.services.grants.get(grant!.id))?.status).toBe('expired');
    const trail = (await roster.services.audit.export()).filter((e) => e.subject.id === grant!.id && e.action.startsWith('grant.'));
    expect(trail.map((e) => e.action)).toEqual(['grant.requested', 'grant.activated', 'grant.expired']);
  }, 60_000);

  it('`access` without arguments opens a modal offering only the allowed scopes; a bad field is marked, a good one sends the request', async () => {
    await postSlack(roster.baseUrl, slashCommand(LIAM.id, 'access', slack.responseUrl('form')));
    const opened = await slack.waitFor('views.open', (a) => (a.view as Record<string, unknown>).callback_id === 'access_request_submit');
    const view = opened.args.view as Record<string, unknown>;
    const select = elements(view.blocks).find((e) => e.action_id === 'access_target')!;
    const options = (select.options as Array<{ value: string }>).map((o) => o.value);
    expect(options).toEqual([`${agent.id}:kb:read`, `${agent.id}:web:search`]);

    const bad = await postSlack(
      roster.baseUrl,
      interaction(
        viewSubmission(LIAM.id, view, {
          access_target: { access_target: { type: 'static_select', selected_option: { value: `${agent.id}:web:search` } } },
          duration: { duration: { type: 'plain_text_input', value: 'forever' } },
          reason: { reason: { type: 'plain_text_input', value: 'Read vendor docs.' } },
        }),
      ),
    );
    expect(bad.status).toBe(200);
    expect(JSON.parse(bad.text)).toMatchObject({ response_action: 'errors', errors: { duration: expect.stringContaining('8h') } });
    expect(await roster.services.grants.listForAgent(agent.id)).toEqual([]);

    const good = await postSlack(
      roster.baseUrl,
      interaction(
        viewSubmission(LIAM.id, view, {
          access_target: { access_target: { type: 'static_select', selected_option: { value: `${agent.id}:web:search` } } },
          duration: { duration: { type: 'plain_text_input', value: '2d' } },
          reason: { reason: { type: 'plain_text_input', value: 'Read vendor docs.' } },
        }),
      ),
    );
    expect(good.status).toBe(200);
    const sent = await slack.waitFor('chat.postMessage', (a) => a.channel === LIAM.id && textOf(a.blocks).includes('Access requested'));
    expect(textOf(sent.args.blocks)).toContain('web:search for Handbook Helper, 2 days');
    expect(await roster.services.grants.listForAgent(agent.id)).toEqual([
      expect.objectContaining({ scope: 'web:search', status: 'pending', durationMs: 2 * 86_400_000 }),
    ]);
  }, 30_000);

  it('a forbidden scope is refused privately with the catalog reason', async () => {
    await postSlack(
      roster.baseUrl,
      slashCommand(LIAM.id, 'access Handbook Helper crm:read 1d customers ask', slack.responseUrl('forbidden')),
    );
    const refusal = await slack.waitForResponse('forbidden');
    expect(refusal.body.response_type).toBe('ephemeral');
    expect(textOf(refusal.body.blocks)).toContain('customer records are outside its remit');
    expect(await roster.services.grants.listForAgent(agent.id)).toEqual([]);
  });

  it('break-glass grants at once and security revokes it with Revoke now on the review card', async () => {
    await postSlack(
      roster.baseUrl,
      slashCommand(LIAM.id, 'break-glass Handbook Helper web:search search proxy outage', slack.responseUrl('bg')),
    );
    expect(textOf((await slack.waitForResponse('bg')).body.blocks)).toContain('Break-glass: Handbook Helper has web:search now');
    const [grant] = await roster.services.grants.listForAgent(agent.id);
    expect(grant).toMatchObject({ status: 'active', source: 'break-glass' });

    const review = await slack.waitFor('chat.postMessage', (a) => a.channel === GRACE.id && textOf(a.blocks).includes('Break-glass'));
    const revoke = elements(review.args.blocks).find((e) => e.action_id === 'grant_revoke')!;
    expect(elements(review.args.blocks).map((e) => e.action_id)).toEqual(['grant_confirm', 'grant_revoke']);
    await postSlack(roster.baseUrl, interaction(buttonClick(GRACE.id, 'grant_revoke', String(revoke.value), slack.responseUrl('revoke'))));
    const replaced = await slack.waitForResponse('revoke');
    expect(replaced.body.replace_original).toBe(true);
    expect(textOf(replaced.body.blocks)).toContain('Revoked');
    expect(elements(replaced.body.blocks)).toEqual([]);
    expect((await roster.services.grants.get(grant!.id))?.status).toBe('revoked');

    // The profile counts the use.
    await postSlack(roster.baseUrl, slashCommand(LIAM.id, 'show Handbook Helper', slack.responseUrl('show-bg')));
    expect(textOf((await slack.waitForResponse('show-bg')).body.blocks)).toContain('break-glass used 1×');
  }, 30_000);
});
