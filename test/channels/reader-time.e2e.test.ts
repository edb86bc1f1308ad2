import { onBothPlatforms, type BothPlatformsTestRoster } from '../helpers/app.js';
import { agentRecord, eventually, grantRecord } from '../helpers/harness.js';
import { buttonClick, interaction, postSlack, slashCommand, viewSubmission } from '../helpers/slack-requests.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { teamsUser } from './teams/teams-client.js';
import { formatInZone, WEEKDAYS, type Weekday } from '../../src/core/time.js';
import { asAgentId } from '../helpers/ids.js';
import { commandsOf } from '../helpers/commands.js';

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

const DANIEL = { email: 'daniel.okafor@brightwater.example', slack: 'U05D9W4H7LE' }; // finance; Slack only
const SOFIA = {
  email: 'sofia.alvarez@brightwater.example',
  name: 'Sofia Alvarez',
  teamsAadObjectId: 'f008338d-971a-443f-9fcb-a1f3542458d6',
}; // people-ops; Teams
const DIRECTORY_ZONES: Record<string, string> = { [DANIEL.email]: 'Europe/Berlin', [SOFIA.email]: 'Europe/Madrid' };

describe('times where people are (Slack and Teams endpoints)', () => {
  let both: BothPlatformsTestRoster;
  beforeAll(async () => {
    both = await onBothPlatforms({
      settings: { workingHours: { start: '09:00', end: '17:00', days: [WORKDAY] } },
      // Two people whose chat client says nothing of their zone: the directory's is theirs.
      org: (org) => ({
        ...org,
        people: org.people.map((p) => ({ ...p, ...(DIRECTORY_ZONES[p.email] ? { timeZone: DIRECTORY_ZONES[p.email] } : {}) })),
      }),
    });
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
    const reply = text((await both.slack.waitForResponse('tz-show', 30_000)).body);
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

  it("the directory's zone when the chat client reports none: Slack (no tz from users.info) and Teams (no clientInfo)", async () => {
    const ledger = agentRecord({
      name: 'Berlin Ledger',
      catalogRoleId: 'invoice-triage',
      sponsors: [DANIEL.email],
      businessUnit: 'finance',
    });
    await both.roster.services.agents.insert(ledger);
    await both.roster.services.grants.insert(grantRecord(ledger.id, 'finance:invoices:read', { expiresAt: EXPIRES.toISOString() }));
    await postSlack(both.roster.baseUrl, slashCommand(DANIEL.slack, `show ${ledger.name}`, both.slack.responseUrl('tz-directory')));
    // 14:02 UTC is 16:02 in Berlin in June (CEST).
    expect(text((await both.slack.waitForResponse('tz-directory', 30_000)).body)).toContain(
      `<!date^${EXPIRES.getTime() / 1000}^{date_short_pretty} at {time}|3 Jun 2031, 16:02 Europe/Berlin>`,
    );

    const helper = agentRecord({ name: 'Madrid Helper', sponsors: [SOFIA.email], requestedBy: SOFIA.email, businessUnit: 'people-ops' });
    await both.roster.services.agents.insert(helper);
    await both.roster.services.grants.insert(grantRecord(helper.id, 'kb:read', { expiresAt: EXPIRES.toISOString() }));
    const sofia = teamsUser(SOFIA);
    both.connector.reset();
    expect((await both.teams.post({ ...both.teams.base(sofia, 'message'), text: `show ${helper.name}` })).status).toBeLessThan(300);
    const card = await eventually(() => FakeConnector.card(both.connector.posts(sofia.conversationId).at(-1)));
    expect(text(card)).toContain('3 Jun 2031, 16:02 Europe/Madrid');
    expect(text(card)).not.toContain('14:02 UTC');
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

  it("Slack: a modal shows its times in the reader's zone, named, and so do the field errors of its submit", async () => {
    const NEW_YORK = 'America/New_York';
    both.slack.timeZones.set(PRIYA.slack, NEW_YORK);
    // Past support-assistant's 90-day retraining cadence: the sweep says it is due.
    const created = new Date(Date.now() - 100 * DAY).toISOString();
    const agent = agentRecord({
      name: 'Modal Clock',
      sponsors: [PRIYA.email],
      requestedBy: PRIYA.email,
      businessUnit: 'customer-support',
      createdAt: created,
      statusChangedAt: created,
    });
    await both.roster.services.agents.insert(agent);
    await both.roster.services.development.retrainingSweep(new Date());
    const due = await both.slack.waitFor(
      'chat.postMessage',
      (a) =>
        a.channel === PRIYA.slack &&
        actionElements(a.blocks).some((b) => b.action_id === 'retrain_postpone' && String(b.value).includes(agent.id)),
    );
    // The cadence in words, not as configured ("90d").
    expect(text(due.args.blocks)).toContain('Modal Clock is due for retraining (every 90 days).');
    const postpone = actionElements(due.args.blocks).find((b) => b.action_id === 'retrain_postpone')!;
    await postSlack(
      both.roster.baseUrl,
      interaction(buttonClick(PRIYA.slack, 'retrain_postpone', String(postpone.value), undefined, { message_ts: '1700000555.000100' })),
    );
    const opened = await both.slack.waitFor(
      'views.open',
      (a) => text(a.view).includes('retrain_postpone') && text(a.view).includes('Modal Clock'),
    );
    const dueAt = new Date((await both.roster.services.development.retraining(agent.id))!.dueAt);
    // Written in her zone (the zone Slack reports for her), named; no UTC and no date token in a modal.
    expect(text(opened.args.view)).toContain(`Modal Clock is due for retraining since ${formatInZone(dueAt, NEW_YORK)}.`);
    expect(text(opened.args.view)).not.toContain(' UTC');
    expect(text(opened.args.view)).not.toContain('<!date');

    const modal = opened.args.view as { callback_id: string; private_metadata: string };
    const values = {
      days: { days: { type: 'static_select', selected_option: { value: '30' } } },
      text: { text: { type: 'plain_text_input', value: 'The new FAQ lands next month.' } },
    };
    expect((await postSlack(both.roster.baseUrl, interaction(viewSubmission(PRIYA.slack, modal, values)))).status).toBe(200);
    const postponedUntil = new Date(
      await eventually(async () => (await both.roster.services.development.retraining(agent.id))?.postponedUntil),
    );
    // The message it came from says until when: a Slack date token, her zone as the fallback.
    const updated = await both.slack.waitFor('chat.update', (a) => a.ts === '1700000555.000100' && text(a.blocks).includes('Modal Clock'));
    expect(text(updated.args.blocks)).toContain(`|${formatInZone(postponedUntil, NEW_YORK)}>`);

    // The same form submitted again: the error under its field says until when, in her zone.
    const again = await postSlack(both.roster.baseUrl, interaction(viewSubmission(PRIYA.slack, modal, values)));
    const answer = JSON.parse(again.text) as { response_action: string; errors: Record<string, string> };
    expect(answer.response_action).toBe('errors');
    expect(answer.errors.text).toContain(`already postponed until ${formatInZone(postponedUntil, NEW_YORK)} by Priya Raman`);
    expect(answer.errors.text).not.toContain('UTC');
  }, 60_000);

  it('durations are said in words on both platforms: the access form says "up to 90 days", not "90d"', async () => {
    both.slack.timeZones.set(PRIYA.slack, 'America/New_York');
    await both.roster.services.agents.insert(
      agentRecord({ name: 'Duration Words', sponsors: [PRIYA.email], requestedBy: PRIYA.email, businessUnit: 'customer-support' }),
    );
    await postSlack(both.roster.baseUrl, slashCommand(PRIYA.slack, 'access', both.slack.responseUrl('tz-access-form')));
    const form = await both.slack.waitFor(
      'views.open',
      (a) => text(a.view).includes('access_request_submit') && text(a.view).includes('Duration Words'),
    );
    // Each pair says how long it may be granted, in words: crm:read, 90 days for the scope and the role.
    const options = (form.args.view as { blocks: Array<{ element?: { options?: Array<Record<string, { text: string }>> } }> }).blocks
      .flatMap((b) => b.element?.options ?? [])
      .map((o) => `${o.text!.text} | ${o.description?.text ?? ''}`);
    expect(options).toContain('Duration Words · crm:read | medium risk, up to 90 days');
    // kb:read: the scope allows 365 days, the support-assistant role 90.
    expect(options).toContain('Duration Words · kb:read | low risk, up to 90 days');
    expect(text(form.args.view)).not.toMatch(/up to \d+d\b/);

    const user = teamsUser(PRIYA);
    both.connector.reset();
    await both.teams.post({ ...both.teams.base(user, 'message'), text: 'access' });
    const card = await eventually(() =>
      both.connector.cards(user.conversationId).find((c) => text(c).includes('Duration Words · crm:read')),
    );
    expect(text(card)).toContain('Duration Words · crm:read — medium risk, up to 90 days');
    expect(text(card)).not.toMatch(/up to \d+d\b/);

    // The request itself: its title and confirmation say the duration in words.
    await postSlack(
      both.roster.baseUrl,
      slashCommand(PRIYA.slack, 'access "Duration Words" crm:read 36h order lookups', both.slack.responseUrl('tz-access')),
    );
    const sent = text((await both.slack.waitForResponse('tz-access', 30_000)).body);
    expect(sent).toContain('crm:read for Duration Words, 1 day and 12 hours');
    expect(sent).not.toContain('36h');
  }, 60_000);

  it('an on-call page never waits for working hours: it reaches the on-call person at once, while her reminder waits', async () => {
    const AISHA = { email: 'aisha.khan@brightwater.example', slack: 'U04L2V8F5HY' };
    await both.roster.services.supervision.alerts.raise({
      kind: 'shadow',
      agentId: asAgentId('agt_5ade5ade5ade0f0f'),
      severity: 'critical',
      summary: 'Telemetry arrived for agt_5ade5ade5ade0f0f, which is not registered in Roster.',
      details: { agentName: 'Night Shadow' },
    });
    // Working hours here are one day, three days away: the page still comes now.
    await both.slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === AISHA.slack && text(a.blocks).includes('agt_5ade5ade5ade0f0f'),
      30_000,
    );
    const jobs = both.roster.db.connection.collection('agendaJobs');
    const held = await jobs.findOne({ name: 'chat.working-hours', 'data.data.to': AISHA.email });
    expect(held).toBeNull();

    // She is outside her working hours all the same: a grant reminder to her, which can wait, is
    // held for her next working morning and does not reach her; only the page did.
    const ledger = agentRecord({ name: 'Night Ledger', sponsors: [AISHA.email], requestedBy: AISHA.email, businessUnit: 'engineering' });
    await both.roster.services.agents.insert(ledger);
    const grant = grantRecord(ledger.id, 'kb:read', { expiresAt: new Date(Date.now() + 10 * DAY).toISOString() });
    await both.roster.services.grants.insert(grant);
    expect(await both.roster.services.access.remindGrant(grant.id, DAY)).toBe(true);
    const reminder = await eventually(
      async () => (await jobs.findOne({ name: 'chat.working-hours', 'data.data.to': AISHA.email })) ?? undefined,
    );
    expect(new Date(reminder.nextRunAt as Date).getTime()).toBeGreaterThan(Date.now() + 3_600_000);
    expect(text(reminder.data)).toContain('Night Ledger');
    expect(both.slack.of('chat.postMessage', (a) => a.channel === AISHA.slack && text(a.blocks).includes('Night Ledger'))).toHaveLength(0);
  }, 60_000);

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
    const { run } = await commandsOf(both.roster.services).requestAccess(LIAM.email, {
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
