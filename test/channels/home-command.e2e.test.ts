import { onBothPlatforms, type BothPlatformsTestRoster } from '../helpers/app.js';
import { agentRecord, eventually } from '../helpers/harness.js';
import { directMessage, postSlack, slashCommand } from '../helpers/slack-requests.js';
import { teamsUser } from './teams/teams-client.js';

/*
 * Issue 22 item 1 (no dead ends) and its acceptance (every command on both platforms): `home`,
 * the Teams home card's command, typed in Slack. Slack shows a dashboard only on the App Home
 * tab, which no message can hold: `/roster home` (or "home" in a DM) publishes Home and points to
 * it, instead of failing. Help lists `home` for everyone.
 */

const PRIYA = {
  slack: 'U04E6T1V5GA',
  email: 'priya.raman@brightwater.example',
  name: 'Priya Raman',
  teamsAadObjectId: '4914f903-68c3-4b4c-8807-f405a4e6fdef',
};

// A finance requester, in Slack only: help lists home for everyone.
const DANIEL_SLACK = 'U05D9W4H7LE';

const text = (value: unknown) => JSON.stringify(value);

describe('the home command on both platforms', () => {
  let both: BothPlatformsTestRoster;
  beforeAll(async () => {
    both = await onBothPlatforms();
    await both.roster.services.agents.insert(
      agentRecord({ name: 'Home Scout', sponsors: [PRIYA.email], requestedBy: PRIYA.email, businessUnit: 'customer-support' }),
    );
  }, 60_000);
  afterAll(async () => {
    await both?.stop();
  });

  const homes = () => both.slack.of('views.publish', (a) => a.user_id === PRIYA.slack);

  it('Slack: /roster home publishes her App Home with her agents and points to the Home tab', async () => {
    const before = homes().length;
    await postSlack(both.roster.baseUrl, slashCommand(PRIYA.slack, 'home', both.slack.responseUrl('home-command')));
    const reply = text((await both.slack.waitForResponse('home-command', 30_000)).body);
    expect(reply).toContain('Your dashboard is on the Home tab');
    expect(reply).not.toContain('went wrong');
    await eventually(() => homes().length > before);
    const view = homes().at(-1)!.args.view as { type: string };
    expect(view.type).toBe('home');
    expect(text(view)).toContain('Home Scout');
  }, 60_000);

  it('Slack: "home" in a direct message does the same, answered in the DM', async () => {
    const dm = `D${PRIYA.slack.slice(1)}`;
    const before = homes().length;
    expect((await postSlack(both.roster.baseUrl, directMessage(PRIYA.slack, 'home'))).status).toBe(200);
    const pointer = await both.slack.waitFor('chat.postMessage', (a) => a.channel === dm && text(a.blocks).includes('Home tab'));
    expect(text(pointer.args.blocks)).not.toContain('went wrong');
    await eventually(() => homes().length > before);
  }, 60_000);

  it('Teams: "home" is the home card; help lists home on both platforms', async () => {
    const user = teamsUser(PRIYA);
    await both.teams.post({ ...both.teams.base(user, 'message'), text: 'home' });
    await eventually(() =>
      both.connector.cards(user.conversationId).find((c) => text(c).includes('Home Scout') && text(c).includes('find_open')),
    );
    await both.teams.post({ ...both.teams.base(user, 'message'), text: 'help' });
    const help = await eventually(() => both.connector.cards(user.conversationId).find((c) => text(c).includes('Roster commands')));
    expect(text(help)).toContain('"title":"home"');
    await postSlack(both.roster.baseUrl, slashCommand(DANIEL_SLACK, 'help', both.slack.responseUrl('home-help')));
    expect(text((await both.slack.waitForResponse('home-help', 30_000)).body)).toContain('`/roster home`');
  }, 60_000);
});
