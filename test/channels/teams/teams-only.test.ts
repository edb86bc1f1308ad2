import { createTeamsChannel } from '../../../src/channels/teams/index.js';
import type { ChannelFactory, ChannelNotifier } from '../../../src/channels/port.js';
import { loadOrgConfig } from '../../../src/config/org-config.js';
import type { OrgConfig, Person } from '../../../src/config/schemas.js';
import type { MessageRef, OutgoingCard } from '../../../src/core/notifications.js';
import { createConversationStore } from '../../../src/store/conversation-store.js';
import { uniqueDbName } from '../../helpers/db.js';
import { startTestRoster, type TestRoster } from '../../helpers/app.js';
import { FakeConnector } from '../../helpers/fake-connector.js';
import { eventually, passingEvaluation, people, SHIPPED_CONFIG } from '../../helpers/harness.js';
import { button, cardText, cardVerbs } from './card-reading.js';
import { BOT, TENANT_ID, TeamsClient, teamsUser, type TeamsUser } from './teams-client.js';
import { commandsOf } from '../../helpers/commands.js';
import { asAgentId } from '../../helpers/ids.js';

const priya = 'priya.raman@brightwater.example'; // approver:customer-support, on both platforms, prefers Slack
const hiroshi = 'hiroshi.tanaka@brightwater.example'; // customer-support: the requester here

/** Slack as the routing sees it: anyone with a Slack id is reachable; cards are only recorded. */
class RecordingSlack implements ChannelNotifier {
  readonly channel = 'slack' as const;
  readonly sent: Array<{ to: string; ref: MessageRef; versions: OutgoingCard[] }> = [];
  async canReach(person: Person) {
    return Boolean(person.slackUserId);
  }
  async send(person: Person, card: OutgoingCard) {
    const ref = { channel: 'slack', ts: `${this.sent.length + 1}.0001` };
    this.sent.push({ to: person.email, ref, versions: [structuredClone(card)] });
    return ref;
  }
  async update(ref: MessageRef, card: OutgoingCard) {
    this.sent.find((m) => m.ref.ts === ref.ts)?.versions.push(structuredClone(card));
  }
  latest(to: string, kind: string) {
    return this.sent.filter((m) => m.to === to && m.versions[0]!.kind === kind).map((m) => m.versions.at(-1)!);
  }
}

/**
 * The shipped organisation has no Teams-only approver: Tom Becker (customer support, Teams only,
 * no Slack account) is a plain requester. Here he also approves for customer support, beside
 * Priya, who is on both platforms and prefers Slack.
 */
function orgWithTeamsOnlyApprover(): { org: OrgConfig; tom: Person } {
  const shipped = loadOrgConfig(SHIPPED_CONFIG);
  const org = {
    ...shipped,
    people: shipped.people.map((p) => (p.email === people.tom ? { ...p, roles: [...p.roles, 'approver:customer-support'] } : p)),
  };
  const tom = org.people.find((p) => p.email === people.tom)!;
  expect(tom.slackUserId).toBeUndefined();
  expect(tom.preferredChannel).toBe('teams');
  return { org, tom };
}

describe('Teams: a person present only in Teams', () => {
  let roster: TestRoster;
  let connector: FakeConnector;
  let client: TeamsClient;
  let slack: RecordingSlack;
  let org: OrgConfig;
  let tom: Person;

  beforeAll(async () => {
    ({ org, tom } = orgWithTeamsOnlyApprover());
    connector = await FakeConnector.start();
    slack = new RecordingSlack();
    const slackChannel: ChannelFactory = async () => ({ name: 'slack', notifier: slack });
    roster = await startTestRoster({
      // This organisation as it is (its own working hours too).
      org: () => org,
      // Slack first: only a person's preference or reachability may route a card to Teams.
      channels: [slackChannel, createTeamsChannel],
      dbName: uniqueDbName('teams'),
    });
    client = new TeamsClient(roster.baseUrl, connector.serviceUrl);
  });
  afterAll(async () => {
    await roster?.stop();
    await connector?.close();
  });

  it('gets the approval card in Teams, in a 1:1 chat Roster opens, approves there and sees a Slack decision on refresh', async () => {
    // Tom joins the support team where Roster is installed. Priya, who added him, is seen; Tom is
    // not: Roster only believes an activity about its sender. Once Tom speaks to Roster in the
    // team, Roster learns how to reach him, but has no 1:1 chat with him yet.
    const tomUser = teamsUser(tom);
    const priyaUser = teamsUser(roster.chat.person(priya)!);
    const teamChannel = { id: '19:support-floor@thread.tacv2', conversationType: 'channel', isGroup: true, tenantId: TENANT_ID };
    const joined = await client.post({
      ...client.base(priyaUser, 'conversationUpdate'),
      conversation: teamChannel,
      channelData: { tenant: { id: TENANT_ID }, team: { id: '19:support-floor@thread.tacv2' }, eventType: 'teamMemberAdded' },
      membersAdded: [{ id: tomUser.id, aadObjectId: tomUser.aadObjectId }],
    });
    expect(joined.status).toBe(200);
    expect(connector.posts()).toEqual([]); // no welcome in a team channel
    const store = createConversationStore(roster.db.connection);
    expect(await store.get(tomUser.aadObjectId)).toBeUndefined();
    expect(await store.get(priyaUser.aadObjectId)).toMatchObject({ userId: priyaUser.id });
    const spoke = await client.post({
      ...client.base(tomUser, 'message'),
      conversation: teamChannel,
      channelData: { tenant: { id: TENANT_ID }, team: { id: '19:support-floor@thread.tacv2' } },
      text: '<at>Roster</at> help',
      textFormat: 'plain',
    });
    expect(spoke.status).toBe(200);
    expect(await store.get(tomUser.aadObjectId)).toMatchObject({ userId: tomUser.id, email: people.tom, tenantId: TENANT_ID });
    expect((await store.get(tomUser.aadObjectId))?.conversationId).toBeUndefined();

    // Hiroshi requests an agent for customer support; it passes evaluation.
    const { run, agentId } = await commandsOf(roster.services).requestAgent(hiroshi, {
      roleId: 'kb-answerer',
      name: 'Returns Explainer',
      purpose: 'Explains the returns policy to support agents.',
      businessUnit: 'customer-support',
      sponsors: [hiroshi],
      justification: 'Returns questions are a third of our tickets.',
    });
    await commandsOf(roster.services).submitEvaluation('liam.oneill@brightwater.example', agentId, passingEvaluation(org, 'kb-answerer'));

    // Tom's card went to Teams: Roster created the 1:1 conversation, then posted the card there.
    const [created] = connector.conversationsCreated();
    expect(created?.body).toMatchObject({ isGroup: false, bot: { id: BOT.id }, members: [{ id: tomUser.id }], tenantId: TENANT_ID });
    const personal = created!.createdId!;
    expect((await store.get(tomUser.aadObjectId))?.conversationId).toBe(personal);
    const [cardPost] = connector.posts(personal);
    const tomCard = FakeConnector.card(cardPost);
    expect(cardText(tomCard)).toContain('Approve Returns Explainer (');
    expect(cardVerbs(tomCard)).toEqual(['approval_approve', 'approval_deny']);
    // Priya prefers Slack and got hers there, though Teams could have reached her too.
    expect(slack.latest(priya, 'approval-request')).toHaveLength(1);
    expect(connector.conversationsCreated()).toHaveLength(1);

    // Tom approves in Teams, in the chat Roster opened.
    const tomInChat: TeamsUser = { ...tomUser, conversationId: personal };
    const approved = await client.execute(tomInChat, 'approval_approve', button(tomCard, 'approval_approve').data!, {
      replyToId: cardPost!.createdId!,
    });
    expect(cardText(approved.card)).toContain('Approved by **Tom Becker**');
    expect(cardVerbs(approved.card)).toEqual([]);
    // Priya's Slack card moved on too: her group is satisfied, so she can no longer decide. Other
    // people's cards follow the answer through the outbox, right after it.
    await eventually(() => slack.latest(priya, 'approval-request')[0]!.data.canDecide === false);
    await roster.services.outbox.idle();
    expect(slack.latest(priya, 'approval-request')[0]!.data).toMatchObject({ state: 'pending', canDecide: false });

    // Liam approves in Slack (the Slack adapter runs the same command through the same bus).
    await commandsOf(roster.services).decide(people.liam, { runId: run.id, stepId: 'approvals', decision: 'approve' });
    expect((await roster.services.agents.get(asAgentId(agentId)))?.status).toBe('active');

    // Tom's Teams card was updated in place, and a refresh shows Liam's Slack decision too.
    const update = connector
      .puts(personal)
      .filter((c) => c.activityId === cardPost!.createdId)
      .at(-1);
    expect(cardText(FakeConnector.card(update))).toContain('**Approved**');
    const refreshed = await client.execute(tomInChat, 'approval_refresh', { runId: run.id, stepId: 'approvals' }, { trigger: 'automatic' });
    expect(cardText(refreshed.card)).toContain("Approved by **Liam O'Neill**");
    expect(cardText(refreshed.card)).toContain('Approved by **Tom Becker**');
  });

  it('stops reaching a person in Teams once they remove the app', async () => {
    const teams = roster.channels.find((c) => c.name === 'teams')!.notifier;
    const tomUser = teamsUser(tom);
    expect(await teams.canReach(tom)).toBe(true);
    const store = createConversationStore(roster.db.connection);
    const personal = (await store.get(tomUser.aadObjectId))!.conversationId!;
    expect((await client.install({ ...tomUser, conversationId: personal }, 'remove')).status).toBe(200);
    expect(await teams.canReach(tom)).toBe(false);
    expect(await store.get(tomUser.aadObjectId)).toBeUndefined();
  });
});
