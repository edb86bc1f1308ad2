import path from 'node:path';
import { loadEvalSuites } from '../../src/config/eval-suites.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import type { CommandEvent, CommandType } from '../../src/commands/index.js';
import { parseChatCommand } from '../../src/channels/chat.js';
import { onBothPlatforms, type BothPlatformsTestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { uniqueDbName } from '../helpers/db.js';
import { agentRecord, eventually, people, SHIPPED_CONFIG } from '../helpers/harness.js';
import { projectRoot } from '../helpers/roster-process.js';
import { appHomeOpened, postSlack, slashCommand } from '../helpers/slack-requests.js';
import { cardText } from '../channels/teams/card-reading.js';
import { teamsUser } from '../channels/teams/teams-client.js';

const LIAM = { id: 'U04K7R3D9SW', email: people.liam }; // it-admin, on Slack and Teams

/*
 * The typed words are interaction only: `/roster <words>` signed for Slack's Bolt receiver and the
 * same words as a Teams message through the Agents SDK become the same command on the bus, run by
 * the one handler its registry holds for it. One word of each family moved onto the bus (a note,
 * the decision log, out of office, find), observed through the bus's observers and through what
 * the person sees and what is stored.
 */
describe('command bus: the same typed words from Slack and from Teams', () => {
  let both: BothPlatformsTestRoster;
  beforeAll(async () => {
    both = await onBothPlatforms({
      dbName: uniqueDbName('words'),
      // The suites Roster measures with, so `eval <agent>` of a measured role opens the endpoint form.
      suites: loadEvalSuites(path.join(projectRoot, 'test/fixtures/evals/e2e'), loadOrgConfig(SHIPPED_CONFIG)),
    });
  });
  afterAll(() => both?.stop());

  it('reach the same handler of note, decisions, back, find and cancel from either platform', async () => {
    const { roster, slack, teams, connector } = both;
    const agent = agentRecord({ name: 'Door Parity', sponsors: [people.liam], businessUnit: 'engineering', catalogRoleId: 'kb-answerer' });
    await roster.services.agents.insert(agent);
    const events: CommandEvent[] = [];
    const unobserve = roster.services.bus.observe((event) => events.push(event));
    const liam = teamsUser(roster.chat.person(LIAM.email)!);
    await teams.install(liam);

    const words: Array<[CommandType, string, string, string]> = [
      [
        'agent.note.add',
        `note ${agent.id} failure Said so in Slack.`,
        'note "Door Parity" failure Said so in Teams.',
        'Noted on Door Parity',
      ],
      ['agent.decisions', `decisions ${agent.id}`, 'decisions "Door Parity" 7', 'Decisions of Door Parity'],
      ['delegation.back', 'back', 'back', 'You were not away'],
      ['agents.find', 'find door parity', 'search door', 'Agents found'],
      // `cancel` alone lists the person's open requests (Liam has none here).
      ['requests.open', 'cancel', 'cancel', 'Nothing to cancel'],
    ];
    for (const [type, slackWords, teamsWords, seen] of words) {
      const id = `words-${type}`;
      const sent = await postSlack(roster.baseUrl, slashCommand(LIAM.id, slackWords, slack.responseUrl(id)));
      expect(sent.status).toBe(200);
      expect(JSON.stringify((await slack.waitForResponse(id)).body)).toContain(seen);
      const fromSlack = await eventually(() => events.find((e) => e.type === type));

      connector.reset();
      await teams.message(liam, teamsWords);
      await eventually(() => connector.posts(liam.conversationId).find((p) => cardText(FakeConnector.card(p)).includes(seen)));
      const fromTeams = events.filter((e) => e.type === type)[1];

      expect(fromSlack).toMatchObject({ type, actor: people.liam, outcome: 'done', stage: 'done' });
      expect(fromTeams).toMatchObject({ type, actor: people.liam, outcome: 'done', stage: 'done' });
      expect(fromTeams!.handler).toBe(fromSlack.handler);
    }
    // Two notes stored, one from each door, in the person's words.
    const noted = await roster.services.agents.get(agent.id);
    expect(noted?.knowledgeNotes.map((n) => [n.kind, n.text, n.by])).toEqual([
      ['failure-mode', 'Said so in Slack.', people.liam],
      ['failure-mode', 'Said so in Teams.', people.liam],
    ]);
    unobserve();
  }, 120_000);

  it('reach the same handler of boundary, and of a form opened by words, from either platform', async () => {
    const { roster, slack, teams, connector } = both;
    const agent = agentRecord({
      name: 'Door Boundary',
      sponsors: [people.liam],
      businessUnit: 'finance',
      catalogRoleId: 'procurement-agent',
      status: 'active',
    });
    await roster.services.agents.insert(agent);
    const events: CommandEvent[] = [];
    const unobserve = roster.services.bus.observe((event) => events.push(event));
    const liam = teamsUser(roster.chat.person(LIAM.email)!);
    await teams.install(liam);

    const words: Array<[CommandType, string, string, string]> = [
      [
        'boundary.request',
        `boundary ${agent.id} contracts.modify autonomous Renewals at the same rate are routine now.`,
        'boundary "Door Boundary" suppliers.read forbidden Supplier data is under a legal hold.',
        'Boundary change sent to IT',
      ],
      ['agent.note.open', `note ${agent.id}`, 'note "Door Boundary"', 'Add a knowledge note'],
      ['retraining.postpone.open', `retrain ${agent.id} postpone`, 'retrain "Door Boundary" postpone', 'Postpone retraining'],
      // Typed alone, the form picks its agent among those the picker offers.
      ['agents.pick', 'note', 'note', 'Add a knowledge note'],
    ];
    for (const [type, slackWords, teamsWords, seen] of words) {
      const id = `words-${type}`;
      const sent = await postSlack(roster.baseUrl, slashCommand(LIAM.id, slackWords, slack.responseUrl(id)));
      expect(sent.status).toBe(200);
      const fromSlack = await eventually(() => events.find((e) => e.type === type));
      await eventually(() => slack.responses.find((r) => r.id === id) ?? slack.calls.find((c) => JSON.stringify(c.args).includes(seen)));

      connector.reset();
      await teams.message(liam, teamsWords);
      await eventually(() => connector.posts(liam.conversationId).find((p) => cardText(FakeConnector.card(p)).includes(seen)));
      const fromTeams = events.filter((e) => e.type === type)[1];

      expect(fromSlack).toMatchObject({ type, actor: people.liam, outcome: 'done', stage: 'done' });
      expect(fromTeams).toMatchObject({ type, actor: people.liam, outcome: 'done', stage: 'done' });
      expect(fromTeams!.handler).toBe(fromSlack.handler);
    }
    // Two changes wait for IT, one from each door, in the sponsor's words.
    const aisha = roster.chat.person('aisha.khan@brightwater.example')!; // an IT admin other than Liam
    const waiting = await roster.services.boundaryChanges.pendingFor(aisha);
    const asked = waiting.filter((c) => c.agentId === agent.id).map((c) => [c.action, c.to, c.requestedBy]);
    expect(asked.sort()).toEqual([
      ['contracts.modify', 'autonomous', people.liam],
      ['suppliers.read', 'forbidden', people.liam],
    ]);
    unobserve();
  }, 120_000);

  it('eval <agent> is one command, evaluation.open, which opens the endpoint form by the rule of the Register endpoint and run button, from either platform', async () => {
    const { roster, slack, teams, connector } = both;
    const agent = agentRecord({
      name: 'Door Evaluated',
      sponsors: [people.liam],
      requestedBy: people.liam,
      businessUnit: 'customer-support', // Priya, its unit's approver, may see it
      catalogRoleId: 'kb-answerer', // a role Roster measures itself
    });
    await roster.services.agents.insert(agent);
    const events: CommandEvent[] = [];
    const unobserve = roster.services.bus.observe((event) => events.push(event));
    const liam = teamsUser(roster.chat.person(LIAM.email)!);
    await teams.install(liam);
    const seen = 'Evaluate with Roster';

    const sent = await postSlack(roster.baseUrl, slashCommand(LIAM.id, `eval ${agent.id}`, slack.responseUrl('words-eval')));
    expect(sent.status).toBe(200);
    const fromSlack = await eventually(() => events.find((e) => e.type === 'evaluation.open'));
    await eventually(
      () => slack.responses.find((r) => r.id === 'words-eval') ?? slack.calls.find((c) => JSON.stringify(c.args).includes(seen)),
    );
    connector.reset();
    await teams.message(liam, 'eval "Door Evaluated"');
    await eventually(() => connector.posts(liam.conversationId).find((p) => cardText(FakeConnector.card(p)).includes(seen)));
    const fromTeams = events.filter((e) => e.type === 'evaluation.open')[1];

    expect(fromSlack).toMatchObject({ type: 'evaluation.open', actor: people.liam, outcome: 'done', stage: 'done' });
    expect(fromTeams).toMatchObject({ type: 'evaluation.open', actor: people.liam, outcome: 'done', stage: 'done' });
    expect(fromTeams!.handler).toBe(fromSlack.handler);
    // One command per word (it asked agent.show, then evaluation.register, each reading the agent).
    const evaluating = (e: CommandEvent) => e.type === 'agent.show' || e.type.startsWith('evaluation.');
    expect(events.filter(evaluating).map((e) => e.type)).toEqual(['evaluation.open', 'evaluation.open']);

    // Someone who may see the agent but not manage its evaluation is refused in the button's words
    // (before, the typed word opened the form for anyone who could see the agent).
    const priya = roster.chat.person('priya.raman@brightwater.example')!;
    const refused = roster.chat.run(priya, parseChatCommand(`eval ${agent.id}`));
    await expect(refused).rejects.toMatchObject({
      code: 'forbidden',
      userMessage: "Only Door Evaluated's requester, its sponsors or an IT admin can register its endpoint.",
    });
    expect(events.at(-1)).toMatchObject({ type: 'evaluation.open', actor: priya.email, outcome: 'forbidden', stage: 'authorise' });
    unobserve();
  }, 120_000);

  it('pending, App Home and the Teams home card read what waits through the same tasks.waiting and home.fleet handlers', async () => {
    const { roster, slack, teams, connector } = both;
    const agent = agentRecord({
      name: 'Door Waiting',
      sponsors: [people.maya],
      businessUnit: 'finance',
      catalogRoleId: 'procurement-agent',
      status: 'active',
    });
    await roster.services.agents.insert(agent);
    // Maya, its sponsor, asks IT for a change: it waits for Liam among the IT admins.
    await roster.services.bus.execute(roster.chat.person(people.maya)!, {
      type: 'boundary.request',
      agent: agent.id,
      action: 'contracts.modify',
      mode: 'autonomous',
      reason: 'Renewals at the same rate are routine now.',
    });
    const events: CommandEvent[] = [];
    const unobserve = roster.services.bus.observe((event) => events.push(event));
    const liam = teamsUser(roster.chat.person(LIAM.email)!);
    await teams.install(liam);
    const seen = 'Boundary change for Door Waiting';

    // Each door's read: the handler that ran each command, for Liam.
    const handlers = new Map<string, object>();
    const readBy = (types: readonly string[]) => {
      for (const type of types) {
        const read = events.find((e) => e.type === type);
        expect(read).toMatchObject({ actor: people.liam, outcome: 'done', stage: 'done' });
        expect(read!.handler).toBe(handlers.get(type) ?? read!.handler);
        handlers.set(type, read!.handler);
      }
      events.length = 0;
    };
    // The Home tab in Slack (published on app_home_opened) and `home` in Teams: the change and the fleet.
    const published = slack.of('views.publish', (a) => a.user_id === LIAM.id).length;
    expect((await postSlack(roster.baseUrl, appHomeOpened(LIAM.id))).status).toBe(200);
    const home = await eventually(() => slack.of('views.publish', (a) => a.user_id === LIAM.id)[published]);
    expect(JSON.stringify(home.args.view)).toContain(seen);
    expect(JSON.stringify(home.args.view)).toContain('Fleet:');
    readBy(['tasks.waiting', 'home.fleet']);
    connector.reset();
    await teams.message(liam, 'home');
    const card = await eventually(() => connector.cards(liam.conversationId).find((c) => cardText(c).includes(seen)));
    expect(cardText(card)).toContain('Fleet:');
    readBy(['tasks.waiting', 'home.fleet']);
    // `pending` typed on each.
    const sent = await postSlack(roster.baseUrl, slashCommand(LIAM.id, 'pending', slack.responseUrl('words-pending')));
    expect(sent.status).toBe(200);
    expect(JSON.stringify((await slack.waitForResponse('words-pending')).body)).toContain('waiting for you');
    readBy(['tasks.waiting']);
    await teams.message(liam, 'pending');
    await eventually(() => connector.cards(liam.conversationId).find((c) => cardText(c).includes('waiting for you')));
    readBy(['tasks.waiting']);
    unobserve();
  }, 120_000);
});
