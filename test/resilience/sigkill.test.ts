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
import { isAlive, spawnRoster, type RosterProcess } from '../helpers/roster-process.js';
import { approvalCardsTo, approveValueOf, requestAgentInSlack, submitPassingEvaluationInSlack } from '../helpers/slack-journeys.js';
import { buttonClick, interaction, postSlack } from '../helpers/slack-requests.js';
import { shippedFlowsWithApprovalTimers } from '../helpers/timed-flows.js';
import { shippedConfigRoundTheClock } from '../helpers/config-copy.js';

/*
 * "The process killed with SIGKILL between two approvals": the real `npm start` process against a
 * database that outlives it (a database of its own on the shared test server), a fake Slack Web
 * API, and the shipped flows with the approval timers shortened to seconds. The killed process
 * cleans nothing up: whatever the restarted one does comes from what was stored.
 */

const GRACE = { id: 'U04M9X1G3JT', email: 'grace.liu@brightwater.example' }; // security, engineering: the requester
const NOAH = { id: 'U04J5M9C1RF', email: 'noah.fischer@brightwater.example' }; // approver:engineering
const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' }; // it-admin
const AISHA = { id: 'U04L2V8F5HY', email: 'aisha.khan@brightwater.example' }; // it-admin

/*
 * Approval timers, from the moment the step opens. Agenda locks the jobs due within its polling
 * interval (2 s in a real process), and a lock held by a killed process lapses only after the lock
 * lifetime (minutes): the first timer is due well after the kill, about 1 s in.
 */
const REMIND_AFTER_S = 8;
const ESCALATE_AFTER_S = 10;

const noSuites = mkdtempSync(path.join(os.tmpdir(), 'roster-no-evals-'));

const textOf = (value: unknown) => JSON.stringify(value);

describe('Roster killed with SIGKILL between two approvals', () => {
  let slack: FakeSlack;
  let flows: ReturnType<typeof shippedFlowsWithApprovalTimers>;
  let dbName: string;
  let db: Connection;
  const running: RosterProcess[] = [];

  beforeAll(async () => {
    slack = new FakeSlack();
    await slack.start();
    flows = shippedFlowsWithApprovalTimers({ remindAfterS: REMIND_AFTER_S, escalateAfterS: ESCALATE_AFTER_S, expiresAfterS: 120 });
    dbName = uniqueDbName('sigkill');
    db = await connectTestDb(dbName);
  });

  afterAll(async () => {
    for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    await db?.dropDatabase().catch(() => undefined);
    await db?.close();
    await slack?.stop();
    flows?.remove();
  });

  /** `npm start` on the test database, with Slack over HTTP to the fake Web API. */
  async function start(): Promise<{ proc: RosterProcess; baseUrl: string }> {
    const proc = spawnRoster({
      MONGODB_URI: `${testMongoUri().replace(/\/+$/, '')}/${dbName}`,
      ROSTER_FLOWS_DIR: flows.dir,
      // Reminders go out when due, whatever time of day the test runs.
      ROSTER_CONFIG_DIR: shippedConfigRoundTheClock(),
      // Effects the killed process stored but had not performed are taken over 3 s after the change.
      ROSTER_OUTBOX_LEASE_MS: '3000',
      // No shipped evaluation suites: the request is evaluated by the self-reported results form.
      ROSTER_EVALS_DIR: noSuites,
      ...slack.rosterEnv(),
    });
    running.push(proc);
    const listening = await proc.waitForLog((l) => l.msg === 'HTTP server listening', 30_000);
    return { proc, baseUrl: `http://127.0.0.1:${Number(listening.port)}` };
  }

  it('the restarted process sends the reminder and the escalation, and the second approval completes the run', async () => {
    const runs = createRunRepository(db);
    const agents = createAgentRepository(db);
    const first = await start();

    // Grace requests a knowledge-base agent and submits passing evaluation results, in Slack.
    await requestAgentInSlack(first.baseUrl, slack, {
      userId: GRACE.id,
      roleId: 'kb-answerer',
      name: 'Kill Proof',
      businessUnit: 'engineering',
    });
    const agent = await eventually(async () => (await agents.list({ requestedBy: GRACE.email })).find((a) => a.name === 'Kill Proof'));
    const runId = agent.requestRunId;
    await eventually(async () => (await runs.get(runId))?.steps.evaluation?.status === 'waiting');
    await submitPassingEvaluationInSlack(first.baseUrl, slack, LIAM.id, 'Kill Proof');

    // The approval step is open: the engineering approver and both IT admins got a card.
    const opening = await eventually(async () => {
      const r = await runs.get(runId);
      return r?.status === 'waiting' && r.steps.approvals?.status === 'waiting' ? r : undefined;
    });
    const openedAt = Date.parse(opening.steps.approvals!.startedAt!);
    await eventually(() => [NOAH, LIAM, AISHA].every((p) => approvalCardsTo(slack, p.id, runId).length === 1));

    // First approval: Liam, for IT; stored before the kill.
    const liamClick = interaction(
      buttonClick(LIAM.id, 'approval_approve', approveValueOf(approvalCardsTo(slack, LIAM.id, runId)[0]!), slack.responseUrl('liam')),
    );
    expect((await postSlack(first.baseUrl, liamClick)).status).toBe(200);
    await eventually(async () => (await runs.get(runId))?.steps.approvals?.decisions?.some((d) => d.by === LIAM.email));

    const beforeKill = (await runs.get(runId))!;
    expect(beforeKill.status).toBe('waiting');
    expect(beforeKill.waitingFor).toEqual([NOAH.email]);
    expect(beforeKill.steps.approvals?.reminders ?? 0).toBe(0);
    expect(beforeKill.steps.approvals?.escalated).toBeFalsy();
    // The first timer must be beyond the killed process's look-ahead: 2 s polling, plus a margin.
    expect(Date.now() - openedAt).toBeLessThan((REMIND_AFTER_S - 3) * 1000);

    // SIGKILL: no shutdown handler runs, nothing is flushed or unlocked.
    first.proc.child.kill('SIGKILL');
    expect((await first.proc.exited).signal).toBe('SIGKILL');
    expect(isAlive(first.proc.child.pid!)).toBe(false);
    const callsAtKill = slack.calls.length;

    // A new process on the same database.
    const second = await start();

    // The reminder (Noah's card again) and the escalation (Aisha may now decide for engineering)
    // can only come from the restarted process.
    const escalated = await eventually(async () => {
      const r = await runs.get(runId);
      return (r?.steps.approvals?.reminders ?? 0) >= 1 && r?.steps.approvals?.escalated ? r : undefined;
    }, 20_000);
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(ESCALATE_AFTER_S * 1000);
    expect(escalated.steps.approvals!.reminders).toBe(1);
    expect(escalated.events.filter((e) => e.type === 'reminded')).toHaveLength(1);
    expect(escalated.events.filter((e) => e.type === 'escalated')).toHaveLength(1);
    expect([...escalated.waitingFor].sort()).toEqual([AISHA.email, NOAH.email].sort());
    await eventually(
      () =>
        approvalCardsTo(slack, NOAH.id, runId, callsAtKill).length > 0 && approvalCardsTo(slack, AISHA.id, runId, callsAtKill).length > 0,
    );
    // No fixed wait: once the run's outbox is empty, every card of the reminder and the escalation went out.
    await eventually(async () => ((await db.collection('flow_runs').findOne({ _id: runId as never }))?.outbox as unknown[]).length === 0);
    expect(approvalCardsTo(slack, NOAH.id, runId, callsAtKill)).toHaveLength(1); // the reminder, once
    const escalatedCards = approvalCardsTo(slack, AISHA.id, runId, callsAtKill);
    expect(escalatedCards).toHaveLength(1); // the escalation's card, once
    expect(approvalCardsTo(slack, LIAM.id, runId, callsAtKill)).toHaveLength(0); // who decided is not reminded

    // Second approval, on the escalated card, handled by the restarted process: the run completes.
    const aishaClick = interaction(
      buttonClick(AISHA.id, 'approval_approve', approveValueOf(escalatedCards[0]!), slack.responseUrl('aisha')),
    );
    expect((await postSlack(second.baseUrl, aishaClick)).status).toBe(200);
    const done = await eventually(async () => {
      const r = await runs.get(runId);
      return r?.status === 'completed' ? r : undefined;
    });
    expect(done.steps.approvals?.status).toBe('approved');
    expect(done.steps.approvals?.decisions?.map((d) => d.by)).toEqual([LIAM.email, AISHA.email]);
    expect((await agents.get(agent.id))?.status).toBe('active');
    // Grace's status message, posted by the first process, is moved to Active in place by the second.
    await slack.waitFor('chat.update', (a) => a.channel === `D${GRACE.id.slice(1)}` && textOf(a.blocks).includes('Active'));

    // The audit trail spans both processes, each event once, and its hash chain holds.
    const audit = createAuditLog(db);
    // The run's last effects (its audit entry among them) are performed just after it is stored as completed.
    const trail = await eventually(async () => {
      const t = (await audit.export({ agentId: agent.id })).map(
        (e) => `${e.action}${e.actor.kind === 'person' ? `:${e.actor.email}` : ''}`,
      );
      return t.includes('run.completed') ? t : undefined;
    });
    for (const once of [
      `run.started:${GRACE.email}`,
      // Typed-in results are recorded by an IT admin (Liam), with a reason.
      `gate.passed:${LIAM.email}`,
      `decision.approve:${LIAM.email}`,
      'approval.reminded',
      'approval.escalated',
      `decision.approve:${AISHA.email}`,
      'step.approved',
      'agent.onboarded',
      'run.completed',
    ])
      expect([once, trail.filter((t) => t === once).length]).toEqual([once, 1]);
    expect(trail.indexOf(`decision.approve:${LIAM.email}`)).toBeLessThan(trail.indexOf('approval.reminded'));
    expect(await audit.verify()).toMatchObject({ ok: true });

    // Nothing went wrong in the restarted process, and it still stops cleanly.
    expect(second.proc.logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
    second.proc.child.kill('SIGTERM');
    expect((await second.proc.exited).code).toBe(0);
  }, 60_000);
});
