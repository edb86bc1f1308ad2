import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import { agentRecord, degradedCheckIn, eventually } from '../helpers/harness.js';
import { buttonClick, interaction, postSlack, slashCommand } from '../helpers/slack-requests.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { button, cardText, cardVerbs } from './teams/card-reading.js';
import { type TeamsClient, teamsUser } from './teams/teams-client.js';

/*
 * A check-in's Retrain starts the retraining, end to end: the sponsor's click (Slack, through
 * Bolt's receiver) is recorded and asks for the retraining; every sponsor gets the retraining
 * card with Start / Postpone (Slack DM and Teams chat); Start in Teams (Action.Execute through the
 * Agents SDK) marks it under way; the new version proposed with `/roster update` goes through the
 * promotion flow, approved by the other sponsor in Teams and an IT admin in Slack, and goes live.
 */

const PRIYA = { id: 'U04E6T1V5GA', email: 'priya.raman@brightwater.example' }; // sponsor; Slack
const SOFIA = 'sofia.alvarez@brightwater.example'; // second sponsor; Teams
const AISHA = { id: 'U04L2V8F5HY', email: 'aisha.khan@brightwater.example' }; // it-admin; Slack
const DAY = 86_400_000;

const text = (value: unknown) => JSON.stringify(value);
const buttonsOf = (blocks: unknown) => actionElements(blocks).map((b) => String(b.action_id));

describe("a check-in's Retrain starts retraining and the version flow follows", () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let roster: TestRoster;
  let client: TeamsClient;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ slack, connector, roster, teams: client, stop } = await onBothPlatforms());
  });
  afterAll(() => stop?.());

  /** The agent's retraining record as stored (one document per agent). */
  const retrainingOf = (agentId: string) =>
    roster.db.connection.collection<{ _id: string; state?: string }>('retraining').findOne({ _id: agentId });

  it('Retrain in Slack → retraining card to both sponsors → Start in Teams → update → promotion approved → new version live', async () => {
    const sofia = teamsUser(roster.chat.person(SOFIA)!);
    await client.install(sofia);
    const created = new Date(Date.now() - 10 * DAY).toISOString();
    const agent = agentRecord({
      name: 'Reply Drafter',
      sponsors: [PRIYA.email, SOFIA],
      createdAt: created,
      updatedAt: created,
      statusChangedAt: created,
    });
    await roster.services.agents.insert(agent);
    const checkIn = degradedCheckIn(`chk_${agent.id}`, agent.id);
    await roster.services.supervision.checkinRepo.save(checkIn);
    // Retraining is not due on the cadence yet: only the Retrain choice can ask for it.
    expect(await retrainingOf(agent.id)).toBeNull();

    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(PRIYA.id, 'checkin_retrain', JSON.stringify({ checkInId: checkIn.id }), slack.responseUrl('retrain'))),
    );
    const replaced = await slack.waitForResponse('retrain');
    expect(replaced.body.replace_original).toBe(true);
    expect(buttonsOf(replaced.body.blocks)).not.toContain('checkin_retrain');

    // The retraining is asked for: due now, and both sponsors get the retraining card.
    const due = await eventually(() => retrainingOf(agent.id));
    expect(due!.state).toBe('due');
    const priyaCard = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === PRIYA.id && buttonsOf(a.blocks).includes('retrain_start') && text(a.blocks).includes('Reply Drafter'),
    );
    expect(buttonsOf(priyaCard.args.blocks)).toEqual(['retrain_start', 'retrain_postpone']);
    expect(text(priyaCard.args.blocks)).toContain(checkIn.id);
    const sofiaCard = await eventually(() =>
      connector
        .posts(sofia.conversationId)
        .map((p) => FakeConnector.card(p))
        .find((c) => cardText(c).includes('Retraining requested: Reply Drafter')),
    );
    expect(cardVerbs(sofiaCard)).toEqual(['retrain_start', 'retrain_postpone']);

    // Sofia starts it from Teams.
    const started = await client.execute(sofia, 'retrain_start', button(sofiaCard, 'retrain_start').data!);
    expect(started.status).toBe(200);
    expect(cardText(started.card) + text(started.body)).toContain('Retraining of Reply Drafter started');
    await eventually(async () => (await retrainingOf(agent.id))?.state === 'started');

    // The retrained version is proposed by Priya and goes to the promotion flow.
    await postSlack(
      roster.baseUrl,
      slashCommand(
        PRIYA.id,
        `update ${agent.id} 1.1.0 acc=0.95 p95=3000 cost=0.02 fit=all Retrained on this quarter's tickets`,
        slack.responseUrl('update'),
      ),
    );
    await slack.waitForResponse('update');
    const promotion = await eventually(async () => {
      const runs = await roster.services.runs.list({ agentId: agent.id, flowId: 'retraining-promotion' });
      return runs[0]?.status === 'waiting' ? runs[0] : undefined;
    });
    const sofiaApproval = await eventually(() =>
      connector
        .posts(sofia.conversationId)
        .map((p) => FakeConnector.card(p))
        .find((c) => cardVerbs(c).includes('approval_approve') && cardText(c).includes('Reply Drafter')),
    );
    expect((await client.execute(sofia, 'approval_approve', button(sofiaApproval, 'approval_approve').data!)).status).toBe(200);
    const aishaCard = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === AISHA.id && buttonsOf(a.blocks).includes('approval_approve') && text(a.blocks).includes(promotion.id),
    );
    const approve = actionElements(aishaCard.args.blocks).find((b) => b.action_id === 'approval_approve')!;
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(AISHA.id, 'approval_approve', String(approve.value), slack.responseUrl('aisha'))),
    );

    await eventually(async () => (await roster.services.agents.get(agent.id))?.version === '1.1.0');
    const wanted = [
      `checkin.retrain:${PRIYA.email}`,
      `retraining.requested:${PRIYA.email}`,
      `retraining.started:${SOFIA}`,
      `version.proposed:${PRIYA.email}`,
      'version.promoted',
    ];
    // The promotion's audit entry is appended right after the version changes.
    const trail = await eventually(async () => {
      const t = (await roster.services.audit.export({ agentId: agent.id })).map(
        (e) => `${e.action}${e.actor.kind === 'person' ? `:${e.actor.email}` : ''}`,
      );
      return wanted.every((w) => t.includes(w)) ? t : undefined;
    });
    expect(trail).toEqual(expect.arrayContaining(wanted));
  }, 90_000);
});
