import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose, { type Connection } from 'mongoose';
import { createAgentRepository } from '../../src/store/agent-store.js';
import { createRunRepository } from '../../src/store/run-store.js';
import { startEmbeddedMongo, type EmbeddedMongo } from '../../src/store/embedded/embedded-mongo.js';
import { freePort } from '../helpers/browser.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { eventually } from '../helpers/harness.js';
import { isAlive, spawnRoster, type RosterProcess } from '../helpers/roster-process.js';
import { approvalCardsTo, approveValueOf, requestAgentInSlack, submitPassingEvaluationInSlack } from '../helpers/slack-journeys.js';
import { buttonClick, interaction, postSlack, slashCommand, viewSubmission } from '../helpers/slack-requests.js';
import { shippedFlowsWithApprovalTimers } from '../helpers/timed-flows.js';
import { TeamsClient, type TeamsUser } from '../channels/teams/teams-client.js';
import { shippedConfigRoundTheClock } from '../helpers/config-copy.js';

/*
 * "The database unavailable for 10 seconds": the real `npm start` process on its own embedded
 * server (H2 file, fixed port), which the test stops and starts again on the same port and file.
 * Roster must answer /readyz 503, acknowledge Slack within its three seconds and answer Teams at
 * once with a friendly "try again", do nothing meanwhile, stay up, and be ready again (scheduler
 * included) once the database is back, without a restart. Then the same with a server that hangs
 * (SIGSTOP) instead of refusing connections, which only a time-out can detect.
 */

const GRACE = { id: 'U04M9X1G3JT', email: 'grace.liu@brightwater.example' }; // security, engineering: the requester
const GRACE_IN_TEAMS: TeamsUser = {
  id: '29:b6683eea-495c-43ed-bf7c-3b1e40b03252',
  name: 'Grace Liu',
  aadObjectId: 'b6683eea-495c-43ed-bf7c-3b1e40b03252',
  conversationId: 'a:personal-b6683eea-495c-43ed-bf7c-3b1e40b03252',
};
const NOAH = { id: 'U04J5M9C1RF', email: 'noah.fischer@brightwater.example' }; // approver:engineering
const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' }; // it-admin

const OUTAGE_MS = 10_000;
/** Slack shows the person an error when a delivery is not acknowledged within 3 s. */
const SLACK_ACK_MS = 3000;
/** The first reminder falls due while the database is down. */
const REMIND_AFTER_S = 5;

const textOf = (value: unknown) => JSON.stringify(value);

async function get(baseUrl: string, route: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}${route}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A Teams message, timed, and the text of the reply Roster posted to the Bot Connector. */
async function timedTeamsMessage(teams: TeamsClient, connector: FakeConnector, text: string) {
  const at = Date.now();
  const before = connector.posts(GRACE_IN_TEAMS.conversationId).length;
  const res = await teams.message(GRACE_IN_TEAMS, text);
  const replies = connector.posts(GRACE_IN_TEAMS.conversationId).slice(before);
  return { status: res.status, ms: Date.now() - at, reply: JSON.stringify(replies.map((r) => r.body)) };
}

/** A Slack delivery, timed: Slack needs the HTTP answer within three seconds. */
async function timedPost(baseUrl: string, post: Parameters<typeof postSlack>[1]): Promise<{ status: number; ms: number }> {
  const at = Date.now();
  const res = await postSlack(baseUrl, post);
  return { status: res.status, ms: Date.now() - at };
}

/** Waits until /readyz says 200; a failure says what was still not ready, so it explains itself. */
async function readyAgain(baseUrl: string, timeoutMs: number): Promise<void> {
  let last: unknown;
  await eventually(async () => {
    const r = await get(baseUrl, '/readyz');
    last = r.body;
    return r.status === 200;
  }, timeoutMs).catch((err: Error) => {
    throw new Error(`${err.message}; /readyz last said ${JSON.stringify(last)}`);
  });
}

describe('the database unavailable for 10 seconds', () => {
  let dataDir: string;
  let file: string;
  let mongoPort: number;
  let mongo: EmbeddedMongo | undefined;
  let slack: FakeSlack;
  let connector: FakeConnector;
  let teams: TeamsClient;
  let flows: ReturnType<typeof shippedFlowsWithApprovalTimers>;
  let roster: RosterProcess;
  let baseUrl: string;

  /** A Slack delivery during the outage: acknowledged within Slack's 3 s and answered privately with "try again". */
  async function expectSlackTryAgain(post: Parameters<typeof postSlack>[1], responseId: string): Promise<void> {
    const res = await timedPost(baseUrl, post);
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(SLACK_ACK_MS);
    const reply = await slack.waitForResponse(responseId, SLACK_ACK_MS);
    expect(reply.body.response_type).toBe('ephemeral');
    expect(textOf(reply.body)).toMatch(/try again/i);
  }
  let db: Connection;
  /** True while the embedded server is stopped with SIGSTOP. */
  let hung = false;

  const startMongo = async () => {
    mongo = await startEmbeddedMongo({ backend: 'h2', file, port: mongoPort, onProgress: () => undefined });
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'roster-outage-'));
    file = path.join(dataDir, 'roster.h2.mv.db');
    mongoPort = await freePort();
    await startMongo();
    slack = new FakeSlack();
    await slack.start();
    connector = await FakeConnector.start();
    flows = shippedFlowsWithApprovalTimers({ remindAfterS: REMIND_AFTER_S, escalateAfterS: 100, expiresAfterS: 120 });
    roster = spawnRoster({
      MONGODB_URI: `mongodb://127.0.0.1:${mongoPort}/roster`,
      ROSTER_FLOWS_DIR: flows.dir,
      // Reminders go out when due, whatever time of day the test runs.
      ROSTER_CONFIG_DIR: shippedConfigRoundTheClock(),
      ...slack.rosterEnv(),
    });
    const listening = await roster.waitForLog((l) => l.msg === 'HTTP server listening', 60_000);
    baseUrl = `http://127.0.0.1:${Number(listening.port)}`;
    teams = new TeamsClient(baseUrl, connector.serviceUrl);
    db = await mongoose
      .createConnection(`mongodb://127.0.0.1:${mongoPort}`, { dbName: 'roster', serverSelectionTimeoutMS: 5000, autoCreate: false })
      .asPromise();
  }, 60_000);

  afterAll(async () => {
    if (hung && mongo) process.kill(mongo.pid, 'SIGCONT');
    if (roster && roster.child.exitCode === null && roster.child.signalCode === null) roster.child.kill('SIGKILL');
    await roster?.exited;
    await db?.close().catch(() => undefined);
    await mongo?.stop();
    await slack?.stop();
    await connector?.close();
    flows?.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('/readyz says 503, Slack and Teams users are told to try again within the ack, nothing crashes, and Roster recovers by itself', async () => {
    const runs = createRunRepository(db);
    const agents = createAgentRepository(db);
    expect((await get(baseUrl, '/readyz')).status).toBe(200);

    // Before the outage: Grace's request waits for approval; the request modal stays open for later.
    await requestAgentInSlack(baseUrl, slack, {
      userId: GRACE.id,
      roleId: 'kb-answerer',
      name: 'Outage Proof',
      businessUnit: 'engineering',
    });
    const agent = await eventually(async () => (await agents.list({ requestedBy: GRACE.email })).find((a) => a.name === 'Outage Proof'));
    const runId = agent.requestRunId;
    await eventually(async () => (await runs.get(runId))?.steps.evaluation?.status === 'waiting');
    await submitPassingEvaluationInSlack(baseUrl, slack, LIAM.id, 'Outage Proof');
    await eventually(async () => (await runs.get(runId))?.steps.approvals?.status === 'waiting');
    await eventually(() => approvalCardsTo(slack, LIAM.id, runId).length === 1 && approvalCardsTo(slack, NOAH.id, runId).length === 1);
    const liamApprove = approveValueOf(approvalCardsTo(slack, LIAM.id, runId)[0]!);
    const requestModal = slack.of('views.open', (a) => (a.view as Record<string, unknown>).callback_id === 'agent_request_submit')[0]!;
    const pid = roster.child.pid!;

    // The outage.
    await mongo!.stop();
    const outageStart = Date.now();

    const notReady = await eventually(async () => {
      const r = await get(baseUrl, '/readyz');
      return r.status === 503 ? r : undefined;
    }, 5000);
    expect(notReady.body).toMatchObject({ status: 'not ready', problems: { database: expect.any(String) } });

    // A slash command: acknowledged in time, answered privately with a friendly "try again".
    await expectSlackTryAgain(slashCommand(GRACE.id, 'list mine', slack.responseUrl('outage-list')), 'outage-list');

    // An Approve click: the same.
    await expectSlackTryAgain(
      interaction(buttonClick(LIAM.id, 'approval_approve', liamApprove, slack.responseUrl('outage-click'))),
      'outage-click',
    );

    // A modal submitted (no response_url): the modal closes and a direct message says so.
    const dmsBefore = slack.of('chat.postMessage', (a) => a.channel === GRACE.id).length;
    const submit = await timedPost(
      baseUrl,
      interaction(
        viewSubmission(GRACE.id, requestModal.args.view as Record<string, unknown>, {
          agent_name: { agent_name: { type: 'plain_text_input', value: 'Lost In Outage' } },
          purpose: { purpose: { type: 'plain_text_input', value: 'Answers engineering how-to questions from the handbook.' } },
          business_unit: { business_unit: { type: 'static_select', selected_option: { value: 'engineering' } } },
          sponsors: { sponsors: { type: 'multi_users_select', selected_users: [GRACE.id] } },
          justification: { justification: { type: 'plain_text_input', value: 'Saves the platform team hours each week.' } },
        }),
      ),
    );
    expect(submit.status).toBe(200);
    expect(submit.ms).toBeLessThan(SLACK_ACK_MS);
    await eventually(() => slack.of('chat.postMessage', (a) => a.channel === GRACE.id).length > dmsBefore, SLACK_ACK_MS);
    expect(textOf(slack.of('chat.postMessage', (a) => a.channel === GRACE.id).at(-1)!.args)).toMatch(/try again/i);

    // Teams (anonymous local mode, replies to a fake Bot Connector): a friendly answer too.
    const teamsOutage = await timedTeamsMessage(teams, connector, 'list mine');
    expect(teamsOutage.status).toBe(200);
    expect(teamsOutage.ms).toBeLessThan(SLACK_ACK_MS);
    expect(teamsOutage.reply).toMatch(/try again/i);

    // For the rest of the outage: alive, healthy, not ready.
    while (Date.now() - outageStart < OUTAGE_MS) {
      expect((await get(baseUrl, '/healthz')).status).toBe(200);
      expect((await get(baseUrl, '/readyz')).status).toBe(503);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(isAlive(pid)).toBe(true);
    expect(roster.child.exitCode).toBeNull();

    expect(approvalCardsTo(slack, NOAH.id, runId)).toHaveLength(1); // the reminder is due, and waits

    // The database is back, on the same port and file; Roster is not restarted.
    await startMongo();
    const backAt = Date.now();
    await readyAgain(baseUrl, 15_000);
    const recoveryMs = Date.now() - backAt;
    expect(recoveryMs).toBeLessThan(15_000);
    expect(roster.child.pid).toBe(pid);
    expect(roster.child.exitCode).toBeNull();

    // Nothing was done during the outage, and nothing stored before it was lost.
    const run = (await runs.get(runId))!;
    expect(run.status).toBe('waiting');
    expect(run.steps.approvals?.decisions).toEqual([]);
    expect((await agents.list({ requestedBy: GRACE.email })).map((a) => a.name)).toEqual(['Outage Proof']);

    // The reminder that fell due during the outage is sent now: the scheduler recovered too.
    // (the job that failed during the outage is retried with back-off, so on a loaded machine this can take a while)
    await eventually(() => approvalCardsTo(slack, NOAH.id, runId).length === 2, 30_000);

    // A new command works, and sees the data from before the outage.
    const list = await timedPost(baseUrl, slashCommand(GRACE.id, 'list mine', slack.responseUrl('after-list')));
    expect(list.status).toBe(200);
    const listed = await slack.waitForResponse('after-list', 5000);
    expect(textOf(listed.body)).toContain('Outage Proof');
    expect(textOf(listed.body)).not.toMatch(/try again/i);

    const teamsAfter = await timedTeamsMessage(teams, connector, 'list mine');
    expect(teamsAfter.reply).toContain('Outage Proof');

    // The click Slack users were asked to repeat now counts.
    expect(
      (await timedPost(baseUrl, interaction(buttonClick(LIAM.id, 'approval_approve', liamApprove, slack.responseUrl('after-click')))))
        .status,
    ).toBe(200);
    await eventually(async () => (await runs.get(runId))?.steps.approvals?.decisions?.some((d) => d.by === LIAM.email));

    expect(roster.logs.filter((l) => l.msg === 'unhandled error in a Slack listener')).toEqual([]);
  }, 120_000);

  it('a database that hangs instead of refusing: Slack and Teams still get a "try again" in time, and Roster recovers', async () => {
    expect((await get(baseUrl, '/readyz')).status).toBe(200);
    // Stopped, not gone: connections stay open and nothing answers, so only a time-out can tell.
    process.kill(mongo!.pid, 'SIGSTOP');
    hung = true;
    // The signal is delivered asynchronously: wait until the kernel reports the process stopped.
    await eventually(() => /^\d+ \(.*\) T/.test(readFileSync(`/proc/${mongo!.pid}/stat`, 'utf8')), 2000);
    const hangStart = Date.now();

    expect(await get(baseUrl, '/readyz')).toMatchObject({ status: 503, body: { problems: { database: expect.any(String) } } });
    await expectSlackTryAgain(slashCommand(GRACE.id, 'list mine', slack.responseUrl('hang-list')), 'hang-list');
    const teamsMessage = await timedTeamsMessage(teams, connector, 'list mine');
    expect(teamsMessage.status).toBe(200);
    expect(teamsMessage.ms).toBeLessThan(SLACK_ACK_MS);
    expect(teamsMessage.reply).toMatch(/try again/i);
    const at = Date.now();
    const click = await teams.execute(GRACE_IN_TEAMS, 'approval_approve', { runId: 'run_none', stepId: 'approvals' });
    expect(click.status).toBe(200);
    expect(Date.now() - at).toBeLessThan(SLACK_ACK_MS);
    expect(JSON.stringify(click.card)).toMatch(/try again/i);
    expect((await get(baseUrl, '/healthz')).status).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, 5000 - (Date.now() - hangStart))));

    process.kill(mongo!.pid, 'SIGCONT');
    hung = false;
    await readyAgain(baseUrl, 15_000);
    await timedPost(baseUrl, slashCommand(GRACE.id, 'list mine', slack.responseUrl('unhung-list')));
    expect(textOf((await slack.waitForResponse('unhung-list', 5000)).body)).toContain('Outage Proof');

    // Through both outages: one process, nothing on stderr, and it still stops cleanly.
    expect(roster.stderr()).toBe('');
    expect(roster.logs.filter((l) => l.msg === 'unhandled error in a Slack listener')).toEqual([]);
    roster.child.kill('SIGTERM');
    expect((await roster.exited).code).toBe(0);
    // Its own bounds are inside (each answer within Slack's 3 s, ready again within 15 s); the
    // whole test took over 30 s once, at load 5 (two test workers and a benchmark).
  }, 90_000);
});
