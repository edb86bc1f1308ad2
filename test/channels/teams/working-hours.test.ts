import { startTeamsTestRoster, type TeamsTestRoster } from '../../helpers/app.js';
import { testMongoUri } from '../../helpers/db.js';
import { FakeConnector } from '../../helpers/fake-connector.js';
import { agentRecord, eventually, grantRecord, people } from '../../helpers/harness.js';
import { WEEKDAYS, type Weekday } from '../../../src/core/time.js';
import { teamsUser } from './teams-client.js';

/*
 * Reminders that can wait, held for Teams users' working hours in the zone their Teams client
 * reports: the zone is looked up for every held card, so it must not cost a database read per
 * card (a check-in sweep holds one per agent, most of them for the same few sponsors).
 */

const DAY = 86_400_000;
// Working hours on one day only, three days from now: whenever the test runs, it is outside them.
const WORKDAY: Weekday = WEEKDAYS[(new Date().getUTCDay() + 3) % 7]!;
const REMINDERS = 12;
const PRIYA = { email: 'priya.raman@brightwater.example', name: 'Priya Raman', teamsAadObjectId: '4914f903-68c3-4b4c-8807-f405a4e6fdef' };

/** The weekday and wall-clock time of an instant in a zone, e.g. `thu 09:00`. */
const localTime = (at: Date, zone: string) =>
  new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .format(at)
    .toLowerCase();

describe('Teams: reminders held until working hours in the Teams client zone', () => {
  let teams: TeamsTestRoster;
  /** Roster's reads of Teams conversation references, counted by the driver's command monitoring. */
  let referenceReads = 0;
  beforeAll(async () => {
    const uri = testMongoUri();
    teams = await startTeamsTestRoster({
      env: { MONGODB_URI: `${uri}${uri.includes('?') ? '&' : '?'}monitorCommands=true` },
      settings: { workingHours: { start: '09:00', end: '17:00', days: [WORKDAY] } },
    });
    teams.roster.db.connection.getClient().on('commandStarted', (e) => {
      if (e.commandName === 'find' && e.command.find === 'teams_conversations') referenceReads += 1;
    });
  }, 60_000);
  afterAll(async () => {
    await teams?.stop();
  });

  const priya = teamsUser(PRIYA);
  /** Priya writes to Roster from a Teams client in `zone`; resolves once she has her answer. */
  const priyaWritesFrom = async (zone: string) => {
    const before = teams.connector.posts(priya.conversationId).length;
    const sent = await teams.client.post({
      ...teams.client.base(priya, 'message'),
      text: 'help',
      entities: [{ type: 'clientInfo', locale: 'en-US', platform: 'Web', timezone: zone }],
    });
    expect(sent.status).toBeLessThan(300);
    await eventually(() => FakeConnector.card(teams.connector.posts(priya.conversationId)[before]));
  };

  /** Reminds the sponsors of `count` agents of a grant each; resolves with the held reminders' times by recipient. */
  const remind = async (name: string, count: number) => {
    const grants: Array<ReturnType<typeof grantRecord>> = [];
    for (let i = 0; i < count; i++) {
      const agent = agentRecord({ name: `${name} ${i}`, sponsors: [PRIYA.email, people.tom], businessUnit: 'customer-support' });
      await teams.roster.services.agents.insert(agent);
      const grant = grantRecord(agent.id, 'kb:read', { expiresAt: new Date(Date.now() + 10 * DAY).toISOString() });
      await teams.roster.services.grants.insert(grant);
      grants.push(grant);
    }
    const readsBefore = referenceReads;
    for (const grant of grants) expect(await teams.roster.services.access.remindGrant(grant.id, DAY)).toBe(true);
    const reads = referenceReads - readsBefore;
    const jobs = teams.roster.db.connection.collection('agendaJobs');
    const held = (to: string) =>
      jobs
        .find({ name: 'chat.working-hours', 'data.data.to': to, 'data.data.card.data.grantId': { $in: grants.map((g) => g.id) } })
        .toArray();
    await eventually(async () => (await held(PRIYA.email)).length === count && (await held(people.tom)).length === count);
    return {
      reads,
      priya: (await held(PRIYA.email)).map((j) => new Date(j.nextRunAt as Date)),
      tom: (await held(people.tom)).map((j) => new Date(j.nextRunAt as Date)),
    };
  };

  it('holds each reminder for 09:00 in the zone her client reports, reading references once, not per reminder', async () => {
    await priyaWritesFrom('Asia/Tokyo');
    const first = await remind('Quiet Zone One', REMINDERS);
    for (const at of first.priya) expect(localTime(at, 'Asia/Tokyo')).toBe(`${WORKDAY} 09:00`);
    // Tom never wrote to Roster from Teams: the organisation's zone (UTC) for him.
    for (const at of first.tom) expect(localTime(at, 'UTC')).toBe(`${WORKDAY} 09:00`);
    // Priya's zone is the one her message just stored; Tom's "none" is read once (by AAD id, then
    // by e-mail), not once per reminder (Priya 1 and Tom 2 a reminder, 36 reads for 12 before the cache).
    expect(first.reads).toBeLessThanOrEqual(2);

    // She travels: the zone her client reports now counts from her next message on, without a read.
    await priyaWritesFrom('America/Los_Angeles');
    const second = await remind('Quiet Zone Two', 3);
    for (const at of second.priya) expect(localTime(at, 'America/Los_Angeles')).toBe(`${WORKDAY} 09:00`);
    expect(second.reads).toBe(0);
  }, 90_000);
});
