import { createSlackChannel } from '../../src/channels/slack/index.js';
import { startTestRoster, teamsTestRosterPerSuite } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { eventually, passingEvaluation, people, requestAwaitingApproval, SHIPPED_CONFIG } from '../helpers/harness.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { buttonClick, interaction, postSlack, slashCommand, viewSubmission } from '../helpers/slack-requests.js';
import { memoryLogger } from '../helpers/logger.js';
import { button, cardButtons } from '../channels/teams/card-reading.js';
import { teamsUser } from '../channels/teams/teams-client.js';
import { commandsOf } from '../helpers/commands.js';
import { asRunId } from '../helpers/ids.js';

type Roster = Awaited<ReturnType<typeof startTestRoster>>;
const org = loadOrgConfig(SHIPPED_CONFIG);

const LIAM = { id: 'U04K7R3D9SW', email: people.liam }; // it-admin, engineering
const NOAH = { id: 'U04J5M9C1RF', email: 'noah.fischer@brightwater.example' }; // approver:engineering
const grace = people.grace;

/** Slack's retry headers for delivery `n` (0 is the first, which carries none). */
const retryHeaders = (n: number): Record<string, string> =>
  n === 0 ? {} : { 'x-slack-retry-num': String(n), 'x-slack-retry-reason': 'http_timeout' };

describe('the same delivery five times has one effect', () => {
  describe('Slack (X-Slack-Retry-Num)', () => {
    let slack: FakeSlack;
    let roster: Roster;
    // Roster's log says when it drops a retried delivery: once the four retries are dropped, only
    // the first is handled, so nothing more can arrive and the checks need no fixed wait.
    const mem = memoryLogger('info');
    const ignored = () => mem.lines().filter((l) => l.msg === 'duplicate Slack delivery ignored').length;
    beforeAll(async () => {
      slack = new FakeSlack();
      await slack.start();
      roster = await startTestRoster({
        env: slack.rosterEnv(),
        channels: [createSlackChannel],
        log: mem.log,
      });
    });
    afterAll(async () => {
      await roster.stop();
      await slack.stop();
    });

    it('a slash command retried four times answers once', async () => {
      const seen = ignored();
      const post = slashCommand(LIAM.id, 'catalog', slack.responseUrl('catalog-x5'));
      for (let n = 0; n < 5; n += 1) expect((await postSlack(roster.baseUrl, post, retryHeaders(n))).status).toBe(200);
      await slack.waitForResponse('catalog-x5');
      await eventually(() => ignored() - seen >= 4);
      expect(slack.responses.filter((r) => r.id === 'catalog-x5')).toHaveLength(1);
    });

    it('a request form submitted five times (concurrently) creates one agent', async () => {
      const click = await postSlack(
        roster.baseUrl,
        interaction(buttonClick(LIAM.id, 'catalog_request', 'kb-answerer', slack.responseUrl('req-click'))),
      );
      expect(click.status).toBe(200);
      const opened = await slack.waitFor('views.open');
      const view = opened.args.view as Record<string, unknown>;
      const submit = interaction(
        viewSubmission(LIAM.id, view, {
          agent_name: { agent_name: { type: 'plain_text_input', value: 'Retry Twin' } },
          purpose: { purpose: { type: 'plain_text_input', value: 'Answers engineering how-to questions from the handbook.' } },
          business_unit: { business_unit: { type: 'static_select', selected_option: { value: 'engineering' } } },
          sponsors: { sponsors: { type: 'multi_users_select', selected_users: [LIAM.id] } },
          justification: { justification: { type: 'plain_text_input', value: 'Saves the platform team hours each week.' } },
        }),
      );
      const seen = ignored();
      const statuses = await Promise.all([0, 1, 2, 3, 4].map((n) => postSlack(roster.baseUrl, submit, retryHeaders(n))));
      expect(statuses.every((s) => s.status === 200)).toBe(true);
      await eventually(async () => (await roster.services.agents.list({ requestedBy: LIAM.email })).some((a) => a.name === 'Retry Twin'));
      await eventually(() => ignored() - seen >= 4);
      expect((await roster.services.agents.list({ requestedBy: LIAM.email })).filter((a) => a.name === 'Retry Twin')).toHaveLength(1);
    });

    it('an approve click delivered five times records one decision and one audit entry', async () => {
      const { runId } = await requestAwaitingApproval(roster.services, org, LIAM.email, 'Click Twin');
      const post = interaction(
        buttonClick(NOAH.id, 'approval_approve', JSON.stringify({ runId, stepId: 'approvals' }), slack.responseUrl('noah-x5')),
      );
      const seen = ignored();
      for (let n = 0; n < 5; n += 1) expect((await postSlack(roster.baseUrl, post, retryHeaders(n))).status).toBe(200);
      await eventually(async () => (await roster.services.runs.get(asRunId(runId)))?.steps.approvals?.decisions?.length === 1);
      await eventually(() => ignored() - seen >= 4);
      // The decision's effects (its audit entry among them) are done once the run's outbox is empty.
      await eventually(
        async () =>
          ((await roster.db.connection.db!.collection('flow_runs').findOne({ _id: runId as never }))?.outbox as unknown[] | undefined)
            ?.length === 0,
      );
      const run = (await roster.services.runs.get(asRunId(runId)))!;
      expect(run.steps.approvals?.decisions).toHaveLength(1);
      expect(run.status).toBe('waiting');
      const decisions = (await roster.services.audit.export({})).filter(
        (e) => e.action === 'decision.approve' && e.actor.kind === 'person' && e.actor.email === NOAH.email,
      );
      expect(decisions).toHaveLength(1);
    });
  });

  describe('Teams (the same invoke activity five times)', () => {
    const teams = teamsTestRosterPerSuite();

    it('a request form submitted five times creates one agent, and an approval five times counts once', async () => {
      const { roster, connector, client } = teams;
      const me = teamsUser(roster.chat.person(grace)!);
      const noah = teamsUser(roster.chat.person(NOAH.email)!);
      for (const u of [me, noah]) {
        await client.install(u);
        await client.membersAdded(u);
      }
      connector.reset();
      await client.message(me, 'catalog');
      const catalog = FakeConnector.card(connector.posts(me.conversationId)[0]);
      const kbRequest = cardButtons(catalog).find((b) => b.data?.roleId === 'kb-answerer')!;
      const form = (await client.execute(me, 'catalog_request', kbRequest.data!)).card!;

      const submit = {
        ...client.base(me, 'invoke'),
        name: 'adaptiveCard/action',
        value: {
          action: {
            type: 'Action.Execute',
            id: 'submit-once',
            verb: 'agent_request_submit',
            data: {
              ...button(form, 'agent_request_submit').data,
              agentName: 'Teams Twin',
              purpose: 'Answers engineering how-to questions from the internal wiki.',
              businessUnit: 'engineering',
              sponsorEmails: grace,
              justification: 'The platform team answers the same questions every week.',
            },
          },
          trigger: 'manual',
        },
      };
      const replies = [];
      for (let n = 0; n < 5; n += 1) replies.push(await client.post(submit));
      expect(replies.every((r) => r.status === 200)).toBe(true);
      const agents = (await roster.services.agents.list({})).filter((a) => a.name === 'Teams Twin');
      expect(agents).toHaveLength(1);

      await commandsOf(roster.services).submitEvaluation(people.liam, agents[0]!.id, passingEvaluation(org, 'kb-answerer'));
      const runId = agents[0]!.requestRunId;
      const approve = {
        ...client.base(noah, 'invoke'),
        name: 'adaptiveCard/action',
        value: {
          action: { type: 'Action.Execute', id: 'approve-once', verb: 'approval_approve', data: { runId, stepId: 'approvals' } },
          trigger: 'manual',
        },
      };
      const clicks = await Promise.all([0, 1, 2, 3, 4].map(() => client.post(approve)));
      expect(clicks.every((r) => r.status === 200)).toBe(true);
      const run = (await roster.services.runs.get(runId))!;
      expect(run.steps.approvals?.decisions).toHaveLength(1);
      const decisions = (await roster.services.audit.export({ agentId: agents[0]!.id })).filter((e) => e.action === 'decision.approve');
      expect(decisions).toHaveLength(1);
      expect(await roster.services.audit.verify()).toMatchObject({ ok: true });
    });
  });
});
