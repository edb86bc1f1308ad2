import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import { agentRecord, eventually, people } from '../helpers/harness.js';
import { postSlack, slashCommand } from '../helpers/slack-requests.js';
import { cardText } from './teams/card-reading.js';
import { type TeamsClient, teamsUser } from './teams/teams-client.js';

/*
 * Issue 22 item 4 (help and "did you mean"): help lists what this person can do, so a requester
 * does not see IT-only or oversight commands; a mistyped command or agent name gets a
 * suggestion, and never one naming an agent the person may not see. Through `/roster` (Bolt's
 * signed receiver) and Teams messages (the Agents SDK).
 */

const DANIEL = { id: 'U05D9W4H7LE', email: people.daniel }; // requester in finance
const LIAM = { id: 'U04K7R3D9SW', email: people.liam }; // it-admin
const MARCUS = { id: 'U04N6Y4K8LV', email: people.marcus }; // compliance

const text = (value: unknown) => JSON.stringify(value);

describe('help for this person, and did you mean', () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let roster: TestRoster;
  let stop: () => Promise<void>;
  let client: TeamsClient;
  let seq = 0;
  const ask = async (userId: string, words: string) => {
    seq += 1;
    await postSlack(roster.baseUrl, slashCommand(userId, words, slack.responseUrl(`help-${seq}`)));
    return text(((await slack.waitForResponse(`help-${seq}`)).body as { blocks: unknown }).blocks);
  };
  beforeAll(async () => {
    ({ slack, connector, roster, teams: client, stop } = await onBothPlatforms());
    await roster.services.agents.insert(
      agentRecord({ name: 'Ledger Scout', catalogRoleId: 'invoice-triage', businessUnit: 'finance', sponsors: [people.daniel] }),
    );
  });
  afterAll(() => stop?.());

  it('Slack: a requester sees no IT-only or oversight commands; an IT admin and compliance see theirs', async () => {
    const requester = await ask(DANIEL.id, 'help');
    expect(requester).toContain('/roster find');
    expect(requester).toContain('/roster show');
    for (const hidden of [
      '/roster fleet',
      '/roster dashboard',
      '/roster compliance',
      '/roster sponsor confirm',
      'mine|all',
      'self-reported',
    ]) {
      expect(requester).not.toContain(hidden);
    }
    expect(requester).toContain('list [mine|&lt;business-unit&gt;]');
    const admin = await ask(LIAM.id, 'help');
    for (const shown of ['/roster fleet', '/roster dashboard', '/roster sponsor confirm', 'mine|all', 'self-reported'])
      expect(admin).toContain(shown);
    expect(admin).not.toContain('/roster compliance');
    expect(await ask(MARCUS.id, 'help')).toContain('/roster compliance');
  });

  it('Teams: the same help per person', async () => {
    const tom = teamsUser(roster.chat.person(people.tom)!);
    await client.install(tom);
    connector.reset();
    await client.message(tom, 'help');
    const card = await eventually(() =>
      connector.posts(tom.conversationId).find((p) => cardText(FakeConnector.card(p)).includes('Roster commands')),
    );
    expect(cardText(FakeConnector.card(card))).toContain('find');
    expect(cardText(FakeConnector.card(card))).not.toContain('dashboard');
    expect(cardText(FakeConnector.card(card))).not.toContain('sponsor confirm');
  });

  it('a mistyped command gets "did you mean", on both platforms', async () => {
    expect(await ask(DANIEL.id, 'shwo Ledger Scout')).toContain('Did you mean `show`?');
    const tom = teamsUser(roster.chat.person(people.tom)!);
    connector.reset();
    await client.message(tom, 'fnid status:active');
    const card = await eventually(() =>
      connector.posts(tom.conversationId).find((p) => cardText(FakeConnector.card(p)).includes('Did you mean')),
    );
    expect(cardText(FakeConnector.card(card))).toContain('Did you mean `find`?');
    // Nothing close: no guess.
    expect(await ask(DANIEL.id, 'xyzzy')).not.toContain('Did you mean');
  });

  it('a mistyped agent name gets "did you mean" with an agent the person may see, never one they may not', async () => {
    const answer = await ask(DANIEL.id, 'show Ledger Scuot');
    expect(answer).toContain('I couldn\'t find the agent \\"Ledger Scuot\\". Did you mean \\"Ledger Scout\\"?');
    // Tom (customer support) may not see the finance agent: told it was not found, with no name.
    const tom = teamsUser(roster.chat.person(people.tom)!);
    connector.reset();
    await client.message(tom, 'show Ledger Scuot');
    const card = await eventually(() =>
      connector.posts(tom.conversationId).find((p) => cardText(FakeConnector.card(p)).includes("couldn't find")),
    );
    expect(cardText(FakeConnector.card(card))).not.toContain('Ledger Scout"');
    expect(cardText(FakeConnector.card(card))).not.toContain('Did you mean');
  });
});
