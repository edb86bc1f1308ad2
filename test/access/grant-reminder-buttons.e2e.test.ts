import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import { agentRecord, eventually, grantRecord } from '../helpers/harness.js';
import { buttonClick, interaction, postSlack } from '../helpers/slack-requests.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { button, cardText, cardVerbs } from '../channels/teams/card-reading.js';
import { type TeamsClient, teamsUser, type TeamsUser } from '../channels/teams/teams-client.js';
import type { GrantRecord } from '../../src/core/agents.js';

/*
 * A grant's reminder before expiry, answered on both platforms: Let expire is recorded on the
 * grant (audited once, no later reminder) and Extend starts the renewal request; either way the
 * clicked reminder changes in place to say so, without its buttons (Slack: response_url
 * replace_original through Bolt's receiver; Teams: the Action.Execute invoke response), and the
 * new request of Extend comes as a message of its own.
 */

const PRIYA = { id: 'U04E6T1V5GA', email: 'priya.raman@brightwater.example' }; // sponsor; Slack
const SOFIA = 'sofia.alvarez@brightwater.example'; // sponsor; Teams
const HOUR = 3_600_000;

const text = (value: unknown) => JSON.stringify(value);
const buttonsOf = (blocks: unknown) => actionElements(blocks).map((b) => String(b.action_id));

describe('grant reminders: Let expire and Extend in Slack and Teams', () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let roster: TestRoster;
  let stop: () => Promise<void>;
  let client: TeamsClient;
  let sofia: TeamsUser;
  beforeAll(async () => {
    ({ slack, connector, roster, teams: client, stop } = await onBothPlatforms());
    sofia = teamsUser(roster.chat.person(SOFIA)!);
    await client.install(sofia);
  });
  afterAll(() => stop?.());

  /** An active grant of a new agent ending in a day, and its reminder sent to both sponsors. */
  async function remindedGrant(
    name: string,
    scope: string,
  ): Promise<{ grant: GrantRecord; slackReminder: Record<string, unknown>; teamsReminder: Record<string, unknown> }> {
    const agent = agentRecord({ name, sponsors: [PRIYA.email, SOFIA] });
    await roster.services.agents.insert(agent);
    const grant = grantRecord(agent.id, scope, { durationMs: 30 * 24 * HOUR, reason: 'Order look-ups for refunds.' });
    await roster.services.grants.insertMany([grant]);
    expect(await roster.services.access.remindGrant(grant.id, 24 * HOUR)).toBe(true);
    const slackReminder = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === PRIYA.id && buttonsOf(a.blocks).includes('grant_let_expire') && text(a.blocks).includes(name),
    );
    expect(buttonsOf(slackReminder.args.blocks)).toEqual(['grant_extend', 'grant_let_expire']);
    const teamsReminder = await eventually(() =>
      connector
        .posts(sofia.conversationId)
        .map((p) => FakeConnector.card(p))
        .find((c) => cardText(c).includes(name) && cardVerbs(c).includes('grant_let_expire')),
    );
    return { grant, slackReminder: slackReminder.args, teamsReminder: teamsReminder! };
  }

  const auditOf = async (grantId: string) =>
    (await roster.services.audit.export({})).filter((e) => (e.subject as { id?: string }).id === grantId);

  it('Let expire in Slack is recorded once and stops the reminders; Extend in Teams keeps the reminder and sends the new request', async () => {
    const { grant, slackReminder, teamsReminder } = await remindedGrant('Refund Scout', 'crm:read');

    // Slack: Let expire replaces the reminder with "Left to expire", without buttons.
    const letExpire = actionElements(slackReminder.blocks).find((b) => b.action_id === 'grant_let_expire')!;
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(PRIYA.id, 'grant_let_expire', String(letExpire.value), slack.responseUrl('let-expire'))),
    );
    const replaced = await slack.waitForResponse('let-expire');
    expect(replaced.body.replace_original).toBe(true);
    expect(text(replaced.body)).toContain('Left to expire');
    expect(buttonsOf(replaced.body.blocks)).toEqual([]);
    const stored = await eventually(async () => {
      const g = await roster.services.grants.get(grant.id);
      return g?.letExpireBy ? g : undefined;
    });
    expect(stored).toMatchObject({ status: 'active', letExpireBy: PRIYA.email, expiresAt: grant.expiresAt });
    // A second click changes nothing and audits nothing more; the hour-before reminder is not sent.
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(PRIYA.id, 'grant_let_expire', String(letExpire.value), slack.responseUrl('let-expire-again'))),
    );
    await slack.waitForResponse('let-expire-again');
    expect((await auditOf(grant.id)).filter((e) => e.action === 'grant.let-expire').map((e) => e.actor)).toEqual([
      { kind: 'person', email: PRIYA.email },
    ]);
    expect(await roster.services.access.remindGrant(grant.id, HOUR)).toBe(false);

    // Teams: Extend on Sofia's reminder changes it in place to "Extension requested" and posts the new request.
    const before = connector.posts(sofia.conversationId).length;
    const extended = await client.execute(sofia, 'grant_extend', button(teamsReminder, 'grant_extend').data!);
    expect(extended.status).toBe(200);
    expect(cardText(extended.card)).toContain('Extension requested');
    expect(cardVerbs(extended.card)).toEqual([]);
    const request = await eventually(() =>
      connector
        .posts(sofia.conversationId)
        .slice(before)
        .map((p) => FakeConnector.card(p))
        .find((c) => cardText(c).includes('Access requested: crm:read for Refund Scout')),
    );
    expect(cardText(request)).toContain('Waiting for approval');
    const [renewal] = await roster.services.grants.list({ agentIds: [grant.agentId], status: ['pending'] });
    expect(renewal).toMatchObject({ extends: grant.id, scope: 'crm:read', requestedBy: SOFIA });
  }, 60_000);

  it('Let expire in Teams and Extend in Slack do the same', async () => {
    const { grant, slackReminder, teamsReminder } = await remindedGrant('Macro Scout', 'tickets:reply');

    const letExpired = await client.execute(sofia, 'grant_let_expire', button(teamsReminder, 'grant_let_expire').data!);
    expect(letExpired.status).toBe(200);
    expect(cardText(letExpired.card)).toContain('Left to expire');
    expect(cardVerbs(letExpired.card)).toEqual([]);
    await eventually(async () => (await roster.services.grants.get(grant.id))?.letExpireBy === SOFIA);

    const extend = actionElements(slackReminder.blocks).find((b) => b.action_id === 'grant_extend')!;
    await postSlack(roster.baseUrl, interaction(buttonClick(PRIYA.id, 'grant_extend', String(extend.value), slack.responseUrl('extend'))));
    const replaced = await slack.waitForResponse('extend');
    expect(replaced.body.replace_original).toBe(true);
    expect(text(replaced.body)).toContain('Extension requested');
    expect(buttonsOf(replaced.body.blocks)).toEqual([]);
    await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === PRIYA.id && text(a.blocks).includes('Access requested: tickets:reply for Macro Scout'),
    );
    const [renewal] = await roster.services.grants.list({ agentIds: [grant.agentId], status: ['pending'] });
    expect(renewal).toMatchObject({ extends: grant.id, requestedBy: PRIYA.email });
  }, 60_000);
});
