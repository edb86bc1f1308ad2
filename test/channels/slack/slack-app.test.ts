import { createSlackChannel } from '../../../src/channels/slack/index.js';
import { startTestRoster } from '../../helpers/app.js';
import { FakeSlack } from '../../helpers/fake-slack.js';
import { eventually, passingEvaluation, SHIPPED_CONFIG } from '../../helpers/harness.js';
import { loadOrgConfig } from '../../../src/config/org-config.js';
import { buttonClick, interaction, postSlack, sign, slashCommand, viewSubmission } from '../../helpers/slack-requests.js';
import { actionElements } from '../../helpers/slack-blocks.js';
import { commandsOf } from '../../helpers/commands.js';

type Roster = Awaited<ReturnType<typeof startTestRoster>>;

const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' }; // it-admin, engineering: the requester
const NOAH = { id: 'U04J5M9C1RF', email: 'noah.fischer@brightwater.example' }; // approver:engineering
const AISHA = { id: 'U04L2V8F5HY', email: 'aisha.khan@brightwater.example' }; // it-admin
const DANIEL = { id: 'U05D9W4H7LE', email: 'daniel.okafor@brightwater.example' }; // requester in finance

const elements = actionElements;

const textOf = (value: unknown) => JSON.stringify(value);

describe('Slack app end to end (real Bolt receiver, fake Slack Web API)', () => {
  let slack: FakeSlack;
  let roster: Roster;

  beforeEach(async () => {
    slack = new FakeSlack();
    await slack.start();
    roster = await startTestRoster({
      env: slack.rosterEnv(),
      channels: [createSlackChannel],
    });
  });
  afterEach(async () => {
    await roster.stop();
    await slack.stop();
  });

  /** catalog → Request → modal submit; returns the new agent id and the requester's status message. */
  async function requestKbAgent(name: string) {
    const catalog = await postSlack(roster.baseUrl, slashCommand(LIAM.id, 'catalog', slack.responseUrl('catalog')));
    expect(catalog.status).toBe(200);
    const listed = await slack.waitForResponse('catalog');
    expect(listed.body.response_type).toBe('ephemeral');
    const request = elements(listed.body.blocks).find((e) => e.action_id === 'catalog_request' && e.value === 'kb-answerer');
    expect(request).toBeDefined();

    const click = await postSlack(
      roster.baseUrl,
      interaction(buttonClick(LIAM.id, 'catalog_request', 'kb-answerer', slack.responseUrl('click'))),
    );
    expect(click.status).toBe(200);
    const opened = await slack.waitFor('views.open');
    const view = opened.args.view as Record<string, unknown>;
    expect(view.callback_id).toBe('agent_request_submit');

    const submit = await postSlack(
      roster.baseUrl,
      interaction(
        viewSubmission(LIAM.id, view, {
          agent_name: { agent_name: { type: 'plain_text_input', value: name } },
          purpose: { purpose: { type: 'plain_text_input', value: 'Answers engineering how-to questions from the handbook.' } },
          business_unit: { business_unit: { type: 'static_select', selected_option: { value: 'engineering' } } },
          sponsors: { sponsors: { type: 'multi_users_select', selected_users: [LIAM.id] } },
          justification: { justification: { type: 'plain_text_input', value: 'Saves the platform team hours each week.' } },
        }),
      ),
    );
    expect(submit.status).toBe(200);
    // The requester's status message arrives by DM.
    await slack.waitFor('chat.postMessage', (a) => a.channel === LIAM.id && textOf(a.blocks).includes(name));
    const agent = await eventually(async () =>
      (await roster.services.agents.list({ requestedBy: LIAM.email })).find((a) => a.name === name),
    );
    // The request's flow runs after Slack's ack; it then waits at the evaluation gate.
    await eventually(async () => (await roster.services.runs.get(agent.requestRunId))?.status === 'waiting');
    return { agentId: agent.id };
  }

  it('runs the whole request: catalog → request modal → evaluation → two approvals → active, updating the status message', async () => {
    const { agentId } = await requestKbAgent('Handbook Helper');
    expect((await roster.services.agents.get(agentId))?.status).toBe('requested');

    // The evaluation modal, then its submission.
    await postSlack(roster.baseUrl, slashCommand(LIAM.id, 'eval Handbook Helper', slack.responseUrl('eval')));
    const evalView = await slack.waitFor('views.open', (a) => (a.view as Record<string, unknown>).callback_id === 'evaluation_submit');
    const view = evalView.args.view as Record<string, unknown>;
    const roleFit = elements(view.blocks)
      .filter((e) => e.action_id === 'role_fit')
      .flatMap((e) => e.options as Array<{ value: string }>);
    const values: Record<string, Record<string, unknown>> = {
      accuracy: { accuracy: { type: 'number_input', value: '0.91' } },
      p95_latency_ms: { p95_latency_ms: { type: 'number_input', value: '2100' } },
      cost_per_task_usd: { cost_per_task_usd: { type: 'number_input', value: '0.01' } },
      role_fit_0: { role_fit: { type: 'checkboxes', selected_options: roleFit.map((o) => ({ value: o.value })) } },
      notes: { notes: { type: 'plain_text_input', value: 'Measured by the vendor; no endpoint Roster can reach yet.' } },
    };
    expect((await postSlack(roster.baseUrl, interaction(viewSubmission(LIAM.id, view, values)))).status).toBe(200);
    const verdict = await slack.waitFor('chat.postMessage', (a) => a.channel === LIAM.id && textOf(a.blocks).includes('0.91'));
    expect(textOf(verdict.args.blocks)).toMatch(/passed/i);

    // Approval cards went to the engineering approver and the other IT admin, by DM.
    const noahCard = await slack.waitFor('chat.postMessage', (a) => a.channel === NOAH.id);
    const aishaCard = await slack.waitFor('chat.postMessage', (a) => a.channel === AISHA.id);
    expect(
      slack.of('chat.postMessage', (a) => a.channel === LIAM.id && elements(a.blocks).some((e) => e.action_id === 'approval_approve')),
    ).toHaveLength(0);
    const approve = elements(noahCard.args.blocks).find((e) => e.action_id === 'approval_approve')!;
    expect(JSON.parse(String(approve.value))).toMatchObject({ stepId: 'approvals' });

    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(NOAH.id, 'approval_approve', String(approve.value), slack.responseUrl('noah'))),
    );
    await eventually(
      async () => (await roster.services.runs.get(JSON.parse(String(approve.value)).runId))?.steps.approvals?.decisions?.length === 1,
    );
    const aishaApprove = elements(aishaCard.args.blocks).find((e) => e.action_id === 'approval_approve')!;
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(AISHA.id, 'approval_approve', String(aishaApprove.value), slack.responseUrl('aisha'))),
    );

    await eventually(async () => (await roster.services.agents.get(agentId))?.status === 'active');
    // Every approval card was updated in place: no buttons left, who approved is shown.
    const noahUpdated = await slack.waitFor(
      'chat.update',
      (a) => a.channel === `D${NOAH.id.slice(1)}` && !elements(a.blocks).some((e) => e.action_id === 'approval_approve'),
    );
    expect(textOf(noahUpdated.args.blocks)).toContain(`Approved* by <@${AISHA.id}>`);
    // The requester's status message moved to Active in place.
    await slack.waitFor('chat.update', (a) => a.channel === `D${LIAM.id.slice(1)}` && textOf(a.blocks).includes('Active'));

    const trail = (await roster.services.audit.export({ agentId })).map(
      (e) => `${e.action}${e.actor.kind === 'person' ? `:${e.actor.email}` : ''}`,
    );
    expect(trail).toEqual(
      expect.arrayContaining([
        `run.started:${LIAM.email}`,
        `gate.passed:${LIAM.email}`,
        `decision.approve:${NOAH.email}`,
        `decision.approve:${AISHA.email}`,
        'agent.onboarded',
        'run.completed',
      ]),
    );
    expect(await roster.services.audit.verify()).toMatchObject({ ok: true });
  }, 60_000);

  it('a forged or stale signature gets 401 and changes nothing', async () => {
    const post = slashCommand(LIAM.id, 'request kb-answerer', slack.responseUrl('forged'));
    const forged = await postSlack(roster.baseUrl, {
      body: post.body,
      headers: { ...post.headers, 'x-slack-signature': `v0=${'0'.repeat(64)}` },
    });
    expect(forged.status).toBe(401);
    const stale = sign(post.body, Math.floor(Date.now() / 1000) - 6 * 60);
    expect((await postSlack(roster.baseUrl, { body: post.body, headers: { ...post.headers, ...stale } })).status).toBe(401);
    const wrongSecret = sign(post.body, undefined, 'not-the-secret');
    expect((await postSlack(roster.baseUrl, { body: post.body, headers: { ...post.headers, ...wrongSecret } })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.calls.filter((c) => c.method !== 'auth.test')).toEqual([]);
    expect(slack.responses).toEqual([]);
    expect(await roster.services.audit.export()).toEqual([]);
  });

  it('a retried delivery and a double click act once; an outsider gets a private refusal', async () => {
    const { agentId } = await requestKbAgent('Retry Proof');
    const agent = (await roster.services.agents.get(agentId))!;
    await commandsOf(roster.services).submitEvaluation(
      LIAM.email,
      agentId,
      passingEvaluation(loadOrgConfig(SHIPPED_CONFIG), 'kb-answerer'),
    );
    const value = JSON.stringify({ runId: agent.requestRunId, stepId: 'approvals' });

    // The same payload delivered again with Slack's retry headers.
    const click = interaction(buttonClick(NOAH.id, 'approval_approve', value, slack.responseUrl('noah-1')));
    expect((await postSlack(roster.baseUrl, click)).status).toBe(200);
    expect((await postSlack(roster.baseUrl, click, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' })).status).toBe(200);
    // A second, separate click by the same person.
    expect(
      (await postSlack(roster.baseUrl, interaction(buttonClick(NOAH.id, 'approval_approve', value, slack.responseUrl('noah-2'))))).status,
    ).toBe(200);
    const already = await slack.waitForResponse('noah-2');
    expect(already.body.response_type).toBe('ephemeral');
    expect(textOf(already.body)).toContain('already approved');

    // Daniel is in finance and no approver here.
    await postSlack(roster.baseUrl, interaction(buttonClick(DANIEL.id, 'approval_approve', value, slack.responseUrl('daniel'))));
    const refusal = await slack.waitForResponse('daniel');
    expect(refusal.body.response_type).toBe('ephemeral');
    expect(textOf(refusal.body)).toContain('Only these approvers can decide');

    const run = (await roster.services.runs.get(agent.requestRunId))!;
    expect(run.steps.approvals!.decisions!.map((d) => d.by)).toEqual([NOAH.email]);
    expect(run.status).toBe('waiting');
    const decisions = (await roster.services.audit.export({ agentId })).filter((e) => e.action.startsWith('decision.'));
    expect(decisions).toHaveLength(1);
    expect(slack.responses.filter((r) => r.id === 'noah-1')).toHaveLength(0);
  }, 60_000);

  it('a person Roster does not know gets a polite explanation', async () => {
    slack.emails.set('U0STRANGER', 'visitor@elsewhere.example');
    await postSlack(roster.baseUrl, slashCommand('U0STRANGER', 'list', slack.responseUrl('stranger')));
    const reply = await slack.waitForResponse('stranger');
    expect(textOf(reply.body)).toContain("Roster's directory");
    expect(slack.of('users.info')).toHaveLength(1);
  });

  it('a person Slack failed to look up hears to try again, not that Roster does not know them, and is known once Slack answers', async () => {
    // Tom is in the directory without a Slack id: who sends as U0TOMLOOKUP comes from users.info.
    slack.emails.set('U0TOMLOOKUP', 'tom.becker@brightwater.example');
    slack.failNext('users.info', 'internal_error');
    await postSlack(roster.baseUrl, slashCommand('U0TOMLOOKUP', 'help', slack.responseUrl('tom-failed')));
    const failed = textOf((await slack.waitForResponse('tom-failed')).body);
    expect(failed).toContain('Something went wrong');
    expect(failed).not.toContain("Roster's directory");
    // The failure was not remembered: the next command asks Slack again and Tom is known.
    await postSlack(roster.baseUrl, slashCommand('U0TOMLOOKUP', 'help', slack.responseUrl('tom-known')));
    const known = textOf((await slack.waitForResponse('tom-known')).body);
    expect(known).toContain('Tom');
    expect(known).not.toContain("Roster's directory");
    expect(known).not.toContain('Something went wrong');
    expect(slack.of('users.info', (a) => a.user === 'U0TOMLOOKUP')).toHaveLength(2);
  });

  it('App Home shows the approvals waiting for the person, with buttons', async () => {
    const { agentId } = await requestKbAgent('Home Run');
    await commandsOf(roster.services).submitEvaluation(
      LIAM.email,
      agentId,
      passingEvaluation(loadOrgConfig(SHIPPED_CONFIG), 'kb-answerer'),
    );
    const body = JSON.stringify({
      token: 'legacy-verification-token',
      team_id: 'TBRIGHT',
      api_app_id: 'AROSTER',
      type: 'event_callback',
      event_id: 'Ev0HOME',
      event_time: Math.floor(Date.now() / 1000),
      event: { type: 'app_home_opened', user: NOAH.id, channel: `D${NOAH.id.slice(1)}`, tab: 'home', event_ts: `${Date.now() / 1000}` },
    });
    const res = await postSlack(roster.baseUrl, { body, headers: { 'content-type': 'application/json', ...sign(body) } });
    expect(res.status).toBe(200);
    const published = await slack.waitFor('views.publish', (a) => a.user_id === NOAH.id);
    const view = published.args.view as Record<string, unknown>;
    expect(view.type).toBe('home');
    expect(textOf(view.blocks)).toContain('Home Run');
    expect(elements(view.blocks).some((e) => e.action_id === 'approval_approve')).toBe(true);
  }, 30_000);

  it('an internal failure becomes a friendly private message, and Roster keeps serving', async () => {
    slack.failNext('views.open', 'expired_trigger_id');
    await postSlack(roster.baseUrl, interaction(buttonClick(LIAM.id, 'catalog_request', 'kb-answerer', slack.responseUrl('broken'))));
    const reply = await slack.waitForResponse('broken');
    expect(reply.body.response_type).toBe('ephemeral');
    expect(textOf(reply.body)).toContain('Something went wrong');
    expect(textOf(reply.body)).not.toContain('expired_trigger_id');
    const health = await fetch(`${roster.baseUrl}/healthz`);
    expect(health.status).toBe(200);
  });

  it('a button no listener knows (an out-of-date card) is acknowledged at once and explained privately', async () => {
    const started = Date.now();
    const res = await postSlack(roster.baseUrl, interaction(buttonClick(LIAM.id, 'approval_approve_v0', '{}', slack.responseUrl('stale'))));
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000); // not Bolt's 3-second ack timeout
    const reply = await slack.waitForResponse('stale');
    expect(textOf(reply.body)).toContain('That button no longer works');
    const form = await postSlack(roster.baseUrl, interaction(viewSubmission(LIAM.id, { callback_id: 'old_form_submit' }, {})));
    expect(form.status).toBe(200);
    // A shortcut or a closed modal: nothing listens, acknowledged at once all the same.
    for (const payload of [
      { type: 'shortcut', callback_id: 'something', user: { id: LIAM.id }, trigger_id: 't1', team: { id: 'TBRIGHT' } },
      { type: 'view_closed', user: { id: LIAM.id }, view: { id: 'V1', callback_id: 'x' }, team: { id: 'TBRIGHT' } },
    ]) {
      const t0 = Date.now();
      expect((await postSlack(roster.baseUrl, interaction(payload))).status).toBe(200);
      expect(Date.now() - t0).toBeLessThan(2000);
    }
    // Another app's slash command routed here by mistake gets a pointer to /roster.
    const other = slashCommand(LIAM.id, 'help', slack.responseUrl('other-command'));
    const body = other.body.replace('command=%2Froster', 'command=%2Fother');
    const sent = await postSlack(roster.baseUrl, { body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...sign(body) } });
    expect(sent.status).toBe(200);
    expect(textOf((await slack.waitForResponse('other-command')).body)).toContain('Not a Roster command');
  });

  it('a validly signed delivery of a malformed shape gets 400 (not 500) and no retry', async () => {
    const res = await fetch(`${roster.baseUrl}/slack/events`, {
      method: 'POST',
      ...(() => {
        const post = interaction({ type: 'block_actions', user: null, actions: [{ action_id: 'approval_approve', value: '{}' }] });
        return { headers: post.headers, body: post.body };
      })(),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-slack-no-retry')).toBe('1');
    expect((await fetch(`${roster.baseUrl}/healthz`)).status).toBe(200);
  });
});
