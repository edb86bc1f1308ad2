import { onBothPlatforms, type BothPlatformsTestRoster } from '../helpers/app.js';
import { agentRecord, eventually, grantRecord } from '../helpers/harness.js';
import { postSlack, slashCommand } from '../helpers/slack-requests.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { teamsUser } from './teams/teams-client.js';
import { WEEKDAYS, type Weekday } from '../../src/core/time.js';

/*
 * Issue 22 item 2, end to end through Bolt's receiver (signed slash commands) and the Agents SDK
 * (activities carrying clientInfo): every time is shown in the reader's zone, named; Slack gets
 * its date tokens; a grant reminder outside the sponsor's working hours waits for them, as a real
 * Agenda job.
 */

const PRIYA = {
  email: 'priya.raman@brightwater.example',
  slack: 'U04E6T1V5GA',
  name: 'Priya Raman',
  teamsAadObjectId: '4914f903-68c3-4b4c-8807-f405a4e6fdef',
};
const DAY = 86_400_000;
// The expiry shown: a fixed instant, 14:02 UTC.
const EXPIRES = new Date(Date.UTC(2031, 5, 3, 14, 2));
// Working hours on one day only, three days from now: whenever the test runs, it is outside them.
const WORKDAY: Weekday = WEEKDAYS[(new Date().getUTCDay() + 3) % 7]!;

const text = (value: unknown) => JSON.stringify(value);

describe('times where people are (Slack and Teams endpoints)', () => {
  let both: BothPlatformsTestRoster;
  beforeAll(async () => {
    both = await onBothPlatforms({ settings: { workingHours: { start: '09:00', end: '17:00', days: [WORKDAY] } } });
  }, 60_000);
  afterAll(async () => {
    await both?.stop();
  });

  const sponsoredAgent = async (name: string) => {
    const agent = agentRecord({ name, sponsors: [PRIYA.email], requestedBy: PRIYA.email, businessUnit: 'customer-support' });
    await both.roster.services.agents.insert(agent);
    await both.roster.services.grants.insert(grantRecord(agent.id, 'kb:read', { expiresAt: EXPIRES.toISOString() }));
    return agent;
  };

  it("Slack: a profile shows the grant's expiry as a Slack date token, falling back to the person's Slack zone, named", async () => {
    both.slack.timeZones.set(PRIYA.slack, 'America/New_York');
    const agent = await sponsoredAgent('Zone Reader');
    await postSlack(both.roster.baseUrl, slashCommand(PRIYA.slack, `show ${agent.name}`, both.slack.responseUrl('tz-show')));
    const reply = text((await both.slack.waitForResponse('tz-show')).body);
    // 14:02 UTC is 10:02 in New York in June (EDT); each Slack client shows it in its own user's zone.
    expect(reply).toContain(`<!date^${EXPIRES.getTime() / 1000}^{date_short_pretty} at {time}|3 Jun 2031, 10:02 America/New_York>`);
    expect(reply).not.toContain('14:02 UTC');
  }, 60_000);

  it("Teams: the same profile in the Teams client's zone (clientInfo), named, and the zone is kept with the conversation", async () => {
    const user = teamsUser(PRIYA);
    const agent = await sponsoredAgent('Zone Reader Teams');
    both.connector.reset();
    const sent = await both.teams.post({
      ...both.teams.base(user, 'message'),
      text: `show ${agent.name}`,
      entities: [{ type: 'clientInfo', locale: 'ja-JP', country: 'JP', platform: 'Web', timezone: 'Asia/Tokyo' }],
    });
    expect(sent.status).toBeLessThan(300);
    const card = await eventually(() => FakeConnector.card(both.connector.posts(user.conversationId).at(-1)));
    expect(text(card)).toContain('3 Jun 2031, 23:02 Asia/Tokyo');
    expect(text(card)).not.toContain('14:02 UTC');
    const stored = await both.roster.db.connection.collection('teams_conversations').findOne({ _id: user.aadObjectId as never });
    expect(stored?.timeZone).toBe('Asia/Tokyo');
  }, 60_000);

  it("a grant reminder outside the sponsor's working hours waits, as an Agenda job, until their next working morning", async () => {
    both.slack.timeZones.set(PRIYA.slack, 'America/New_York');
    const agent = agentRecord({
      name: 'Quiet Reminder',
      sponsors: [PRIYA.email],
      requestedBy: PRIYA.email,
      businessUnit: 'customer-support',
    });
    await both.roster.services.agents.insert(agent);
    const grant = grantRecord(agent.id, 'kb:read', { expiresAt: new Date(Date.now() + 10 * DAY).toISOString() });
    await both.roster.services.grants.insert(grant);
    const reminded = () =>
      both.slack.of(
        'chat.postMessage',
        (a) => a.channel === PRIYA.slack && text(a.blocks).includes('Quiet Reminder') && text(a.blocks).includes('ends in'),
      );

    expect(await both.roster.services.access.remindGrant(grant.id, DAY)).toBe(true);
    const jobs = both.roster.db.connection.collection('agendaJobs');
    const job = await eventually(
      async () => (await jobs.findOne({ name: 'chat.working-hours', 'data.data.to': PRIYA.email })) ?? undefined,
    );
    // Held for 09:00 in New York (Slack's zone for her) on the working day.
    const at = new Date(job.nextRunAt as Date);
    const local = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/New_York',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(at);
    expect(local.toLowerCase()).toBe(`${WORKDAY} 09:00`);
    expect(at.getTime()).toBeGreaterThan(Date.now());
    expect(reminded()).toHaveLength(0);
    // The audit entry is written now; only the card waits.
    expect((await both.roster.services.audit.export({ agentId: agent.id })).some((e) => e.action === 'grant.reminded')).toBe(true);

    // Her working morning comes: the job runs (Agenda, for real) and the reminder reaches her once.
    await jobs.updateOne({ _id: job._id }, { $set: { nextRunAt: new Date() } });
    await eventually(() => reminded().length > 0, 30_000);
    expect(reminded()).toHaveLength(1);
    expect(text(reminded()[0]!.args.blocks)).toContain('ends in 1 day');
  }, 90_000);

  it("item 6: an approval card's title tells each reader what is asked of them", async () => {
    const LIAM = {
      email: 'liam.oneill@brightwater.example',
      name: "Liam O'Neill",
      teamsAadObjectId: 'f73be47a-3355-4ebf-9a4b-ed282e9beff4',
    };
    const agent = agentRecord({
      name: 'Headline Agent',
      sponsors: [LIAM.email, PRIYA.email],
      requestedBy: LIAM.email,
      businessUnit: 'customer-support',
    });
    await both.roster.services.agents.insert(agent);
    const { run } = await both.roster.services.access.requestAccess(LIAM.email, {
      agentId: agent.id,
      scope: 'tickets:reply',
      reason: 'Replies.',
    });
    // Priya (the other sponsor and the tickets data owner) and Elena (DPO: the scope touches PII) decide: her Slack card asks her.
    const asked = await both.slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === PRIYA.slack && text(a.blocks).includes('Headline Agent'),
    );
    expect(text(asked.args.blocks)).toContain('Approve tickets:reply for Headline Agent?');
    // Liam requested it: his own view (the card's refresh in Teams) says whom it waits for.
    const stepId = await eventually(async () => {
      const stored = await both.roster.services.runs.get(run.id);
      return Object.entries(stored?.steps ?? {}).find(([, s]) => s.status === 'waiting')?.[0];
    });
    const mine = await both.teams.execute(teamsUser(LIAM), 'approval_refresh', { runId: run.id, stepId }, { trigger: 'automatic' });
    expect(text(mine.card)).toContain('Waiting for Priya Raman and Elena Rossi to approve tickets:reply for Headline Agent');
    expect(text(mine.card)).not.toContain('Approve tickets:reply');
  }, 60_000);
});
