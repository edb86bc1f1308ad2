import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Connection } from 'mongoose';
import { createAgentRepository } from '../../src/store/agent-store.js';
import { createAuditLog } from '../../src/store/audit-store.js';
import { createRunRepository } from '../../src/store/run-store.js';
import { connectTestDb, testMongoUri, uniqueDbName } from '../helpers/db.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { eventually } from '../helpers/harness.js';
import { spawnRoster, type RosterProcess } from '../helpers/roster-process.js';
import { approvalCardsTo, approveValueOf, requestAgentInSlack, submitPassingEvaluationInSlack } from '../helpers/slack-journeys.js';
import { buttonClick, interaction, postSlack } from '../helpers/slack-requests.js';
import { asAgentId, asRunId } from '../helpers/ids.js';

/*
 * "Killed at each step between the transition stored and all its effects done": a chain of real
 * `npm start` processes on one database. Process k is started with the crash hook at point
 * `<transition>:k` (killed with SIGKILL after k of the transition's effects were performed), makes
 * a new agent request reach that transition, and dies there; process k + 1 performs what k left
 * (outbox worker at start) while it prepares the next request. The chain ends with the first point
 * that is never reached: that last request went through without a crash and is the baseline every
 * crashed request is compared with, card by card and audit entry by audit entry.
 */

const GRACE = { id: 'U04M9X1G3JT', email: 'grace.liu@brightwater.example' }; // the requester
const NOAH = { id: 'U04J5M9C1RF', email: 'noah.fischer@brightwater.example' }; // approver:engineering
const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' }; // it-admin
const AISHA = { id: 'U04L2V8F5HY', email: 'aisha.khan@brightwater.example' }; // it-admin
const PEOPLE = [GRACE, NOAH, LIAM, AISHA];
const LEASE_MS = 3000;
const noSuites = mkdtempSync(path.join(os.tmpdir(), 'roster-no-evals-'));

interface Subject {
  name: string;
  agentId: string;
  runId: string;
  /** The crash point, or undefined for the baseline. */
  crashedAt?: string;
}

describe('Roster killed between a stored transition and its effects', () => {
  let slack: FakeSlack;
  let dbName: string;
  let db: Connection;
  const running: RosterProcess[] = [];

  beforeAll(async () => {
    slack = new FakeSlack();
    await slack.start();
    dbName = uniqueDbName('crash');
    db = await connectTestDb(dbName);
  });

  afterAll(async () => {
    for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    await db?.dropDatabase().catch(() => undefined);
    await db?.close();
    await slack?.stop();
  });

  async function start(faultPoint: string): Promise<{ proc: RosterProcess; baseUrl: string }> {
    const proc = spawnRoster({
      MONGODB_URI: `${testMongoUri().replace(/\/+$/, '')}/${dbName}`,
      ROSTER_OUTBOX_LEASE_MS: String(LEASE_MS),
      // No shipped evaluation suites: the request is evaluated by the self-reported results form.
      ROSTER_EVALS_DIR: noSuites,
      ROSTER_FAULT_POINT: faultPoint,
      ...slack.rosterEnv(),
    });
    running.push(proc);
    const listening = await proc.waitForLog((l) => l.msg === 'HTTP server listening', 60_000);
    return { proc, baseUrl: `http://127.0.0.1:${Number(listening.port)}` };
  }

  /** A new agent request, evaluated and approved by Liam: Noah's approval is the last one. */
  async function prepare(baseUrl: string, name: string): Promise<Subject & { noahCard: { args: Record<string, unknown> } }> {
    const runs = createRunRepository(db);
    const agents = createAgentRepository(db);
    await requestAgentInSlack(baseUrl, slack, { userId: GRACE.id, roleId: 'kb-answerer', name, businessUnit: 'engineering' });
    const agent = await eventually(async () => (await agents.list({ requestedBy: GRACE.email })).find((a) => a.name === name), 30_000);
    const runId = agent.requestRunId;
    await eventually(async () => (await runs.get(runId))?.steps.evaluation?.status === 'waiting', 30_000);
    await submitPassingEvaluationInSlack(baseUrl, slack, LIAM.id, name);
    await eventually(() => [NOAH, LIAM].every((p) => approvalCardsTo(slack, p.id, runId).length === 1), 30_000);
    const liamClick = interaction(
      buttonClick(LIAM.id, 'approval_approve', approveValueOf(approvalCardsTo(slack, LIAM.id, runId)[0]!), slack.responseUrl(`l-${name}`)),
    );
    expect((await postSlack(baseUrl, liamClick)).status).toBe(200);
    await eventually(async () => (await runs.get(runId))?.steps.approvals?.decisions?.some((d) => d.by === LIAM.email), 30_000);
    return { name, agentId: agent.id, runId, noahCard: approvalCardsTo(slack, NOAH.id, runId)[0]! };
  }

  /** Everything a person sees of a request and the trail it leaves, to compare with the baseline. */
  async function outcome(subject: Subject) {
    const runs = createRunRepository(db);
    const run = (await runs.get(asRunId(subject.runId)))!;
    const cards: Record<string, number> = {};
    for (const p of PEOPLE) {
      cards[p.email] = slack.calls.filter(
        (c) =>
          c.method === 'chat.postMessage' &&
          c.args.channel === p.id &&
          (JSON.stringify(c.args).includes(subject.runId) || JSON.stringify(c.args).includes(subject.name)),
      ).length;
    }
    const statusUpdatedToActive = slack.calls.some(
      (c) => c.method === 'chat.update' && c.args.channel === `D${GRACE.id.slice(1)}` && JSON.stringify(c.args).includes('Active'),
    );
    const trail = (await createAuditLog(db).export({ agentId: asAgentId(subject.agentId) })).map(
      (e) => `${e.action}${e.actor.kind === 'person' ? `:${e.actor.email}` : ''}`,
    );
    const counts: Record<string, number> = {};
    for (const t of trail) counts[t] = (counts[t] ?? 0) + 1;
    const agent = await createAgentRepository(db).get(asAgentId(subject.agentId));
    const timers = await db.collection('agendaJobs').countDocuments({ 'data.runId': subject.runId });
    return { status: run.status, agentStatus: agent?.status, cards, statusUpdatedToActive, counts, timers };
  }

  /** Waits until a subject's run is completed and nothing is left in its outbox. */
  async function settled(subject: Subject): Promise<void> {
    await eventually(async () => {
      const doc = await db.collection('flow_runs').findOne({ _id: subject.runId as never });
      return doc?.status === 'completed' && (doc.outbox as unknown[] | undefined)?.length === 0;
    }, 60_000);
  }

  async function crashChain(transition: string): Promise<void> {
    const subjects: Subject[] = [];
    let previous: Subject | undefined;
    for (let k = 0; k < 12; k++) {
      const point = `${transition}:${k}`;
      const { proc, baseUrl } = await start(point);
      if (previous) await settled(previous);
      const prepared = await prepare(baseUrl, `Crash ${transition} ${k}`);
      const noahClick = interaction(
        buttonClick(NOAH.id, 'approval_approve', approveValueOf(prepared.noahCard), slack.responseUrl(`n-${prepared.name}`)),
      );
      void postSlack(baseUrl, noahClick).catch(() => undefined);
      const ended = await Promise.race([proc.exited.then(() => 'killed' as const), settled(prepared).then(() => 'done' as const)]);
      if (ended === 'killed') {
        expect(proc.logs.some((l) => l.point === point)).toBe(true);
        subjects.push({ ...prepared, crashedAt: point });
        previous = subjects.at(-1);
        continue;
      }
      // The point was never reached: this request is the baseline.
      const baseline = await outcome(prepared);
      expect(baseline).toMatchObject({ status: 'completed', agentStatus: 'active', statusUpdatedToActive: true });
      for (const action of [`decision.approve:${NOAH.email}`, 'step.approved', 'agent.onboarded', 'run.completed'])
        expect([action, baseline.counts[action]]).toEqual([action, 1]);
      expect(subjects.length).toBeGreaterThanOrEqual(2);
      for (const subject of subjects) {
        const seen = await outcome(subject);
        expect({ crashedAt: subject.crashedAt, ...seen }).toEqual({ crashedAt: subject.crashedAt, ...baseline });
      }
      expect(await createAuditLog(db).verify()).toMatchObject({ ok: true });
      expect(proc.logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
      proc.child.kill('SIGTERM');
      expect((await proc.exited).code).toBe(0);
      return;
    }
    throw new Error(`${transition}: the chain did not end`);
  }

  it('an approval completing a run: killed after each effect of the decision, every effect happens once', async () => {
    await crashChain('run.approved');
  }, 600_000);

  it('the run completing: killed after each effect of the completion, every effect happens once', async () => {
    await crashChain('run.completed');
  }, 600_000);
});
