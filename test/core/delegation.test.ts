import { parseChatCommand, type ChatService } from '../../src/channels/chat.js';
import { createSlackChannel } from '../../src/channels/slack/index.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { startTeamsTestRoster, startTestRoster } from '../helpers/app.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { errorOf, eventually, passingEvaluation, people, SHIPPED_CONFIG, startHarness, type Harness } from '../helpers/harness.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { buttonClick, interaction, postSlack, sign, slashCommand, viewSubmission } from '../helpers/slack-requests.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { button, cardText, inputIds } from '../channels/teams/card-reading.js';
import { teamsUser } from '../channels/teams/teams-client.js';
import { commandsOf } from '../helpers/commands.js';
import { asAgentId } from '../helpers/ids.js';

const NOAH = 'noah.fischer@brightwater.example';
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

async function financeRequest(h: Harness, requester: string, name: string) {
  const { run, agentId } = await commandsOf(h.services).requestAgent(requester, {
    roleId: 'kb-answerer',
    name,
    purpose: 'Answers questions about month-end close from the finance handbook.',
    businessUnit: 'finance',
    sponsors: [requester],
    justification: 'Month-end questions swamp the team.',
  });
  // Typed-in results are an IT admin's to record, with a reason.
  return (
    (await commandsOf(h.services).submitEvaluation('liam.oneill@brightwater.example', agentId, passingEvaluation(h.org, 'kb-answerer')))
      .run ?? run
  );
}

describe('delegation while away (out of office)', () => {
  let h: Harness;
  let chat: ChatService;
  beforeEach(async () => {
    h = await startHarness();
    chat = h.chat;
  });
  afterEach(async () => {
    await h.close();
  });

  const say = (email: string, text: string) => chat.run(chat.person(email)!, parseChatCommand(text));

  it('cards go to the delegate, who decides on the approver’s behalf; the audit and the card name both; back ends it', async () => {
    // A request already waits on Maya when she goes away: it moves to Noah.
    const before = await financeRequest(h, people.daniel, 'Ledger Helper');
    expect(before.waitingFor).toContain(people.maya);
    const reply = await say(people.maya, `away ${day(0)} ${day(14)} to @noah`);
    expect(reply.card).toMatchObject({ kind: 'notice', data: { level: 'success', title: `Away from ${day(0)} to ${day(14)}` } });
    expect(h.notifier.to(NOAH, 'notice').some((m) => String(m.card.data.title).startsWith('You decide for Maya Chen'))).toBe(true);
    const moved = h.notifier.to(NOAH, 'approval-request').find((m) => m.card.data.runId === before.id);
    expect(moved?.card.data).toMatchObject({ canDecide: true, state: 'pending' });

    // A new request while she is away: the card goes to Noah only.
    const sentToMaya = h.notifier.to(people.maya, 'approval-request').length;
    const run = await financeRequest(h, people.daniel, 'Close Helper');
    expect(run.waitingFor).toEqual(expect.arrayContaining([people.maya, NOAH]));
    expect(h.notifier.to(people.maya, 'approval-request')).toHaveLength(sentToMaya);
    expect(h.notifier.to(NOAH, 'approval-request').find((m) => m.card.data.runId === run.id)?.card.data).toMatchObject({ canDecide: true });

    // Noah approves: it counts as Maya's approval, once.
    const decided = await commandsOf(h.services).decide(NOAH, { runId: run.id, stepId: 'approvals', decision: 'approve' });
    expect(decided.steps.approvals?.decisions).toEqual([expect.objectContaining({ by: people.maya, delegate: NOAH, decision: 'approve' })]);
    expect(decided.waitingFor).not.toContain(people.maya);
    expect(decided.waitingFor).not.toContain(NOAH);
    expect((await errorOf(commandsOf(h.services).decide(NOAH, { runId: run.id, stepId: 'approvals', decision: 'approve' }))).code).toBe(
      'already_decided',
    );
    const entry = (await h.services.audit.export({ agentId: asAgentId(String(run.subject.agentId)) })).find(
      (e) => e.action === 'decision.approve',
    );
    expect(entry).toMatchObject({ actor: { kind: 'person', email: NOAH }, details: { onBehalfOf: people.maya } });
    const card = h.services.presenter.approval(decided, 'approvals', people.liam);
    expect(card.data.decisions).toEqual([
      expect.objectContaining({ by: expect.objectContaining({ name: 'Noah Fischer on behalf of Maya Chen' }) }),
    ]);

    // Back: the first request's card returns to Maya, Noah's card loses its buttons.
    expect((await say(people.maya, 'back')).card).toMatchObject({ data: { title: 'Welcome back' } });
    const again = await h.services.engine.get(before.id);
    expect(again.waitingFor).toContain(people.maya);
    expect(again.waitingFor).not.toContain(NOAH);
    expect(h.notifier.to(people.maya, 'approval-request').filter((m) => m.card.data.runId === before.id).length).toBeGreaterThan(0);
    expect(h.notifier.to(NOAH, 'approval-request').find((m) => m.card.data.runId === before.id)?.card.data).toMatchObject({
      canDecide: false,
    });
    expect((await errorOf(commandsOf(h.services).decide(NOAH, { runId: before.id, stepId: 'approvals', decision: 'approve' }))).code).toBe(
      'forbidden',
    );
    const actions = (await h.services.audit.export({})).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['delegation.created', 'delegation.started', 'approval.delegated', 'delegation.ended']));
  });

  it('separation of duties holds for the delegate: never their own request', async () => {
    await say(people.maya, `away ${day(0)} ${day(3)} to ${people.daniel}`);
    const run = await financeRequest(h, people.daniel, 'Own Request');
    // Daniel requested it: the card is not forwarded to him, it stays with Maya.
    expect(run.waitingFor).toContain(people.maya);
    expect(run.waitingFor).not.toContain(people.daniel);
    expect(h.notifier.to(people.daniel, 'approval-request')).toHaveLength(0);
    expect(
      (await errorOf(commandsOf(h.services).decide(people.daniel, { runId: run.id, stepId: 'approvals', decision: 'approve' }))).code,
    ).toMatch(/separation_of_duties|forbidden/);
  });

  it('a future period starts later; bad dates, oneself or strangers are refused with a clear message', async () => {
    const reply = await say(people.maya, `away ${day(3)} ${day(5)} to noah.fischer@brightwater.example`);
    expect(reply.card.data).toMatchObject({ level: 'success' });
    expect(await h.services.delegations.delegateOf(people.maya)).toBeUndefined();
    expect((await h.services.delegations.current(people.maya))?.status).toBe('scheduled');
    const run = await financeRequest(h, people.daniel, 'Not Yet');
    expect(run.waitingFor).not.toContain(NOAH);

    for (const [text, message] of [
      ['away 2026-13-01 2026-12-31 to @noah', /not a date/],
      [`away ${day(5)} ${day(1)} to @noah`, /last day comes before/],
      [`away ${day(0)} ${day(2)} to @maya`, /yourself/],
      [`away ${day(0)} ${day(2)} to @nobody`, /Nobody in Roster/],
      [`away ${day(-9)} ${day(-2)} to @noah`, /already over/],
    ] as const) {
      const err = await errorOf(say(people.maya, text));
      expect(err.code).toBe('invalid_input');
      expect(err.userMessage).toMatch(message);
    }
    expect((await say(people.maya, 'away')).card.data).toMatchObject({ title: 'Out of office' });
  });
});

describe('delegation effects go through the outbox', () => {
  it('a writer that dies after storing a delegation leaves nothing undone, and nothing done twice', async () => {
    // The services' clock runs ahead on demand, so the dead writer's lease runs out without waiting.
    let ahead = 0;
    let armed = false;
    const h = await startHarness({
      clock: () => new Date(Date.now() + ahead),
      faultPoint: (name) => {
        if (armed && name === 'delegation.created:0') throw new Error('killed after the delegation was stored');
      },
    });
    try {
      const waiting = await financeRequest(h, people.daniel, 'Ledger Helper');
      expect(waiting.waitingFor).toContain(people.maya);
      armed = true;
      await expect(h.services.delegations.away(people.maya, day(0), day(7), NOAH)).rejects.toThrow('killed');
      armed = false;
      // Stored and active, but none of its effects happened yet.
      const stored = await h.services.delegations.current(people.maya);
      expect(stored).toMatchObject({ status: 'active', delegate: NOAH });
      expect(h.notifier.to(NOAH, 'notice')).toHaveLength(0);
      expect((await h.services.engine.get(waiting.id)).waitingFor).not.toContain(NOAH);

      // The outbox worker takes over once the writer's lease has run out.
      ahead = h.services.outbox.settings.leaseMs + 1000;
      await h.services.outbox.drain();
      const moved = await eventually(() => h.notifier.to(NOAH, 'approval-request').find((m) => m.card.data.runId === waiting.id));
      expect(moved.card.data).toMatchObject({ canDecide: true });
      expect((await h.services.engine.get(waiting.id)).waitingFor).toContain(NOAH);
      expect(h.notifier.to(NOAH, 'notice').filter((m) => String(m.card.data.title).startsWith('You decide for Maya Chen'))).toHaveLength(1);
      const jobs = await h.db.connection.collection('agendaJobs').find({ name: 'delegations.timer', 'data.id': stored!.id }).toArray();
      expect(jobs.map((j) => (j.data as { kind: string }).kind)).toEqual(['end']);

      // Performed again (a worker that died before marking them done), and ended twice: once each.
      await h.services.outbox.drain();
      await h.services.delegations.end(stored!.id, people.maya);
      await h.services.delegations.end(stored!.id, people.maya);
      await eventually(async () => (await h.services.engine.get(waiting.id)).waitingFor.includes(people.maya) && true);
      const trail = (await h.services.audit.export({})).filter((e) => e.subject.id === people.maya).map((e) => e.action);
      for (const action of ['delegation.created', 'delegation.started', 'delegation.ended'])
        expect(trail.filter((a) => a === action)).toHaveLength(1);
      expect(h.notifier.to(NOAH, 'approval-request').filter((m) => m.card.data.runId === waiting.id)).toHaveLength(1);
      expect((await h.services.engine.get(waiting.id)).waitingFor).not.toContain(NOAH);
    } finally {
      await h.close();
    }
  }, 60_000);
});

describe('delegation from chat: the same words in Slack and Teams, and the home card', () => {
  it('Slack: /roster away … to @mention, then I’m back from App Home', async () => {
    const slack = new FakeSlack();
    await slack.start();
    const roster = await startTestRoster({ env: slack.rosterEnv(), channels: [createSlackChannel] });
    try {
      const maya = roster.chat.person(people.maya)!;
      const res = await postSlack(
        roster.baseUrl,
        slashCommand(maya.slackUserId!, `away ${day(0)} ${day(10)} to <@U04J5M9C1RF|noah>`, slack.responseUrl('away')),
      );
      expect(res.status).toBe(200);
      const answer = await slack.waitForResponse('away');
      expect(JSON.stringify(answer.body)).toContain(`Away from ${day(0)} to ${day(10)}`);
      expect((await roster.services.delegations.current(people.maya))?.delegate).toBe(NOAH);

      // App Home shows it, with "I'm back".
      const body = JSON.stringify({
        token: 'legacy-verification-token',
        team_id: 'TBRIGHT',
        api_app_id: 'AROSTER',
        type: 'event_callback',
        event_id: 'Ev0AWAY',
        event_time: Math.floor(Date.now() / 1000),
        event: {
          type: 'app_home_opened',
          user: maya.slackUserId,
          channel: `D${maya.slackUserId!.slice(1)}`,
          tab: 'home',
          event_ts: `${Date.now() / 1000}`,
        },
      });
      await postSlack(roster.baseUrl, { body, headers: { 'content-type': 'application/json', ...sign(body) } });
      const home = await slack.waitFor('views.publish', (a) => a.user_id === maya.slackUserId);
      const view = home.args.view as { blocks: unknown };
      expect(JSON.stringify(view.blocks)).toContain('Noah Fischer decides your approvals');
      expect(actionElements(view.blocks).some((e) => e.action_id === 'delegation_back')).toBe(true);

      await postSlack(roster.baseUrl, interaction(buttonClick(maya.slackUserId!, 'delegation_back', '{}', undefined, { type: 'view' })));
      await slack.waitFor('chat.postMessage', (a) => a.channel === maya.slackUserId && JSON.stringify(a.blocks).includes('Welcome back'));
      expect(await roster.services.delegations.current(people.maya)).toBeUndefined();

      // "Out of office…" opens the prompt; its submit delegates (a user picker gives a Slack id).
      await postSlack(roster.baseUrl, interaction(buttonClick(maya.slackUserId!, 'delegation_away', '{}', undefined, { type: 'view' })));
      const opened = await slack.waitFor('views.open');
      const modal = opened.args.view as Record<string, unknown>;
      const submit = await postSlack(
        roster.baseUrl,
        interaction(
          viewSubmission(maya.slackUserId!, modal, {
            from: { from: { type: 'plain_text_input', value: day(1) } },
            until: { until: { type: 'plain_text_input', value: day(4) } },
            delegate: { delegate: { type: 'users_select', selected_user: 'U04J5M9C1RF' } },
          }),
        ),
      );
      expect(submit.status).toBe(200);
      await slack.waitFor(
        'chat.postMessage',
        (a) => a.channel === maya.slackUserId && JSON.stringify(a.blocks).includes(`Away from ${day(1)}`),
      );
      expect(await roster.services.delegations.current(people.maya)).toMatchObject({ delegate: NOAH, status: 'scheduled' });
    } finally {
      await roster.stop();
      await slack.stop();
    }
  }, 30_000);

  it('Teams: the same words as a plain message', async () => {
    const teams = await startTeamsTestRoster();
    try {
      const tom = teamsUser(teams.roster.chat.person(people.tom)!);
      await teams.client.install(tom);
      await teams.client.membersAdded(tom);
      teams.connector.reset();
      expect((await teams.client.message(tom, `away ${day(0)} ${day(2)} to <at>Hiroshi Tanaka</at>`)).status).toBe(200);
      const reply = FakeConnector.card(teams.connector.posts(tom.conversationId)[0]);
      expect(cardText(reply)).toContain(`Away from ${day(0)} to ${day(2)}`);
      expect((await teams.roster.services.delegations.current(people.tom))?.delegate).toBe('hiroshi.tanaka@brightwater.example');
      teams.connector.reset();
      await teams.client.message(tom, 'back');
      expect(cardText(FakeConnector.card(teams.connector.posts(tom.conversationId)[0]))).toContain('Welcome back');
    } finally {
      await teams.stop();
    }
  }, 30_000);
});

describe('delegation from the Teams home card', () => {
  it('Out of office… opens the prompt, its submit delegates, and I’m back ends it: each an Action.Execute', async () => {
    const teams = await startTeamsTestRoster();
    try {
      const tom = teamsUser(teams.roster.chat.person(people.tom)!);
      await teams.client.install(tom);
      const homeCard = async () => {
        teams.connector.reset();
        expect((await teams.client.message(tom, 'home')).status).toBe(200);
        return FakeConnector.card(teams.connector.posts(tom.conversationId)[0]);
      };
      const postedText = () =>
        teams.connector
          .posts(tom.conversationId)
          .map((p) => cardText(FakeConnector.card(p)))
          .join('\n');

      const home = await homeCard();
      expect(cardText(home)).toContain('Going away?');
      const opened = await teams.client.execute(tom, 'delegation_away', button(home, 'delegation_away').data ?? {});
      expect(opened.status).toBe(200);
      expect(inputIds(opened.card)).toEqual(expect.arrayContaining(['from', 'until', 'delegate']));

      // A stranger as delegate: the prompt comes back with the error, nothing is stored.
      const submit = button(opened.card, 'prompt_submit').data ?? {};
      const refused = await teams.client.execute(tom, 'prompt_submit', {
        ...submit,
        from: day(0),
        until: day(2),
        delegate: 'nobody@brightwater.example',
      });
      expect(cardText(refused.card)).toContain('Not in the directory');
      expect(await teams.roster.services.delegations.current(people.tom)).toBeUndefined();

      teams.connector.reset();
      const done = await teams.client.execute(tom, 'prompt_submit', {
        ...submit,
        from: day(0),
        until: day(2),
        delegate: 'hiroshi.tanaka@brightwater.example',
      });
      expect(done.status).toBe(200);
      expect(postedText()).toContain(`Away from ${day(0)} to ${day(2)}`);
      expect(await teams.roster.services.delegations.current(people.tom)).toMatchObject({
        delegate: 'hiroshi.tanaka@brightwater.example',
        status: 'active',
      });

      const awayHome = await homeCard();
      expect(cardText(awayHome)).toContain('Hiroshi Tanaka decides your approvals');
      teams.connector.reset();
      const back = await teams.client.execute(tom, 'delegation_back', button(awayHome, 'delegation_back').data ?? {});
      expect(back.status).toBe(200);
      expect(postedText()).toContain('Welcome back');
      expect(await teams.roster.services.delegations.current(people.tom)).toBeUndefined();
      const trail = (await teams.roster.services.audit.export({})).filter((e) => e.subject.id === people.tom).map((e) => e.action);
      expect(trail).toEqual(expect.arrayContaining(['delegation.created', 'delegation.started', 'delegation.ended']));
    } finally {
      await teams.stop();
    }
  }, 60_000);
});

// The shipped configuration still loads with the directory mapping in org.yaml.
test('org.yaml maps identity-provider groups', () => {
  expect(loadOrgConfig(SHIPPED_CONFIG).directory?.groups.find((g) => g.group === 'Roster IT Admins')?.roles).toEqual(['it-admin']);
});
