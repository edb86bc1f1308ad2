import { randomUUID } from 'node:crypto';
import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import { agentRecord, eventually, grantRecord, people } from '../helpers/harness.js';
import { buttonClick, directMessage, interaction, postSlack } from '../helpers/slack-requests.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { cardText } from './teams/card-reading.js';
import { BOT, TENANT_ID, type TeamsClient, type TeamsUser, teamsUser } from './teams/teams-client.js';

/*
 * Issue 22 item 3: answer where people ask, privately when it is personal. A direct message to
 * the Slack app (a `message.im` event through Bolt's signed receiver) is answered like `/roster`;
 * bot messages, edits and other subtypes are not. In a Teams channel, an answer showing agents
 * goes to the person's 1:1 chat with a pointer in the channel, `help` stays in the channel, and
 * when the 1:1 chat cannot be reached the channel says so without the answer.
 */

const LIAM = { id: 'U04K7R3D9SW', email: people.liam }; // it-admin; Slack and Teams
const DANIEL = { id: 'U05D9W4H7LE', email: people.daniel }; // finance requester; Slack only

const text = (value: unknown) => JSON.stringify(value);

describe('answers where people ask', () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let roster: TestRoster;
  let stop: () => Promise<void>;
  let client: TeamsClient;
  beforeAll(async () => {
    ({ slack, connector, roster, teams: client, stop } = await onBothPlatforms());
    await roster.services.agents.insert(
      agentRecord({ name: 'Ledger Scout', catalogRoleId: 'invoice-triage', businessUnit: 'finance', sponsors: [people.daniel] }),
    );
  });
  afterAll(() => stop?.());

  it('Slack: a direct message is answered like /roster, in the DM, with the same authorisation', async () => {
    const dm = `D${DANIEL.id.slice(1)}`;
    expect((await postSlack(roster.baseUrl, directMessage(DANIEL.id, 'show Ledger Scout'))).status).toBe(200);
    const profile = await slack.waitFor('chat.postMessage', (a) => a.channel === dm && text(a.blocks).includes('Ledger Scout'));
    expect(text(profile.args.blocks)).toContain('Invoice triage');
    // The same rule as the command: Daniel may not list every agent.
    await postSlack(roster.baseUrl, directMessage(DANIEL.id, 'list all'));
    const refused = await slack.waitFor('chat.postMessage', (a) => a.channel === dm && text(a.blocks).includes('Only IT admins'));
    expect(text(refused.args.blocks)).toContain('list mine');
    // help, as Roster's notices tell people to send.
    await postSlack(roster.baseUrl, directMessage(DANIEL.id, 'help'));
    await slack.waitFor('chat.postMessage', (a) => a.channel === dm && text(a.blocks).includes('Roster commands'));
  });

  it("Slack: a direct message's answer shows times in the person's zone, as /roster does", async () => {
    // Priya messages nowhere else in this file: Roster has not cached what Slack says of her yet.
    const priya = { id: 'U04E6T1V5GA', email: 'priya.raman@brightwater.example' };
    const dm = `D${priya.id.slice(1)}`;
    const expires = new Date(Date.UTC(2031, 5, 3, 14, 2)); // 10:02 in New York (EDT)
    slack.timeZones.set(priya.id, 'America/New_York');
    const agent = agentRecord({ name: 'Zoned Scout', sponsors: [priya.email], requestedBy: priya.email, businessUnit: 'customer-support' });
    await roster.services.agents.insert(agent);
    await roster.services.grants.insert(grantRecord(agent.id, 'kb:read', { expiresAt: expires.toISOString() }));
    await postSlack(roster.baseUrl, directMessage(priya.id, 'show Zoned Scout'));
    const profile = await slack.waitFor('chat.postMessage', (a) => a.channel === dm && text(a.blocks).includes('Zoned Scout'));
    expect(text(profile.args.blocks)).toContain(
      `<!date^${expires.getTime() / 1000}^{date_short_pretty} at {time}|3 Jun 2031, 10:02 America/New_York>`,
    );
  });

  it("Slack: the bot's own messages, edits and other subtypes get no answer", async () => {
    const dm = `D${LIAM.id.slice(1)}`;
    const before = slack.of('chat.postMessage', (a) => a.channel === dm).length;
    await postSlack(roster.baseUrl, directMessage(LIAM.id, 'help', { bot_id: 'BROSTER', user: 'UROSTERBOT' }));
    await postSlack(roster.baseUrl, directMessage(LIAM.id, 'help', { subtype: 'bot_message' }));
    await postSlack(
      roster.baseUrl,
      directMessage(LIAM.id, '', { subtype: 'message_changed', message: { type: 'message', user: LIAM.id, text: 'help' } }),
    );
    await postSlack(roster.baseUrl, directMessage(LIAM.id, 'help', { channel_type: 'channel', channel: 'CGENERAL' }));
    // A real message after them is answered, and it is the only answer.
    await postSlack(roster.baseUrl, directMessage(LIAM.id, 'show Ledger Scout'));
    await slack.waitFor('chat.postMessage', (a) => a.channel === dm && text(a.blocks).includes('Ledger Scout'));
    const answers = slack.of('chat.postMessage', (a) => a.channel === dm || a.channel === 'CGENERAL').slice(before);
    expect(answers).toHaveLength(1);
    // A retried delivery of the same event is answered once.
    const once = directMessage(LIAM.id, 'show Ledger Scout');
    await postSlack(roster.baseUrl, once);
    await postSlack(roster.baseUrl, once, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' });
    const ledger = () => slack.of('chat.postMessage', (a) => a.channel === dm && text(a.blocks).includes('Ledger Scout')).length;
    await eventually(() => ledger() >= 2);
    // A later message of the same work is answered after both deliveries were handled: one answer each.
    await postSlack(roster.baseUrl, directMessage(LIAM.id, 'show Ledger Scout'));
    await eventually(() => ledger() >= 3);
    expect(ledger()).toBe(3);
  });

  it('Slack: a form asked for in a DM comes as the button that opens it', async () => {
    const dm = `D${DANIEL.id.slice(1)}`;
    await postSlack(roster.baseUrl, directMessage(DANIEL.id, 'request invoice-triage'));
    const offer = await slack.waitFor('chat.postMessage', (a) => a.channel === dm && text(a.blocks).includes('catalog_request'));
    const button = actionElements(offer.args.blocks).find((b) => b.action_id === 'catalog_request')!;
    expect(button.value).toBe('invoice-triage');
    await postSlack(roster.baseUrl, interaction(buttonClick(DANIEL.id, 'catalog_request', 'invoice-triage')));
    const modal = await slack.waitFor('views.open');
    expect(text(modal.args.view)).toContain('agent_request_submit');
  });

  it('Slack: someone outside the directory is told so in the DM', async () => {
    slack.emails.set('U09NOBODY1', 'nobody@elsewhere.example');
    await postSlack(roster.baseUrl, directMessage('U09NOBODY1', 'list all'));
    const answer = await slack.waitFor('chat.postMessage', (a) => a.channel === 'D09NOBODY1');
    expect(text(answer.args.blocks)).toContain("I don't know you yet");
  });

  /** A message in a Teams team channel, mentioning the bot as Teams does. */
  const inChannel = (user: TeamsUser, words: string) => ({
    ...client.base(user, 'message'),
    conversation: { id: '19:ops-room@thread.tacv2', conversationType: 'channel', isGroup: true, tenantId: TENANT_ID },
    channelData: { tenant: { id: TENANT_ID }, teamsTeamId: '19:team@thread.tacv2', teamsChannelId: '19:ops-room@thread.tacv2' },
    text: `<at>${BOT.name}</at> ${words}`,
    entities: [{ type: 'mention', mentioned: { ...BOT }, text: `<at>${BOT.name}</at>` }],
    id: `f:${randomUUID()}`,
  });
  const channelPosts = () => connector.posts('19:ops-room@thread.tacv2');

  it('Teams channel: agent data goes to the 1:1 chat with a pointer in the channel; help stays in the channel', async () => {
    const liam = teamsUser(roster.chat.person(LIAM.email)!);
    await client.install(liam);
    connector.reset();
    await client.post(inChannel(liam, 'show Ledger Scout'));
    const privately = await eventually(() =>
      connector.posts(liam.conversationId).find((p) => cardText(FakeConnector.card(p)).includes('Ledger Scout')),
    );
    expect(cardText(FakeConnector.card(privately))).toContain('Invoice triage');
    const pointer = await eventually(() => channelPosts()[0]);
    expect(cardText(FakeConnector.card(pointer))).toContain('Answered in your chat with Roster');
    expect(channelPosts().some((p) => cardText(FakeConnector.card(p)).includes('Ledger Scout'))).toBe(false);

    connector.reset();
    await client.post(inChannel(liam, 'help'));
    const help = await eventually(() => channelPosts()[0]);
    expect(cardText(FakeConnector.card(help))).toContain('Roster commands');
    expect(connector.posts(liam.conversationId)).toHaveLength(0);
  });

  it('Teams channel: someone Roster only knows from the channel gets a new 1:1 chat with the answer', async () => {
    const grace = teamsUser(roster.chat.person(people.grace)!);
    connector.reset();
    await client.post(inChannel(grace, 'list all'));
    const created = await eventually(() => connector.conversationsCreated()[0]);
    const answer = await eventually(() =>
      connector.posts(String(created.createdId)).find((p) => cardText(FakeConnector.card(p)).includes('Ledger Scout')),
    );
    expect(cardText(FakeConnector.card(answer))).toContain('All agents');
    expect(cardText(FakeConnector.card(await eventually(() => channelPosts()[0])))).toContain('Answered in your chat');
  });

  it('Teams channel: when the 1:1 chat cannot be reached, the channel says how to open it, without the answer', async () => {
    const liam = teamsUser(roster.chat.person(LIAM.email)!);
    connector.forbidden.add(liam.conversationId);
    try {
      connector.reset();
      await client.post(inChannel(liam, 'show Ledger Scout'));
      const warning = await eventually(() => channelPosts()[0]);
      expect(cardText(FakeConnector.card(warning))).toContain("I couldn't message you privately");
      expect(cardText(FakeConnector.card(warning))).toContain('Open a chat with Roster');
      expect(channelPosts().some((p) => cardText(FakeConnector.card(p)).includes('Ledger Scout'))).toBe(false);
    } finally {
      connector.forbidden.delete(liam.conversationId);
    }
  });
});
