import { createHash } from 'node:crypto';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import { agentRecord, degradedCheckIn, eventually, passingEvaluation, SHIPPED_CONFIG } from '../helpers/harness.js';
import { postSlack, slashCommand } from '../helpers/slack-requests.js';
import { generateEvents } from '../helpers/synthetic-telemetry.js';
import { cardText } from '../channels/teams/card-reading.js';
import { type TeamsClient, teamsUser } from '../channels/teams/teams-client.js';
import { commandsOf } from '../helpers/commands.js';

/*
 * Retired knowledge is kept: the archive bundle of a retired agent holds its decision log (every
 * task event with its decision summary, even those past the raw-event retention, which the purge
 * leaves alone while the agent is retiring), its version history, its check-ins and its knowledge
 * notes, and its SHA-256 digest covers them. The note is recorded with `/roster note` through
 * Bolt's receiver and the retirement started with `/roster retire`; the archive is read with
 * `archive <agent>` in Teams through the Agents SDK.
 */

const PRIYA = { id: 'U04E6T1V5GA', email: 'priya.raman@brightwater.example' }; // sponsor; Slack
const SOFIA = 'sofia.alvarez@brightwater.example'; // second sponsor; Teams
const MARCUS = 'marcus.johnson@brightwater.example'; // compliance
const AISHA = 'aisha.khan@brightwater.example'; // it-admin
const DAY = 86_400_000;

describe('the archive of a retired agent keeps its knowledge', () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let roster: TestRoster;
  let client: TeamsClient;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ slack, connector, roster, teams: client, stop } = await onBothPlatforms());
  });
  afterAll(() => stop?.());

  const eventsOf = (agentId: string) => roster.db.connection.collection('telemetry_events').countDocuments({ agentId });

  it('decision log past retention, versions, check-ins and notes are in the bundle its digest covers', async () => {
    const created = new Date(Date.now() - 60 * DAY).toISOString();
    const agent = agentRecord({
      name: 'Policy Explainer',
      sponsors: [PRIYA.email, SOFIA],
      createdAt: created,
      updatedAt: created,
      statusChangedAt: created,
    });
    // Another agent's old events: the purge removes them, so the purge is seen to have run.
    const other = agentRecord({ name: 'Other Explainer', sponsors: [PRIYA.email], createdAt: created, updatedAt: created });
    await roster.services.agents.insert(agent);
    await roster.services.agents.insert(other);
    const end = new Date(Math.floor(Date.now() / DAY) * DAY);
    const events = generateEvents({ agentId: agent.id, profile: 'healthy', days: 45, end, perDay: 4 });
    await roster.services.supervision.telemetry.ingest(events);
    await roster.services.supervision.telemetry.ingest(generateEvents({ agentId: other.id, profile: 'healthy', days: 45, end, perDay: 2 }));
    const ingested = await eventsOf(agent.id);
    expect(ingested).toBe(events.length);

    // Its history: a proposed version, a check-in, and a knowledge note typed in Slack.
    const org = loadOrgConfig(SHIPPED_CONFIG);
    const evaluation = passingEvaluation(org, 'support-assistant');
    await roster.services.development.proposeVersion(roster.services.engine, PRIYA.email, agent.id, {
      version: '1.1.0',
      changelog: 'Explains the new refund policy.',
      evaluation,
    });
    await roster.services.supervision.checkinRepo.save(degradedCheckIn(`chk_${agent.id}`, agent.id));
    await postSlack(
      roster.baseUrl,
      slashCommand(
        PRIYA.id,
        `note ${agent.id} failure Mixes up refunds and returns for orders older than 30 days`,
        slack.responseUrl('note'),
      ),
    );
    await slack.waitForResponse('note');
    await eventually(async () => ((await roster.services.agents.get(agent.id))?.knowledgeNotes.length ?? 0) === 1);

    // Retirement starts; while it waits for sign-offs the raw-event purge runs and leaves its decision log alone.
    await postSlack(
      roster.baseUrl,
      slashCommand(PRIYA.id, `retire ${agent.id} Replaced by the new help centre`, slack.responseUrl('retire')),
    );
    await slack.waitForResponse('retire');
    await eventually(async () => (await roster.services.agents.get(agent.id))?.status === 'retiring');
    await roster.scheduler.agenda.now('telemetry.purge', {});
    await eventually(async () => (await eventsOf(other.id)) < 45 * 2);
    expect(await eventsOf(agent.id)).toBe(ingested);

    // Sign-offs: the sponsors, compliance and an IT admin.
    const [run] = await roster.services.runs.list({ agentId: agent.id, flowId: 'retirement' });
    const signoffs = await eventually(async () => {
      const r = await roster.services.runs.get(run!.id);
      return r?.status === 'waiting' ? r : undefined;
    });
    for (const who of [PRIYA.email, SOFIA, MARCUS, AISHA]) {
      await commandsOf(roster.services).decide(who, { runId: signoffs.id, stepId: 'signoffs', decision: 'approve' });
    }
    await eventually(async () => (await roster.services.agents.get(agent.id))?.status === 'retired');
    const archive = await eventually(() => roster.services.retirement.archive(agent.id).catch(() => undefined));
    expect(archive.verified).toBe(true);
    expect(archive.digest).toBe(createHash('sha256').update(archive.bundle).digest('hex'));

    const bundle = JSON.parse(archive.bundle) as {
      decisionLog: { events: Array<{ eventId: string; decisionSummary?: string; time: string }>; eventsKept: number; truncated: boolean };
      versions: Array<{ version: string; status: string }>;
      checkIns: Array<{ id: string }>;
      knowledgeNotes: Array<{ kind: string; text: string }>;
    };
    expect(bundle.decisionLog.eventsKept).toBe(events.length);
    expect(bundle.decisionLog.truncated).toBe(false);
    // Events older than the 30-day retention are there, with what the agent decided.
    const oldest = bundle.decisionLog.events.at(-1)!;
    expect(Date.parse(oldest.time)).toBeLessThan(Date.now() - 40 * DAY);
    expect(new Set(bundle.decisionLog.events.map((e) => e.eventId))).toEqual(new Set(events.map((e) => e.eventId)));
    expect(bundle.versions.map((v) => v.version)).toEqual(['1.1.0']);
    expect(bundle.checkIns.map((c) => c.id)).toEqual([`chk_${agent.id}`]);
    expect(bundle.knowledgeNotes).toEqual([
      expect.objectContaining({ kind: 'failure-mode', text: expect.stringContaining('refunds and returns') }),
    ]);

    // Altering any of it breaks the digest.
    const tampered = archive.bundle.replace(events[0]!.eventId, 'forged-event');
    expect(createHash('sha256').update(tampered).digest('hex')).not.toBe(archive.digest);

    // A sponsor reads it in Teams: the digest verifies and the card says what it holds.
    const sofia = teamsUser(roster.chat.person(SOFIA)!);
    await client.install(sofia);
    await client.message(sofia, `archive ${agent.id}`);
    const card = await eventually(() =>
      connector
        .posts(sofia.conversationId)
        .map((p) => FakeConnector.card(p))
        .find((c) => cardText(c).includes('Archive of Policy Explainer')),
    );
    expect(cardText(card)).toContain(archive.digest);
    expect(cardText(card)).toContain(
      `decision log (${events.length} decisions, 0 runtime requests), 1 versions, 1 check-ins, 1 knowledge notes`,
    );
    expect(cardText(card)).toContain('The digest still matches the bundle.');
    // Her look at it is in the read log, as a look at the agent's profile is.
    expect((await roster.services.reads.list({ agentId: agent.id })).map((r) => [r.action, r.actor])).toEqual([
      ['agent.viewed', { kind: 'person', email: SOFIA }],
    ]);
  }, 90_000);
});
