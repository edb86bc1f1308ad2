import type { CommandEvent } from '../../src/commands/index.js';
import { onBothPlatforms, type BothPlatformsTestRoster } from '../helpers/app.js';
import { uniqueDbName } from '../helpers/db.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { agentRecord, eventually, people } from '../helpers/harness.js';
import { asAgentId, asHandoffId } from '../helpers/ids.js';
import { buttonClick, interaction, postSlack } from '../helpers/slack-requests.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { cardText } from '../channels/teams/card-reading.js';
import { teamsUser } from '../channels/teams/teams-client.js';

const LIAM = { id: 'U04K7R3D9SW', email: people.liam }; // an IT admin, on Slack and Teams
const JONAS = { id: 'U06R5C2T8WK', email: 'jonas.weber@brightwater.example' }; // the Recruiters queue, on both platforms

/*
 * The agent buttons (chat-actions.ts) are commands on the bus from either platform: a hand-off's
 * Take it clicked on Slack (a signed block_actions to Bolt's receiver) and in Teams (an
 * Action.Execute invoke to the Agents SDK) both become `handoff.take`, run by the one handler the
 * bus's registry holds for it. Observed through the bus's observers, and through what people see:
 * the cases stored as taken by the clicker, and the Teams card answered with the case as taken.
 */
describe('command bus: an agent button from Slack and from Teams', () => {
  let both: BothPlatformsTestRoster;
  beforeAll(async () => {
    both = await onBothPlatforms({ dbName: uniqueDbName('bus-buttons') });
  });
  afterAll(() => both?.stop());

  it('Take it on a hand-off reaches the same handoff.take handler from either platform', async () => {
    const { roster, slack, teams } = both;
    const events: CommandEvent[] = [];
    const unobserve = roster.services.bus.observe((event) => events.push(event));
    const agent = agentRecord({
      name: 'Bus Screening Desk',
      status: 'active',
      catalogRoleId: 'resume-screener',
      businessUnit: 'people-ops',
      sponsors: [people.sofia],
      requestedBy: people.sofia,
    });
    await roster.services.agents.insert(agent);
    const handoff = async (ref: string) =>
      (
        await roster.services.handoffs.create(agent, {
          kind: 'candidate-review',
          summary: `Candidate ${ref} to review.`,
          details: { candidateRef: ref },
          idempotency_key: `bus-handoff-${ref}`,
        })
      ).view.id;
    const onSlack = await handoff('CAND-BUS-S');
    const onTeams = await handoff('CAND-BUS-T');

    // Jonas takes the first on the card Slack delivered to him, through Bolt's receiver.
    const delivered = await slack.waitFor(
      'chat.postMessage',
      (a) =>
        a.channel === JONAS.id && actionElements(a.blocks).some((e) => e.action_id === 'handoff_take' && String(e.value).includes(onSlack)),
      20_000,
    );
    const take = actionElements(delivered.args.blocks).find((e) => e.action_id === 'handoff_take' && String(e.value).includes(onSlack));
    const clicked = await postSlack(
      roster.baseUrl,
      interaction(buttonClick(JONAS.id, 'handoff_take', String(take!.value), slack.responseUrl('jonas-takes'))),
    );
    expect(clicked.status).toBe(200);
    const fromSlack = await eventually(() => events.find((e) => e.type === 'handoff.take' && e.stage === 'done'));

    // He takes the second in Teams: an Action.Execute invoke, answered with the case as taken.
    const jonas = teamsUser(roster.chat.person(JONAS.email)!);
    const answer = await teams.execute(jonas, 'handoff_take', { handoffId: onTeams });
    expect(answer.status).toBe(200);
    expect(cardText(answer.card)).toContain('Resolve');
    const taken = events.filter((e) => e.type === 'handoff.take');

    // Both went through the bus to the one handler, done, for Jonas.
    expect(taken).toHaveLength(2);
    expect(taken.map((e) => [e.actor, e.outcome, e.stage])).toEqual([
      [JONAS.email, 'done', 'done'],
      [JONAS.email, 'done', 'done'],
    ]);
    expect(taken[1]!.handler).toBe(fromSlack.handler);
    // What the clicks changed: both cases are his.
    for (const id of [onSlack, onTeams])
      expect(await roster.services.handoffs.get(agent.id, asHandoffId(id))).toMatchObject({ status: 'taken', takenBy: JONAS.email });
    unobserve();
  }, 90_000);

  it('Retire agent on an alert reaches the same alert.retire handler from either platform', async () => {
    const { roster, slack, teams, connector } = both;
    const events: CommandEvent[] = [];
    const unobserve = roster.services.bus.observe((event) => events.push(event));
    const alertOn = async (name: string) => {
      const agent = agentRecord({ name, status: 'active', sponsors: [people.tom] });
      await roster.services.agents.insert(agent);
      const alert = await roster.services.supervision.alerts.raise({
        kind: 'drift',
        agentId: agent.id,
        severity: 'warning',
        summary: `${name} drifted.`,
        details: {},
      });
      return { agent, alert };
    };
    const onSlack = await alertOn('Bus Retired On Slack');
    const onTeams = await alertOn('Bus Retired In Teams');

    const clicked = await postSlack(
      roster.baseUrl,
      interaction(buttonClick(LIAM.id, 'alert_retire', JSON.stringify({ alertId: onSlack.alert.id }), slack.responseUrl('liam-retires'))),
    );
    expect(clicked.status).toBe(200);
    const fromSlack = await eventually(() => events.find((e) => e.type === 'alert.retire' && e.stage === 'done'));

    const liam = teamsUser(roster.chat.person(LIAM.email)!);
    await teams.install(liam);
    const answer = await teams.execute(liam, 'alert_retire', { alertId: onTeams.alert.id });
    expect(answer.status).toBe(200);
    const retired = events.filter((e) => e.type === 'alert.retire');
    expect(retired.map((e) => [e.actor, e.outcome, e.stage])).toEqual([
      [LIAM.email, 'done', 'done'],
      [LIAM.email, 'done', 'done'],
    ]);
    expect(retired[1]!.handler).toBe(fromSlack.handler);
    // Each agent's retirement started, named by its alert.
    const started: string[] = [];
    for (const { agent, alert } of [onSlack, onTeams]) {
      const [run] = await roster.services.runs.list({ agentId: agent.id, flowId: 'retirement' });
      expect(run?.context.reason).toBe(`Retire chosen from the drift alert ${alert.id}: ${agent.name} drifted.`);
      started.push(run!.id);
    }
    // What Liam sees: on Slack the alert card again and, privately, the retirement's request; in
    // Teams the alert card as the answer and the request's status in the chat.
    const seenOnSlack = () => slack.responses.filter((r) => r.id === 'liam-retires').map((r) => JSON.stringify(r.body));
    await eventually(() => seenOnSlack().some((body) => body.includes(started[0]!)));
    expect(seenOnSlack().some((body) => body.includes('Bus Retired On Slack drifted.'))).toBe(true);
    expect(cardText(answer.card)).toContain('Bus Retired In Teams drifted.');
    await eventually(() => connector.posts(liam.conversationId).find((p) => cardText(FakeConnector.card(p)).includes(started[1]!)));
    unobserve();
  }, 90_000);

  it('Decisions behind this on an alert reaches the same agent.decisions handler from either platform, and each look is recorded', async () => {
    const { roster, slack, teams, connector } = both;
    const events: CommandEvent[] = [];
    const unobserve = roster.services.bus.observe((event) => events.push(event));
    const agent = agentRecord({ name: 'Bus Decided', status: 'active', sponsors: [people.liam] });
    await roster.services.agents.insert(agent);
    const alert = await roster.services.supervision.alerts.raise({
      kind: 'drift',
      agentId: agent.id,
      severity: 'warning',
      summary: 'Bus Decided drifted.',
      details: {},
    });
    const seen = 'Decisions of Bus Decided';

    const clicked = await postSlack(
      roster.baseUrl,
      interaction(buttonClick(LIAM.id, 'alert_decisions', JSON.stringify({ alertId: alert.id }), slack.responseUrl('liam-decisions'))),
    );
    expect(clicked.status).toBe(200);
    const fromSlack = await eventually(() => events.find((e) => e.type === 'agent.decisions' && e.stage === 'done'));
    await eventually(
      () =>
        slack.responses.some((r) => r.id === 'liam-decisions' && JSON.stringify(r.body).includes(seen)) ||
        slack.calls.some((c) => JSON.stringify(c.args).includes(seen)),
    );

    const liam = teamsUser(roster.chat.person(LIAM.email)!);
    await teams.install(liam);
    connector.reset();
    expect((await teams.execute(liam, 'alert_decisions', { alertId: alert.id })).status).toBe(200);
    await eventually(() => connector.posts(liam.conversationId).find((p) => cardText(FakeConnector.card(p)).includes(seen)));
    const looked = events.filter((e) => e.type === 'agent.decisions');
    expect(looked.map((e) => [e.actor, e.outcome, e.stage])).toEqual([
      [LIAM.email, 'done', 'done'],
      [LIAM.email, 'done', 'done'],
    ]);
    expect(looked[1]!.handler).toBe(fromSlack.handler);
    // Each look is audited by the decision log it read (the rule asked once, by the command).
    const viewed = (await roster.services.audit.export()).filter((e) => e.action === 'decisions.viewed' && e.subject.id === agent.id);
    expect(viewed.map((e) => e.actor)).toEqual([
      { kind: 'person', email: LIAM.email },
      { kind: 'person', email: LIAM.email },
    ]);
    unobserve();
  }, 90_000);

  it('a button opening a form reaches the same *.open handler from either platform, and a refusal says the command’s words on both', async () => {
    const { roster, slack, teams } = both;
    const events: CommandEvent[] = [];
    const unobserve = roster.services.bus.observe((event) => events.push(event));
    const working = agentRecord({ name: 'Bus Formed Agent', status: 'active', sponsors: [people.tom], businessUnit: 'customer-support' });
    const suspended = agentRecord({ name: 'Bus Formed Suspended', status: 'suspended', sponsors: [people.tom], businessUnit: 'finance' });
    await roster.services.agents.insert(working);
    await roster.services.agents.insert(suspended);
    const shadow = await roster.services.supervision.alerts.raise({
      kind: 'shadow',
      agentId: asAgentId('shadow-bus-form-door'),
      severity: 'critical',
      summary: 'An unregistered agent sent telemetry.',
      details: { agentIds: ['shadow-bus-form-door'] },
    });
    // [button, its value, the opening command, the form's title]
    const buttons = [
      ['agent_note', { agentId: working.id }, 'agent.note.open', 'Add a knowledge note'],
      ['version_propose', { agentId: working.id }, 'agent.version.open', 'Propose a new version'],
      ['retrain_postpone', { agentId: working.id }, 'retraining.postpone.open', 'Postpone retraining'],
      ['agent_reactivate', { agentId: suspended.id }, 'agent.reactivation.open', 'Reactivate agent'],
      ['alert_assign_sponsor', { alertId: shadow.id }, 'alert.sponsor.open', 'Assign a sponsor'],
    ] as const;
    const liam = teamsUser(roster.chat.person(LIAM.email)!);
    for (const [verb, ids, type, title] of buttons) {
      events.length = 0;
      // Liam, an IT admin, clicks it on Slack (a modal opens) and in Teams (the form answers the invoke).
      const clicked = await postSlack(roster.baseUrl, interaction(buttonClick(LIAM.id, verb, JSON.stringify(ids))));
      expect(clicked.status).toBe(200);
      const opened = await slack.waitFor(
        'views.open',
        (a) => JSON.stringify(a.view).includes(verb) && JSON.stringify(a.view).includes(title),
      );
      expect(JSON.stringify(opened.args.view)).toContain(Object.values(ids)[0]);
      const answer = await teams.execute(liam, verb, ids);
      expect(answer.status).toBe(200);
      expect(cardText(answer.card)).toContain(title);
      const opening = events.filter((e) => e.type === type);
      expect(opening.map((e) => [e.actor, e.outcome, e.stage])).toEqual([
        [LIAM.email, 'done', 'done'],
        [LIAM.email, 'done', 'done'],
      ]);
      expect(opening[1]!.handler).toBe(opening[0]!.handler);
    }
    // Jonas may not add a note: refused by agent.note.open on both, in agent.note.add's words.
    events.length = 0;
    const words = "Only the agent's sponsors, IT admins, security and on-call can add knowledge notes.";
    const refused = await postSlack(
      roster.baseUrl,
      interaction(buttonClick(JONAS.id, 'agent_note', JSON.stringify({ agentId: working.id }), slack.responseUrl('jonas-notes'))),
    );
    expect(refused.status).toBe(200);
    await eventually(() => slack.responses.find((r) => r.id === 'jonas-notes' && JSON.stringify(r.body).includes(words)));
    const jonas = teamsUser(roster.chat.person(JONAS.email)!);
    const answer = await teams.execute(jonas, 'agent_note', { agentId: working.id });
    expect(cardText(answer.card)).toContain(words);
    expect(events.filter((e) => e.type === 'agent.note.open').map((e) => [e.actor, e.outcome, e.stage])).toEqual([
      [JONAS.email, 'forbidden', 'authorise'],
      [JONAS.email, 'forbidden', 'authorise'],
    ]);
    unobserve();
  }, 90_000);
});
