import type { CommandEvent, CommandType } from '../../src/commands/index.js';
import { createEvalRepository } from '../../src/store/eval-store.js';
import { onBothPlatforms, type BothPlatformsTestRoster } from '../helpers/app.js';
import { uniqueDbName } from '../helpers/db.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { agentRecord, eventually, people } from '../helpers/harness.js';
import { asAgentId, asEvalRunId } from '../helpers/ids.js';
import { buttonClick, interaction, postSlack, viewSubmission } from '../helpers/slack-requests.js';
import { button, cardText, inputIds } from '../channels/teams/card-reading.js';
import { teamsUser, type TeamsUser } from '../channels/teams/teams-client.js';

const LIAM = { id: 'U04K7R3D9SW', email: people.liam }; // an IT admin and on-call, on Slack and Teams

/*
 * Register on a shadow alert, Register endpoint and run, the failing cases of an evaluation and
 * Record as failure mode are commands on the bus from either platform: a signed Slack
 * interaction (a click, a modal's submit) to Bolt's receiver and a Teams Action.Execute invoke to
 * the Agents SDK become the same command, run by the one handler the bus holds for it. Observed
 * through the bus's observers, and through what Liam sees on each platform.
 */
describe('command bus: Register, the interview buttons and Record as failure mode from Slack and from Teams', () => {
  let both: BothPlatformsTestRoster;
  let liam: TeamsUser;
  let events: CommandEvent[];
  beforeAll(async () => {
    both = await onBothPlatforms({ dbName: uniqueDbName('bus-register') });
    both.roster.services.bus.observe((event) => events.push(event));
    liam = teamsUser(both.roster.chat.person(LIAM.email)!);
    await both.teams.install(liam);
  });
  beforeEach(() => {
    events = [];
  });
  afterAll(() => both?.stop());

  /** The events of one command type, as [actor, outcome, stage]; all from the one handler. */
  const ran = (type: CommandType) => {
    const of = events.filter((e) => e.type === type);
    expect(new Set(of.map((e) => e.handler)).size).toBe(1);
    return of.map((e) => [e.actor, e.outcome, e.stage]);
  };
  const slackClick = (action: string, value: object, responseUrl?: string) =>
    postSlack(both.roster.baseUrl, interaction(buttonClick(LIAM.id, action, JSON.stringify(value), responseUrl)));
  const modalOpened = async (verb: string) => {
    const opened = await both.slack.waitFor('views.open', (a) => JSON.stringify(a.view).includes(`\\"promptVerb\\":\\"${verb}\\"`));
    return opened.args.view as { callback_id: string; private_metadata: string };
  };

  it('Register on a shadow alert: its role prompt and the role picked reach alert.register from either platform', async () => {
    const { roster, teams } = both;
    const alert = await roster.services.supervision.alerts.raise({
      kind: 'shadow',
      agentId: asAgentId('agt_5ade5ade5ade00b1'),
      severity: 'critical',
      summary: 'Telemetry arrived for agt_5ade5ade5ade00b1, which is not registered in Roster.',
      details: { agentName: 'Unregistered agent' },
    });

    // Slack: the click opens the role prompt; the role picked answers with the request form, the agent's id carried.
    expect((await slackClick('alert_register', { alertId: alert.id })).status).toBe(200);
    const modal = await modalOpened('alert_register');
    const picked = await postSlack(
      roster.baseUrl,
      interaction(viewSubmission(LIAM.id, modal, { role: { role: { type: 'static_select', selected_option: { value: 'kb-answerer' } } } })),
    );
    const update = JSON.parse(picked.text) as { response_action: string; view: { callback_id: string; private_metadata: string } };
    expect(update).toMatchObject({ response_action: 'update', view: { callback_id: 'agent_request_submit' } });
    expect(JSON.parse(update.view.private_metadata)).toEqual({ roleId: 'kb-answerer', registerAgentId: 'agt_5ade5ade5ade00b1' });

    // Teams: the same button answers with the prompt, its submit with the request form.
    const prompt = await teams.execute(liam, 'alert_register', { alertId: alert.id });
    expect(inputIds(prompt.card)).toEqual(['role']);
    const next = await teams.execute(liam, 'prompt_submit', { ...button(prompt.card, 'prompt_submit').data, role: 'kb-answerer' });
    expect(button(next.card, 'agent_request_submit').data).toEqual({ roleId: 'kb-answerer', registerAgentId: 'agt_5ade5ade5ade00b1' });

    // Each submit opens the prompt again (who may, not yet registered) before the role is read.
    expect(ran('alert.register')).toEqual(Array.from({ length: 6 }, () => [LIAM.email, 'done', 'done']));
    // Nothing is registered until the request form is sent.
    expect(await roster.services.agents.get(asAgentId('agt_5ade5ade5ade00b1'))).toBeUndefined();
  }, 90_000);

  it('Register endpoint and run: the form opened and sent reach evaluation.register from either platform', async () => {
    const { roster, teams } = both;
    const agent = agentRecord({ name: 'Bus Interviewed Helper', status: 'active', catalogRoleId: 'kb-answerer', sponsors: [people.tom] });
    await roster.services.agents.insert(agent);

    // Slack: the endpoint form opens; sent without a URL, the URL's field says so.
    expect((await slackClick('eval_register', { agentId: agent.id })).status).toBe(200);
    const modal = await modalOpened('eval_register');
    const sent = await postSlack(
      roster.baseUrl,
      interaction(viewSubmission(LIAM.id, modal, { kind: { kind: { type: 'static_select', selected_option: { value: 'http' } } } })),
    );
    expect(JSON.parse(sent.text)).toEqual({ response_action: 'errors', errors: { url: 'Give the endpoint URL.' } });

    // Teams: the same form, and the same words under its URL.
    const prompt = await teams.execute(liam, 'eval_register', { agentId: agent.id });
    expect(inputIds(prompt.card)).toEqual(['kind', 'url', 'target', 'secret']);
    const again = await teams.execute(liam, 'prompt_submit', { ...button(prompt.card, 'prompt_submit').data, kind: 'http', url: '' });
    expect(cardText(again.card)).toContain('Give the endpoint URL.');

    expect(ran('evaluation.register')).toEqual([
      [LIAM.email, 'done', 'done'],
      [LIAM.email, 'invalid_input', 'handle'],
      [LIAM.email, 'done', 'done'],
      [LIAM.email, 'invalid_input', 'handle'],
    ]);
    expect(await createEvalRepository(roster.db.connection).latestEndpoint(agent.id)).toBeUndefined();
  }, 90_000);

  it('the failing cases of an evaluation reach evaluation.show from either platform', async () => {
    const { roster, slack, teams, connector } = both;
    const agent = agentRecord({ name: 'Bus Graded Helper', status: 'active', catalogRoleId: 'kb-answerer', sponsors: [people.tom] });
    await roster.services.agents.insert(agent);
    const repo = createEvalRepository(roster.db.connection);
    const now = new Date().toISOString();
    const evalRunId = asEvalRunId('evr_bus_failing_cases');
    await repo.insertRun({
      id: evalRunId,
      agentId: agent.id,
      agentName: agent.name,
      roleId: agent.catalogRoleId,
      version: agent.version,
      purpose: 'rerun',
      suiteHash: 'a1b2c3d4e5f6a7b8',
      suiteFile: 'kb-answerer.yaml',
      endpoint: { kind: 'http', url: 'http://127.0.0.1:1/' },
      status: 'running',
      total: 2,
      done: 2,
      passed: 1,
      startedAt: now,
      deadlineAt: now,
    });
    for (const [index, passed] of [true, false].entries())
      await repo.saveCase({
        runId: evalRunId,
        caseId: `case-${index}`,
        index,
        mustRefuse: false,
        passed,
        refused: false,
        input: `How do I add printer ${index}?`,
        expected: 'contains "KB-305"',
        got: 'Ask a colleague.',
        at: now,
      });

    // Slack: the list comes back through the click's response URL.
    expect((await slackClick('eval_failures', { evalRunId }, slack.responseUrl('bus-failures'))).status).toBe(200);
    const onSlack = JSON.stringify((await slack.waitForResponse('bus-failures')).body);
    expect(onSlack).toContain(`Failing cases of Bus Graded Helper ${agent.version}: 1 of 2`);
    expect(onSlack).toContain('How do I add printer 1?');

    // Teams: the list is posted to Liam's chat.
    connector.reset();
    expect((await teams.execute(liam, 'eval_failures', { evalRunId })).status).toBe(200);
    const onTeams = await eventually(() =>
      connector
        .posts(liam.conversationId)
        .map((p) => FakeConnector.card(p))
        .find((c) => c !== undefined && cardText(c).includes('Failing cases of Bus Graded Helper')),
    );
    expect(cardText(onTeams!)).toContain('How do I add printer 1?');

    expect(ran('evaluation.show')).toEqual([
      [LIAM.email, 'done', 'done'],
      [LIAM.email, 'done', 'done'],
    ]);
  }, 90_000);

  it('Record as failure mode reaches decision.record from either platform; each decision becomes a note', async () => {
    const { roster, slack, teams } = both;
    const agent = agentRecord({ name: 'Bus Claims Helper', status: 'active', sponsors: [people.tom] });
    await roster.services.agents.insert(agent);
    await roster.services.supervision.telemetry.ingest(
      [0, 1].map((i) => ({
        eventId: `bus-claims-${i}`,
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

    expect(
      (await slackClick('decision_record', { agentId: agent.id, eventId: 'bus-claims-0' }, slack.responseUrl('bus-record'))).status,
    ).toBe(200);
    expect(JSON.stringify((await slack.waitForResponse('bus-record')).body)).toContain('Failure mode recorded on Bus Claims Helper');
    expect((await teams.execute(liam, 'decision_record', { agentId: agent.id, eventId: 'bus-claims-1' })).status).toBe(200);

    await eventually(async () => (await roster.services.agents.get(agent.id))?.knowledgeNotes.length === 2);
    const notes = (await roster.services.agents.get(agent.id))!.knowledgeNotes;
    expect(notes.map((n) => [n.kind, n.by, n.text.slice(0, 'Decision bus-claims-0'.length)])).toEqual([
      ['failure-mode', LIAM.email, 'Decision bus-claims-0'],
      ['failure-mode', LIAM.email, 'Decision bus-claims-1'],
    ]);
    expect(ran('decision.record')).toEqual([
      [LIAM.email, 'done', 'done'],
      [LIAM.email, 'done', 'done'],
    ]);
  }, 90_000);
});
