import http from 'node:http';
import type { CommandStartedEvent } from 'mongodb';
import { createSlackChannel } from '../../src/channels/slack/index.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { slackTestRosterPerSuite, startTestRoster, teamsTestRosterPerSuite } from '../helpers/app.js';
import { testMongoUri, uniqueDbName } from '../helpers/db.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { eventually, people, requestAwaitingApproval, SHIPPED_CONFIG } from '../helpers/harness.js';
import { memoryLogger } from '../helpers/logger.js';
import { buttonClick, directMessage, interaction, postSlack } from '../helpers/slack-requests.js';
import { cardText, cardVerbs } from '../channels/teams/card-reading.js';
import { TeamsClient, teamsUser } from '../channels/teams/teams-client.js';
import { asAgentId, asRunId } from '../helpers/ids.js';

type Roster = Awaited<ReturnType<typeof startTestRoster>>;
const org = loadOrgConfig(SHIPPED_CONFIG);

const LIAM = { id: 'U04K7R3D9SW', email: people.liam }; // it-admin, engineering
const NOAH = { id: 'U04J5M9C1RF', email: 'noah.fischer@brightwater.example' }; // approver:engineering

/** A kb-answerer request by `requester`, evaluated: it waits for the engineering approver and an IT admin. */
const waitingRun = (roster: Roster, requester: string, name: string) => requestAwaitingApproval(roster.services, org, requester, name);

const approveClick = (userId: string, runId: string) =>
  interaction(buttonClick(userId, 'approval_approve', JSON.stringify({ runId, stepId: 'approvals' })));

const decisionsOn = async (roster: Roster, runId: string) =>
  (await roster.services.runs.get(asRunId(runId)))?.steps.approvals?.decisions ?? [];

const approvalEntries = async (roster: Roster, agentId: string, email: string) =>
  (await roster.services.audit.export({ agentId: asAgentId(agentId) })).filter(
    (e) => e.action === 'decision.approve' && e.actor.kind === 'person' && e.actor.email === email,
  );

/** A run's outbox is empty once every effect of its decisions was performed. */
const settled = async (roster: Roster, runId: string) =>
  ((await roster.db.connection.db!.collection('flow_runs').findOne({ _id: runId as never }))?.outbox as unknown[] | undefined)?.length ===
  0;

describe('Slack: a click is acknowledged before any database write, then worked on in a bounded queue', () => {
  const mem = memoryLogger('info');
  const dbName = uniqueDbName('ackfirst');
  const uri = testMongoUri();
  /** What happened, in order: the HTTP answers Roster sent to Slack, and the database commands it started. */
  const timeline: Array<{ kind: 'ack' } | { kind: 'command'; event: CommandStartedEvent }> = [];
  const end = http.ServerResponse.prototype.end;

  beforeAll(() => {
    // Observed where Node writes the answer, so the order is the server's own, not the client's.
    http.ServerResponse.prototype.end = function (this: http.ServerResponse, ...args: unknown[]) {
      if (this.req?.url?.startsWith('/slack/events') && !this.writableEnded) timeline.push({ kind: 'ack' });
      return (end as (...a: unknown[]) => http.ServerResponse).apply(this, args);
    } as typeof end;
  });
  afterAll(() => {
    http.ServerResponse.prototype.end = end;
  });
  const suite = slackTestRosterPerSuite({
    env: { MONGODB_URI: `${uri}${uri.includes('?') ? '&' : '?'}monitorCommands=true` },
    log: mem.log,
    dbName,
  });
  beforeAll(() => {
    suite.roster.db.connection.getClient().on('commandStarted', (event) => timeline.push({ kind: 'command', event }));
  });

  it('an approve click is answered before its delivery key and its decision are written', async () => {
    const { roster } = suite;
    const { runId, agentId } = await waitingRun(roster, LIAM.email, 'Ack First');
    const from = timeline.length;
    expect((await postSlack(roster.baseUrl, approveClick(NOAH.id, runId))).status).toBe(200);
    await eventually(async () => (await decisionsOn(roster, runId)).length === 1);
    await eventually(() => settled(roster, runId));

    const after = timeline.slice(from);
    const ack = after.findIndex((e) => e.kind === 'ack');
    const writes = (collection: string) =>
      after.flatMap((e, i) => {
        if (e.kind !== 'command' || !['insert', 'update', 'findAndModify', 'delete'].includes(e.event.commandName)) return [];
        return e.event.command[e.event.commandName] === collection ? [i] : [];
      });
    const keyWrite = writes('slack_deliveries');
    const runWrites = writes('flow_runs').filter((i) =>
      JSON.stringify((after[i] as { event: CommandStartedEvent }).event.command).includes(runId),
    );
    expect(ack).toBeGreaterThanOrEqual(0);
    expect(keyWrite).toHaveLength(1);
    expect(runWrites.length).toBeGreaterThan(0);
    // The answer went out first; the delivery key right after it, before the decision's own writes.
    expect(keyWrite[0]!).toBeGreaterThan(ack);
    expect(Math.min(...runWrites)).toBeGreaterThan(keyWrite[0]!);
    // What Noah and the audit trail see: one decision, one entry.
    expect(await decisionsOn(roster, runId)).toEqual([expect.objectContaining({ by: NOAH.email, decision: 'approve' })]);
    expect(await approvalEntries(roster, agentId, NOAH.email)).toHaveLength(1);
  });

  it('the same click delivered to two replicas at once decides once', async () => {
    const { roster, slack } = suite;
    const otherLog = memoryLogger('info');
    const other = await startTestRoster({ env: slack.rosterEnv(), channels: [createSlackChannel], log: otherLog.log, dbName });
    try {
      const { runId, agentId } = await waitingRun(roster, LIAM.email, 'Two Replicas');
      const click = approveClick(NOAH.id, runId);
      const dropped = () =>
        [mem, otherLog].reduce((n, m) => n + m.lines().filter((l) => l.msg === 'duplicate Slack delivery ignored').length, 0);
      const before = dropped();
      const answers = await Promise.all([postSlack(roster.baseUrl, click), postSlack(other.baseUrl, click)]);
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      // One replica wrote the delivery key and decided; the other found the key and dropped its copy.
      await eventually(() => dropped() - before === 1);
      await eventually(async () => (await decisionsOn(roster, runId)).length === 1);
      await eventually(() => settled(roster, runId));
      expect(await decisionsOn(roster, runId)).toHaveLength(1);
      expect(await approvalEntries(roster, agentId, NOAH.email)).toHaveLength(1);
      expect(await roster.services.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await other.stop();
    }
  });
});

describe('Slack: a burst of clicks beyond the concurrency bound', () => {
  const BOUND = 2;
  const suite = slackTestRosterPerSuite({ env: { ROSTER_CLICK_CONCURRENCY: String(BOUND) } });

  it('is acknowledged at once while Slack is slow, works on two clicks at a time, and decides every one', async () => {
    const { roster, slack } = suite;
    const runs: Array<{ runId: string; agentId: string }> = [];
    for (let i = 0; i < 4 * BOUND; i += 1) runs.push(await waitingRun(roster, LIAM.email, `Burst ${i}`));
    // Slack stops answering card updates: a decision's work waits on its first update of an approver's card.
    const release = slack.hold('chat.update');
    let released = false;
    try {
      const answers = await Promise.all(runs.map(({ runId }) => postSlack(roster.baseUrl, approveClick(NOAH.id, runId))));
      expect(answers.every((a) => a.status === 200)).toBe(true);
      await eventually(() => slack.held === BOUND);
      // Two decisions are stored and waiting on Slack; the others wait their turn in the queue.
      const decided = async () => (await Promise.all(runs.map(({ runId }) => decisionsOn(roster, runId)))).filter((d) => d.length > 0);
      expect(await decided()).toHaveLength(BOUND);
      release();
      released = true;
      await eventually(async () => (await decided()).length === runs.length, 60_000);
      for (const { runId } of runs) await eventually(() => settled(roster, runId), 60_000);
    } finally {
      if (!released) release();
    }
    expect(slack.maxHeld).toBe(BOUND);
    for (const { runId, agentId } of runs) {
      expect(await decisionsOn(roster, runId)).toEqual([expect.objectContaining({ by: NOAH.email, decision: 'approve' })]);
      expect(await approvalEntries(roster, agentId, NOAH.email)).toHaveLength(1);
    }
    expect(await roster.services.audit.verify()).toMatchObject({ ok: true });
  });

  it('direct messages are acknowledged and wait their turn in the same queue, each answered once', async () => {
    const { roster, slack } = suite;
    const dm = `D${LIAM.id.slice(1)}`;
    const answers = () => slack.of('chat.postMessage', (a) => a.channel === dm && JSON.stringify(a.blocks).includes('Roster commands'));
    // Slack stops answering messages: a DM's work waits on posting its answer.
    const release = slack.hold('chat.postMessage');
    let released = false;
    try {
      const sent = await Promise.all(Array.from({ length: 2 * BOUND }, () => postSlack(roster.baseUrl, directMessage(LIAM.id, 'help'))));
      expect(sent.every((a) => a.status === 200)).toBe(true);
      await eventually(() => slack.held === BOUND);
      // Two answers are on their way; the other DMs wait in the queue, not at Slack.
      expect(answers()).toHaveLength(BOUND);
      release();
      released = true;
    } finally {
      if (!released) release();
    }
    await eventually(() => answers().length === 2 * BOUND);
    expect(answers()).toHaveLength(2 * BOUND);
    expect(slack.maxHeld).toBe(BOUND);
  });
});

describe('Teams: the invoke answers with the decision; the other cards are updated after, in order', () => {
  const teams = teamsTestRosterPerSuite();

  it("answers Noah's and Liam's clicks while the Bot Connector holds card updates, then updates Aisha's card to the final state", async () => {
    const { roster, connector, client } = teams;
    const grace = teamsUser(roster.chat.person(people.grace)!);
    const approvers = {
      noah: teamsUser(roster.chat.person(NOAH.email)!),
      liam: teamsUser(roster.chat.person(people.liam)!),
      aisha: teamsUser(roster.chat.person(people.aisha)!),
    };
    for (const u of [grace, ...Object.values(approvers)]) {
      await client.install(u);
      await client.membersAdded(u);
    }
    connector.reset();
    const { runId, agentId } = await waitingRun(roster, people.grace, 'Answer First');
    const cardOf = (u: { conversationId: string }) => connector.posts(u.conversationId).at(-1)!;
    const cards = { noah: cardOf(approvers.noah), liam: cardOf(approvers.liam), aisha: cardOf(approvers.aisha) };
    for (const post of Object.values(cards)) expect(cardVerbs(FakeConnector.card(post))).toEqual(['approval_approve', 'approval_deny']);
    connector.reset();

    // The Bot Connector stops answering updates: an invoke that waited for other people's cards would not answer.
    const release = connector.hold('PUT');
    let released = false;
    try {
      let noahAnswer: Awaited<ReturnType<TeamsClient['execute']>> | undefined;
      void client
        .execute(approvers.noah, 'approval_approve', { runId, stepId: 'approvals' }, { replyToId: cards.noah.createdId! })
        .then((r) => (noahAnswer = r));
      const first = await eventually(() => noahAnswer, 20_000);
      expect(first.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
      expect(cardText(first.card)).toContain('Approved by **Noah Fischer**');
      expect(cardVerbs(first.card)).toEqual([]);
      // Answered once the decision and its audit entry were stored.
      expect(await decisionsOn(roster, runId)).toHaveLength(1);
      expect(await approvalEntries(roster, agentId, NOAH.email)).toHaveLength(1);

      let liamAnswer: Awaited<ReturnType<TeamsClient['execute']>> | undefined;
      void client
        .execute(approvers.liam, 'approval_approve', { runId, stepId: 'approvals' }, { replyToId: cards.liam.createdId! })
        .then((r) => (liamAnswer = r));
      const second = await eventually(() => liamAnswer, 20_000);
      expect(cardText(second.card)).toContain('**Approved** by Liam');
      expect(cardVerbs(second.card)).toEqual([]);
      expect(await approvalEntries(roster, agentId, people.liam)).toHaveLength(1);
      release();
      released = true;
    } finally {
      if (!released) release();
    }

    // After the answers: Aisha's card moves to 1 of 2, then to approved, never back.
    await eventually(() => settled(roster, runId), 30_000);
    await eventually(async () => (await roster.services.runs.get(asRunId(runId)))?.status === 'completed', 30_000);
    await roster.services.outbox.idle();
    const aisha = connector
      .puts(approvers.aisha.conversationId)
      .filter((c) => c.activityId === cards.aisha.createdId)
      .map((c) => FakeConnector.card(c));
    expect(aisha.length).toBeGreaterThan(0);
    expect(cardText(aisha.at(-1))).toContain('**Approved**');
    expect(cardVerbs(aisha.at(-1))).toEqual([]);
    const approvedAt = aisha.findIndex((c) => cardText(c).includes('**Approved**'));
    expect(aisha.slice(approvedAt).every((c) => cardVerbs(c).length === 0)).toBe(true);
    expect((await roster.services.agents.get(asAgentId(agentId)))?.status).toBe('active');
    expect(await roster.services.audit.verify()).toMatchObject({ ok: true });
  });
});
