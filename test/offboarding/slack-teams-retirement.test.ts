import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import { agentRecord, eventually } from '../helpers/harness.js';
import { buttonClick, interaction, postSlack, slashCommand } from '../helpers/slack-requests.js';
import { button, cardText } from '../channels/teams/card-reading.js';
import { type TeamsClient, teamsUser } from '../channels/teams/teams-client.js';
import { actionElements } from '../helpers/slack-blocks.js';

const PRIYA = { id: 'U04E6T1V5GA', email: 'priya.raman@brightwater.example' }; // sponsor; Slack
const MARCUS = { id: 'U04N6Y4K8LV', email: 'marcus.johnson@brightwater.example' }; // compliance; Slack
const SOFIA = 'sofia.alvarez@brightwater.example'; // a second sponsor who prefers Teams
const AISHA = { id: 'U04L2V8F5HY', email: 'aisha.khan@brightwater.example' }; // it-admin

const actions = actionElements;

describe('retirement sign-off in Slack and Teams', () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let roster: TestRoster;
  let client: TeamsClient;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ slack, connector, roster, teams: client, stop } = await onBothPlatforms());
  });
  afterAll(() => stop?.());

  it('/roster retire starts it; sponsors and compliance sign in Slack, one sponsor in Teams, an IT admin in Slack; the agent is retired', async () => {
    const sofia = teamsUser(roster.chat.person(SOFIA)!);
    await client.install(sofia);
    const agent = agentRecord({ name: 'Macro Suggester', sponsors: [PRIYA.email, SOFIA], purpose: 'Suggests macros.' });
    const id = agent.id;
    await roster.services.agents.insert(agent);

    await postSlack(
      roster.baseUrl,
      slashCommand(PRIYA.id, `retire "Macro Suggester" Obsolete since the new help centre`, slack.responseUrl('retire')),
    );
    const status = await slack.waitForResponse('retire');
    expect(JSON.stringify(status.body)).toContain('Macro Suggester');
    await eventually(async () => (await roster.services.agents.get(id))?.status === 'retiring');

    // Slack sign-offs.
    for (const who of [PRIYA, MARCUS]) {
      const card = await slack.waitFor(
        'chat.postMessage',
        (a) => a.channel === who.id && actions(a.blocks).some((b) => b.action_id === 'approval_approve'),
      );
      const approve = actions(card.args.blocks).find((b) => b.action_id === 'approval_approve')!;
      await postSlack(
        roster.baseUrl,
        interaction(buttonClick(who.id, 'approval_approve', String(approve.value), slack.responseUrl(`sign-${who.id}`))),
      );
    }
    // Sofia prefers Teams: her sign-off card came proactively there.
    const teamsCard = connector
      .posts(sofia.conversationId)
      .map((p) => FakeConnector.card(p))
      .find((c) => cardText(c).includes('Macro Suggester'));
    expect(teamsCard).toBeDefined();
    const signed = await client.execute(sofia, 'approval_approve', button(teamsCard, 'approval_approve').data!);
    expect(signed.status).toBe(200);
    // Only the IT admin's sign-off is missing.
    const [run] = await roster.services.runs.list({ agentId: id, flowId: 'retirement' });
    await eventually(async () => ((await roster.services.runs.get(run!.id))?.steps.signoffs?.decisions?.length ?? 0) === 3);
    expect((await roster.services.agents.get(id))?.status).toBe('retiring');
    const aishaCard = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === AISHA.id && actions(a.blocks).some((b) => b.action_id === 'approval_approve'),
    );
    const approve = actions(aishaCard.args.blocks).find((b) => b.action_id === 'approval_approve')!;
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(AISHA.id, 'approval_approve', String(approve.value), slack.responseUrl('sign-aisha'))),
    );

    await eventually(async () => (await roster.services.agents.get(id))?.status === 'retired');
    // The archive is stored in the same step, right after the status changes.
    const archive = await eventually(() => roster.services.retirement.archive(id).catch(() => undefined));
    expect(archive.verified).toBe(true);
    const signers = (await roster.services.audit.export({ agentId: id }))
      .filter((e) => e.action === 'decision.approve')
      .map((e) => (e.actor as { email: string }).email);
    expect(signers.sort()).toEqual([AISHA.email, MARCUS.email, PRIYA.email, SOFIA].sort());
  }, 60_000);
});
