import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { agentRecord, eventually, passingEvaluation, people, SHIPPED_CONFIG } from '../helpers/harness.js';
import { buttonClick, interaction, postSlack, slashCommand } from '../helpers/slack-requests.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { button, cardText, cardVerbs } from './teams/card-reading.js';
import { type TeamsClient, teamsUser } from './teams/teams-client.js';
import { commandsOf } from '../helpers/commands.js';
import { asAgentId, asGrantId } from '../helpers/ids.js';

/*
 * Cancelling a pending request, end to end: the requester's status card carries Cancel (Slack
 * button through Bolt's receiver, Teams Action.Execute through the Agents SDK), `cancel <request>`
 * is a command on both, and every approver's card changes in place to "Cancelled by …" without
 * buttons, on Slack (chat.update) and on Teams (an activity PUT to the Bot Connector).
 */

const PRIYA = { id: 'U04E6T1V5GA', email: 'priya.raman@brightwater.example' }; // sponsor, approver:customer-support; Slack
const HIROSHI = { id: 'U04F3N6B8CJ', email: 'hiroshi.tanaka@brightwater.example' }; // data-owner:crm; Slack
const SOFIA = 'sofia.alvarez@brightwater.example'; // second sponsor; Teams

const text = (value: unknown) => JSON.stringify(value);
const buttonsOf = (blocks: unknown) => actionElements(blocks).map((b) => String(b.action_id));

describe('cancelling a pending request in Slack and Teams', () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let roster: TestRoster;
  let stop: () => Promise<void>;
  let client: TeamsClient;
  beforeAll(async () => {
    ({ slack, connector, roster, teams: client, stop } = await onBothPlatforms());
  });
  afterAll(() => stop?.());

  const timersOf = (runId: string) => roster.db.connection.collection('agendaJobs').countDocuments({ 'data.runId': runId });

  it('an access request: only its requester may cancel; Cancel on her Slack status card closes it and every approver card says so', async () => {
    const sofia = teamsUser(roster.chat.person(SOFIA)!);
    await client.install(sofia);
    const agent = agentRecord({ name: 'Ticket Scout', sponsors: [PRIYA.email, SOFIA] });
    await roster.services.agents.insert(agent);

    await postSlack(
      roster.baseUrl,
      slashCommand(PRIYA.id, `access ${agent.id} crm:read 30d order look-ups for refunds`, slack.responseUrl('ask')),
    );
    await slack.waitForResponse('ask');
    const [run] = await eventually(async () => {
      const runs = await roster.services.runs.list({ agentId: agent.id, flowId: 'access-request' });
      return runs.length && runs[0]!.status === 'waiting' ? runs : undefined;
    });
    const runId = run!.id;
    expect(run!.waitingFor).toEqual(expect.arrayContaining([SOFIA, HIROSHI.email]));
    expect(await timersOf(runId)).toBeGreaterThan(0);

    // Priya's status card in Slack carries Cancel; Hiroshi's approval card (Slack) and Sofia's (Teams) carry Approve.
    // Posted while the run started, then updated in place once it waits for approvals.
    const status = await slack.waitFor(
      'chat.update',
      (a) => a.channel === 'D04E6T1V5GA' && buttonsOf(a.blocks).includes('request_cancel') && text(a.blocks).includes(runId),
    );
    const cancel = actionElements(status.args.blocks).find((b) => b.action_id === 'request_cancel')!;
    expect(cancel.confirm).toBeDefined();
    const hiroshiCard = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === HIROSHI.id && buttonsOf(a.blocks).includes('approval_approve') && text(a.blocks).includes('Ticket Scout'),
    );
    const sofiaCard = await eventually(() =>
      connector
        .posts(sofia.conversationId)
        .find(
          (p) => cardText(FakeConnector.card(p)).includes('Ticket Scout') && cardVerbs(FakeConnector.card(p)).includes('approval_approve'),
        ),
    );

    // Someone else (an approver) may not cancel it, neither typed nor with its button.
    await postSlack(roster.baseUrl, slashCommand(HIROSHI.id, `cancel ${runId}`, slack.responseUrl('hiroshi-cancel')));
    expect(text((await slack.waitForResponse('hiroshi-cancel')).body)).toContain('Only the person who made this request');
    expect((await roster.services.runs.get(runId))?.status).toBe('waiting');

    // `cancel` alone lists Priya's open requests with their Cancel buttons.
    await postSlack(roster.baseUrl, slashCommand(PRIYA.id, 'cancel', slack.responseUrl('list')));
    const list = await slack.waitForResponse('list');
    expect(text(list.body)).toContain(runId);
    expect(buttonsOf(list.body.blocks)).toContain('request_cancel');

    // Priya clicks Cancel on her status card.
    await postSlack(
      roster.baseUrl,
      interaction(
        buttonClick(PRIYA.id, 'request_cancel', String(cancel.value), slack.responseUrl('cancel'), { channel_id: 'D04E6T1V5GA' }),
      ),
    );
    const replaced = await slack.waitForResponse('cancel');
    expect(replaced.body.replace_original).toBe(true);
    expect(text(replaced.body)).toContain('Cancelled by Priya Raman');
    expect(buttonsOf(replaced.body.blocks)).not.toContain('request_cancel');

    const closed = await eventually(async () => {
      const r = await roster.services.runs.get(runId);
      return r?.status === 'cancelled' ? r : undefined;
    });
    expect(closed.events.at(-1)).toMatchObject({ type: 'cancelled', by: PRIYA.email });
    // The pending grant never becomes active.
    await eventually(async () => (await roster.services.grants.get(asGrantId(String(closed.subject.id))))?.status === 'denied');

    // Hiroshi's Slack card is updated in place: cancelled by Priya, no buttons.
    const updated = await slack.waitFor(
      'chat.update',
      (a) => a.channel === `D${HIROSHI.id.slice(1)}` && text(a.blocks).includes('Cancelled'),
    );
    expect(text(updated.args.blocks)).toContain(`Cancelled* by <@${PRIYA.id}>`);
    expect(buttonsOf(updated.args.blocks)).not.toContain('approval_approve');
    // Sofia's Teams card is replaced by a PUT to the same activity.
    const put = await eventually(() =>
      connector
        .puts(sofia.conversationId)
        .find((p) => p.activityId === sofiaCard.createdId && cardText(FakeConnector.card(p)).includes('Cancelled')),
    );
    expect(cardText(FakeConnector.card(put))).toContain('Cancelled** by Priya Raman');
    expect(cardVerbs(FakeConnector.card(put))).not.toContain('approval_approve');
    // Its reminders, escalation and expiry are gone.
    await eventually(async () => (await timersOf(runId)) === 0);
    // Audited, by Priya.
    const audit = await eventually(async () =>
      (await roster.services.audit.export({ agentId: agent.id })).find((e) => e.action === 'run.cancelled'),
    );
    expect(audit.actor).toEqual({ kind: 'person', email: PRIYA.email });

    // Approving it now is refused with words, and cancelling again says it is already cancelled.
    const approve = actionElements(hiroshiCard.args.blocks).find((b) => b.action_id === 'approval_approve')!;
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(HIROSHI.id, 'approval_approve', String(approve.value), slack.responseUrl('late-approve'))),
    );
    expect(text((await slack.waitForResponse('late-approve')).body)).toContain('cancelled');
    await postSlack(roster.baseUrl, slashCommand(PRIYA.id, `cancel ${runId}`, slack.responseUrl('again')));
    expect(text((await slack.waitForResponse('again')).body)).toContain('already cancelled');
  }, 60_000);

  it('an agent request: Tom cancels it from his Teams status card; the Slack approver card says so', async () => {
    const tom = teamsUser(roster.chat.person(people.tom)!);
    await client.install(tom);
    const { run: started, agentId } = await commandsOf(roster.services).requestAgent(people.tom, {
      roleId: 'support-assistant',
      name: 'Refund Helper',
      purpose: 'Drafts refund replies for the support team.',
      businessUnit: 'customer-support',
      sponsors: [people.tom],
      justification: 'Refund tickets wait two days today.',
    });
    await commandsOf(roster.services).submitEvaluation(
      people.liam,
      agentId,
      passingEvaluation(loadOrgConfig(SHIPPED_CONFIG), 'support-assistant'),
    );
    await eventually(async () => (await roster.services.runs.get(started.id))?.steps.approvals?.status === 'waiting');
    const priyaCard = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === PRIYA.id && buttonsOf(a.blocks).includes('approval_approve') && text(a.blocks).includes('Refund Helper'),
    );

    // Typed `cancel` in Teams lists the request with its Cancel button.
    const listed = await client.message(tom, 'cancel');
    expect(listed.status).toBe(200);
    const listCard = await eventually(() =>
      connector
        .posts(tom.conversationId)
        .map((p) => FakeConnector.card(p))
        .find((c) => cardText(c).includes(started.id) && cardVerbs(c).includes('request_cancel')),
    );
    expect(cardText(listCard)).toContain('Refund Helper');

    // Tom's status card (sent to his Teams chat when he asked) has Cancel while approvals are pending.
    const statusCard = await eventually(() =>
      connector
        .puts(tom.conversationId)
        .map((p) => FakeConnector.card(p))
        .find((c) => cardText(c).includes('Your request: Refund Helper') && cardVerbs(c).includes('request_cancel')),
    );
    const clicked = await client.execute(tom, 'request_cancel', button(statusCard, 'request_cancel').data!);
    expect(clicked.status).toBe(200);
    expect(cardText(clicked.card)).toContain('Cancelled by Tom Becker');
    expect(cardVerbs(clicked.card)).not.toContain('request_cancel');

    await eventually(async () => (await roster.services.runs.get(started.id))?.status === 'cancelled');
    await eventually(async () => (await roster.services.agents.get(asAgentId(agentId)))?.status === 'rejected');
    const updated = await slack.waitFor(
      'chat.update',
      (a) => a.channel === `D${PRIYA.id.slice(1)}` && text(a.blocks).includes('Refund Helper') && text(a.blocks).includes('Cancelled'),
    );
    expect(text(updated.args.blocks)).toContain('Cancelled* by Tom Becker');
    expect(buttonsOf(updated.args.blocks)).not.toContain('approval_approve');
    expect(text(priyaCard.args.blocks)).toContain('Refund Helper');

    // Typed again: a friendly "already cancelled", and nothing changes.
    await client.message(tom, `cancel ${started.id}`);
    await eventually(() => connector.posts(tom.conversationId).some((p) => text(p.body).includes('already cancelled')));
  }, 60_000);
});
