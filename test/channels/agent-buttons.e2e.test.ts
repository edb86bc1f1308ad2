import { adaptiveCard } from '../../src/channels/teams/cards.js';
import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { agentRecord, eventually } from '../helpers/harness.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { buttonClick, interaction, postSlack, viewSubmission } from '../helpers/slack-requests.js';
import { button, cardText, inputIds } from './teams/card-reading.js';
import { TeamsClient, teamsUser } from './teams/teams-client.js';
import { asAgentId } from '../helpers/ids.js';

/*
 * The agent buttons end to end on both platforms: signed Slack interactions and modal submits
 * against Bolt's receiver, Teams invokes against the Agents SDK adapter, the Slack Web API and
 * the Bot Connector faked on loopback.
 */

const DAY = 86_400_000;
const AISHA = { id: 'U04L2V8F5HY', email: 'aisha.khan@brightwater.example' }; // it-admin, on-call; Slack
const PRIYA = { id: 'U04E6T1V5GA', email: 'priya.raman@brightwater.example' }; // sponsor; Slack
const SOFIA = 'sofia.alvarez@brightwater.example'; // sponsor; Teams
const LIAM = 'liam.oneill@brightwater.example'; // it-admin, on-call; acts in Teams here

describe('agent buttons in Slack and Teams', () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let roster: TestRoster;
  let teams: TeamsClient;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ slack, connector, roster, teams, stop } = await onBothPlatforms());
  });
  afterAll(async () => {
    await stop?.();
  });

  it('Slack: Register on a shadow alert opens a role prompt, then the request form, and the agent is requested under its id', async () => {
    const alert = await roster.services.supervision.alerts.raise({
      kind: 'shadow',
      agentId: asAgentId('agt_5ade5ade5ade0009'),
      severity: 'critical',
      summary: 'Telemetry arrived for agt_5ade5ade5ade0009, which is not registered in Roster.',
      details: { agentName: 'Unregistered agent' },
    });
    const page = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === AISHA.id && actionElements(a.blocks).some((b) => b.action_id === 'alert_register'),
    );
    const register = actionElements(page.args.blocks).find((b) => b.action_id === 'alert_register')!;
    const click = await postSlack(roster.baseUrl, interaction(buttonClick(AISHA.id, 'alert_register', String(register.value))));
    expect(click.status).toBe(200);
    const opened = await slack.waitFor('views.open', (a) => JSON.stringify(a.view).includes('prompt_submit'));
    const modal = opened.args.view as { callback_id: string; private_metadata: string };
    // The modal remembers the clicked message, so its submit can update it in place.
    expect(JSON.parse(modal.private_metadata)).toMatchObject({ promptVerb: 'alert_register', alertId: alert.id, channel: 'D04L2V8F5HY' });

    // No role picked: the field error comes back in the acknowledgement.
    const empty = await postSlack(roster.baseUrl, interaction(viewSubmission(AISHA.id, modal, {})));
    expect(JSON.parse(empty.text)).toEqual({ response_action: 'errors', errors: { role: 'Pick a catalog role.' } });
    const picked = await postSlack(
      roster.baseUrl,
      interaction(
        viewSubmission(AISHA.id, modal, { role: { role: { type: 'static_select', selected_option: { value: 'support-assistant' } } } }),
      ),
    );
    const update = JSON.parse(picked.text) as { response_action: string; view: { callback_id: string; private_metadata: string } };
    expect(update.response_action).toBe('update');
    expect(update.view.callback_id).toBe('agent_request_submit');
    expect(JSON.parse(update.view.private_metadata)).toEqual({ roleId: 'support-assistant', registerAgentId: 'agt_5ade5ade5ade0009' });

    const form = {
      agent_name: { agent_name: { type: 'plain_text_input', value: 'Gateway Ticket Bot' } },
      purpose: { purpose: { type: 'plain_text_input', value: 'Answers tier-1 tickets through the gateway.' } },
      business_unit: { business_unit: { type: 'static_select', selected_option: { value: 'customer-support' } } },
      sponsors: { sponsors: { type: 'multi_users_select', selected_users: [PRIYA.id] } },
      justification: { justification: { type: 'plain_text_input', value: 'It already runs; this brings it under Roster.' } },
    };
    const sent = await postSlack(roster.baseUrl, interaction(viewSubmission(AISHA.id, update.view, form)));
    expect(sent.status).toBe(200);
    await eventually(async () => (await roster.services.agents.get(asAgentId('agt_5ade5ade5ade0009')))?.status === 'requested');
    // Aisha named Priya: Priya counts as its sponsor once she accepts on the card she got (issue 15, item 3).
    const ask = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === PRIYA.id && actionElements(a.blocks).some((e) => e.action_id === 'sponsor_confirm'),
    );
    const accept = actionElements(ask.args.blocks).find((e) => e.action_id === 'sponsor_confirm')!;
    expect((await postSlack(roster.baseUrl, interaction(buttonClick(PRIYA.id, 'sponsor_confirm', String(accept.value))))).status).toBe(200);
    await eventually(async () => (await roster.services.agents.get(asAgentId('agt_5ade5ade5ade0009')))?.sponsors.length === 1);
    expect((await roster.services.agents.get(asAgentId('agt_5ade5ade5ade0009')))?.sponsors).toEqual([PRIYA.email]);
    await eventually(async () => (await roster.services.supervision.alertRepo.get(alert.id))?.status === 'acknowledged');

    // The form sent again under another name (a second admin registering the same agent) is
    // refused with a reason that names no field: the modal has closed, so Aisha reads it in a message.
    const renamed = { ...form, agent_name: { agent_name: { type: 'plain_text_input', value: 'Gateway Ticket Bot Two' } } };
    const again = await postSlack(roster.baseUrl, interaction(viewSubmission(AISHA.id, update.view, renamed)));
    expect(again.status).toBe(200);
    const refusal = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === AISHA.id && JSON.stringify(a.blocks).includes('Your request was not sent'),
    );
    expect(JSON.stringify(refusal.args.blocks)).toContain('agt_5ade5ade5ade0009 is already being registered');
  }, 30_000);

  it('Slack: Postpone on "retraining due" asks days and a reason in a modal, then updates the notice in place', async () => {
    const created = new Date(Date.now() - 100 * DAY).toISOString(); // past support-assistant's 90-day retraining cadence
    const agent = agentRecord({ name: 'Macro Writer', sponsors: [PRIYA.email], createdAt: created, statusChangedAt: created });
    await roster.services.agents.insert(agent);
    await roster.services.development.retrainingSweep(new Date());
    const due = await slack.waitFor(
      'chat.postMessage',
      (a) =>
        a.channel === PRIYA.id &&
        actionElements(a.blocks).some((b) => b.action_id === 'retrain_postpone' && String(b.value).includes(agent.id)),
    );
    const postpone = actionElements(due.args.blocks).find((b) => b.action_id === 'retrain_postpone')!;
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(PRIYA.id, 'retrain_postpone', String(postpone.value), undefined, { message_ts: '1700000123.000200' })),
    );
    const opened = await slack.waitFor('views.open', (a) => JSON.stringify(a.view).includes('retrain_postpone'));
    const modal = opened.args.view as { callback_id: string; private_metadata: string };
    const values = {
      days: { days: { type: 'static_select', selected_option: { value: '30' } } },
      text: { text: { type: 'plain_text_input', value: 'The new FAQ lands next month.' } },
    };
    const done = await postSlack(roster.baseUrl, interaction(viewSubmission(PRIYA.id, modal, values)));
    expect(done.status).toBe(200);
    const updated = await slack.waitFor('chat.update', (a) => a.ts === '1700000123.000200' && a.channel === 'D04E6T1V5GA');
    expect(String(updated.args.text)).toBe('Retraining of Macro Writer postponed');
    expect(
      (await roster.services.audit.export({ agentId: agent.id })).find((e) => e.action === 'retraining.postponed')?.details,
    ).toMatchObject({
      days: 30,
      reason: 'The new FAQ lands next month.',
    });
  }, 30_000);

  it('Teams: Postpone shows the prompt in place of the card; a missing reason keeps it, a full one postpones', async () => {
    const sofia = teamsUser(roster.chat.person(SOFIA)!);
    await teams.install(sofia);
    const created = new Date(Date.now() - 100 * DAY).toISOString(); // past support-assistant's 90-day retraining cadence
    const agent = agentRecord({ name: 'Leave Explainer', sponsors: [SOFIA], createdAt: created, statusChangedAt: created });
    await roster.services.agents.insert(agent);
    await roster.services.development.retrainingSweep(new Date());
    const notice = await eventually(() =>
      connector
        .posts(sofia.conversationId)
        .map((p) => FakeConnector.card(p))
        .find((c) => cardText(c).includes('Retraining due: Leave Explainer')),
    );
    const prompt = await teams.execute(sofia, 'retrain_postpone', button(notice, 'retrain_postpone').data!);
    expect(prompt.status).toBe(200);
    expect(inputIds(prompt.card)).toEqual(['days', 'text']);
    const submit = button(prompt.card, 'prompt_submit');
    expect(submit.data).toEqual({ promptVerb: 'retrain_postpone', agentId: agent.id });

    const refused = await teams.execute(sofia, 'prompt_submit', { ...submit.data, days: '7' });
    expect(cardText(refused.card)).toContain('Say why the retraining is postponed.');
    expect(inputIds(refused.card)).toEqual(['days', 'text']);
    const done = await teams.execute(sofia, 'prompt_submit', { ...submit.data, days: '7', text: 'Waiting for the new leave policy.' });
    expect(cardText(done.card)).toContain('Retraining of Leave Explainer postponed');
  }, 30_000);

  it('Teams: Register on a shadow alert, the role prompt, then the request form with the agent id carried', async () => {
    const liam = teamsUser(roster.chat.person(LIAM)!);
    await teams.install(liam);
    const alert = await roster.services.supervision.alerts.raise({
      kind: 'shadow',
      agentId: asAgentId('agt_5ade5ade5ade000a'),
      severity: 'critical',
      summary: 'Telemetry arrived for agt_5ade5ade5ade000a, which is not registered in Roster.',
      details: { agentName: 'Unregistered agent' },
    });
    // Liam is paged in Slack (his preferred platform); the same card's button works from Teams.
    const card = roster.services.supervision.cards.alert(alert, LIAM);
    const page = adaptiveCard(card);
    const prompt = await teams.execute(liam, 'alert_register', button(page, 'alert_register').data!);
    expect(inputIds(prompt.card)).toEqual(['role']);
    const next = await teams.execute(liam, 'prompt_submit', { ...button(prompt.card, 'prompt_submit').data, role: 'kb-answerer' });
    const submit = button(next.card, 'agent_request_submit');
    expect(submit.data).toEqual({ roleId: 'kb-answerer', registerAgentId: 'agt_5ade5ade5ade000a' });
    const sent = await teams.execute(liam, 'agent_request_submit', {
      ...submit.data,
      agentName: 'Gateway Wiki Bot',
      purpose: 'Answers questions from the engineering wiki.',
      businessUnit: 'engineering',
      sponsorEmails: LIAM,
    });
    expect(cardText(sent.card)).toContain('Request sent: Gateway Wiki Bot');
    expect(await roster.services.agents.get(asAgentId('agt_5ade5ade5ade000a'))).toMatchObject({
      status: 'requested',
      catalogRoleId: 'kb-answerer',
    });
    await eventually(async () => (await roster.services.supervision.alertRepo.get(alert.id))?.status === 'acknowledged');
  }, 30_000);

  it('Teams: "Decisions behind this" on an alert sends the decision log; Record as failure mode keeps one as a note', async () => {
    const liam = teamsUser(roster.chat.person(LIAM)!);
    await teams.install(liam);
    const agent = agentRecord({ name: 'Claims Helper', sponsors: [SOFIA] });
    await roster.services.agents.insert(agent);
    await roster.services.supervision.telemetry.ingest(
      Array.from({ length: 5 }, (_, i) => ({
        eventId: `claims-${i}`,
        agentId: agent.id,
        time: new Date(Date.now() - i * 60_000),
        taskType: 'claim',
        outcome: 'failure' as const,
        correctness: 0,
        latencyMs: 900,
        costUSD: 0.004,
        decisionSummary: `Rejected claim ${i} for a missing receipt that was attached`,
      })),
    );
    const alert = await roster.services.supervision.alerts.raise({
      kind: 'error-spike',
      agentId: agent.id,
      severity: 'critical',
      summary: 'Claims Helper: 5 of its last 5 tasks failed.',
      details: { agentName: agent.name },
    });
    connector.reset();
    const res = await teams.execute(liam, 'alert_decisions', { alertId: alert.id });
    expect(res.status).toBe(200);
    expect(res.card && cardText(res.card)).toContain('error-spike alert: Claims Helper');
    const log = await eventually(() =>
      connector
        .posts(liam.conversationId)
        .map((p) => FakeConnector.card(p))
        .find((c) => cardText(c).includes('Decisions of Claims Helper')),
    );
    expect(cardText(log)).toContain('Rejected claim 0 for a missing receipt');
    const record = button(log, 'decision_record');
    const recorded = await teams.execute(liam, 'decision_record', record.data!);
    expect(recorded.status).toBe(200);
    await eventually(async () => (await roster.services.agents.get(agent.id))?.knowledgeNotes.length === 1);
    expect((await roster.services.agents.get(agent.id))?.knowledgeNotes[0]).toMatchObject({ kind: 'failure-mode', by: LIAM });
  }, 30_000);
});
