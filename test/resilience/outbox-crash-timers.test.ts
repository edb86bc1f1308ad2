import { Agenda } from 'agenda';
import { MongoBackend, type MongoBackendConfig } from '@agendajs/mongo-backend';
import type { Connection } from 'mongoose';
import type { AlertRecord } from '../../src/core/alerts.js';
import { createAgentRepository, createGrantRepository } from '../../src/store/agent-store.js';
import { createAlertRepository } from '../../src/store/alert-store.js';
import { createAuditLog } from '../../src/store/audit-store.js';
import { GRANT_JOBS } from '../../src/jobs/grants.js';
import { ALERT_TIMER_JOB } from '../../src/jobs/alert-timer.js';
import { connectTestDb, testMongoUri, uniqueDbName } from '../helpers/db.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { agentRecord, eventually } from '../helpers/harness.js';
import { spawnRoster, type RosterProcess } from '../helpers/roster-process.js';
import { asAgentId, asAlertId, asGrantId } from '../helpers/ids.js';

/*
 * A grant expiring and an alert escalating, each killed at every step between its new state being
 * stored and its last effect (see outbox-crash.test.ts for the chain of processes). The timers are
 * real Agenda jobs, due a moment after the process is up; the last link of each chain never
 * reaches its crash point and is the baseline.
 */

const GRACE = { id: 'U04M9X1G3JT', email: 'grace.liu@brightwater.example' };
const NOAH = { id: 'U04J5M9C1RF', email: 'noah.fischer@brightwater.example' }; // ai-ops level 2
const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' }; // ai-ops level 1
const AISHA = { id: 'U04L2V8F5HY', email: 'aisha.khan@brightwater.example' }; // ai-ops level 1
const PEOPLE = [GRACE, NOAH, LIAM, AISHA];

interface Link {
  key: string;
  crashedAt?: string;
}

describe('Roster killed between a timer-driven change and its effects', () => {
  let slack: FakeSlack;
  let dbName: string;
  let db: Connection;
  let agenda: Agenda;
  const running: RosterProcess[] = [];

  beforeAll(async () => {
    slack = new FakeSlack();
    await slack.start();
    dbName = uniqueDbName('crasht');
    db = await connectTestDb(dbName);
    // Only used to write jobs the way Roster does; never started.
    agenda = new Agenda({
      backend: new MongoBackend({
        mongo: db.db as unknown as Extract<MongoBackendConfig, { mongo: unknown }>['mongo'],
        collection: 'agendaJobs',
      }),
    });
  });

  afterAll(async () => {
    for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    await db?.dropDatabase().catch(() => undefined);
    await db?.close();
    await slack?.stop();
  });

  async function start(faultPoint: string): Promise<RosterProcess> {
    const proc = spawnRoster({
      MONGODB_URI: `${testMongoUri().replace(/\/+$/, '')}/${dbName}`,
      ROSTER_OUTBOX_LEASE_MS: '3000',
      ROSTER_FAULT_POINT: faultPoint,
      ...slack.rosterEnv(),
    });
    running.push(proc);
    await proc.waitForLog((l) => l.msg === 'HTTP server listening', 60_000);
    return proc;
  }

  const cardsTo = (userId: string, needle: string) =>
    slack.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === userId && JSON.stringify(c.args).includes(needle))
      .length;

  async function auditCounts(filter: (e: { subject: { id: string } }) => boolean): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const e of await createAuditLog(db).export()) if (filter(e)) counts[e.action] = (counts[e.action] ?? 0) + 1;
    return counts;
  }

  /**
   * Runs the chain for one transition: `trigger` makes link k due in the running process,
   * `settled` says its effects are all done, `outcome` is what people see of it.
   */
  async function crashChain(
    transition: string,
    trigger: (k: number) => Promise<Link>,
    settled: (link: Link) => Promise<boolean>,
    outcome: (link: Link) => Promise<unknown>,
  ): Promise<void> {
    const links: Link[] = [];
    for (let k = 0; k < 12; k++) {
      const point = `${transition}:${k}`;
      const proc = await start(point);
      const previous = links.at(-1);
      if (previous) await eventually(() => settled(previous), 60_000);
      const link = await trigger(k);
      const ended = await Promise.race([
        proc.exited.then(() => 'killed' as const),
        eventually(() => settled(link), 60_000).then(() => 'done' as const),
      ]);
      if (ended === 'killed') {
        expect(proc.logs.some((l) => l.point === point)).toBe(true);
        links.push({ ...link, crashedAt: point });
        continue;
      }
      const baseline = await outcome(link);
      expect(links.length).toBeGreaterThanOrEqual(2);
      for (const crashed of links)
        expect({ crashedAt: crashed.crashedAt, seen: await outcome(crashed) }).toEqual({ crashedAt: crashed.crashedAt, seen: baseline });
      expect(await createAuditLog(db).verify()).toMatchObject({ ok: true });
      expect(proc.logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
      proc.child.kill('SIGTERM');
      expect((await proc.exited).code).toBe(0);
      return;
    }
    throw new Error(`${transition}: the chain did not end`);
  }

  it('a grant expiring: the grant ends, its audit entry and the sponsor notice happen once', async () => {
    const agents = createAgentRepository(db);
    const grants = createGrantRepository(db);
    const agent = agentRecord({ name: 'Expiry Proof', sponsors: [GRACE.email], businessUnit: 'engineering', catalogRoleId: 'kb-answerer' });
    // Indexes first, as Roster's store makes them at start, so that nothing this connection sends
    // races the insert on the embedded server (see connectTestDb). An agent lost there leaves each
    // expiry no sponsor to tell: the chain ends a link early and no notice is sent at all.
    await Promise.all([agents.ensureIndexes(), grants.ensureIndexes()]);
    await agents.insert(agent);
    expect(await agents.get(agent.id)).toMatchObject({ sponsors: [GRACE.email] });
    await crashChain(
      'grant.expired',
      async (k) => {
        const now = Date.now();
        const id = `grt_crash${k}`;
        await grants.insertMany([
          {
            id: asGrantId(id),
            agentId: agent.id,
            scope: 'kb:read',
            reason: `crash test ${k}`,
            requestedBy: GRACE.email,
            approvedBy: [NOAH.email],
            startsAt: new Date(now - 60_000).toISOString(),
            expiresAt: new Date(now + 500).toISOString(),
            status: 'active',
            source: 'run_crash',
            createdAt: new Date(now - 60_000).toISOString(),
          },
        ]);
        await agenda.schedule(new Date(now + 500), GRANT_JOBS.expire, { grantId: id });
        return { key: id };
      },
      async (link) => {
        const doc = await db.collection('grants').findOne({ _id: link.key as never });
        return doc?.status === 'expired' && (doc.outbox as unknown[] | undefined)?.length === 0;
      },
      async (link) => ({
        status: (await grants.get(asGrantId(link.key)))?.status,
        audit: await auditCounts((e) => e.subject.id === link.key),
      }),
    );
    // The sponsor got exactly one "expired" notice per grant, crash or not.
    const notices = slack.calls.filter(
      (c) => c.method === 'chat.postMessage' && c.args.channel === GRACE.id && JSON.stringify(c.args).includes('access to kb:read expired'),
    );
    expect(notices).toHaveLength((await grants.list({ status: ['expired'] })).length);
  }, 600_000);

  it('an alert escalating: the next level is paged once, one audit entry, the next timers scheduled once', async () => {
    const alerts = createAlertRepository(db);
    await alerts.ensureIndexes();
    await crashChain(
      'alert.escalated',
      async (k) => {
        const now = new Date();
        const alert: AlertRecord = {
          id: asAlertId(`alr_crash${k}`),
          kind: 'dormant',
          agentId: asAgentId(`agt_crash${k}`),
          severity: 'warning',
          status: 'open',
          summary: `Crash alert ${k} has been quiet`,
          details: {},
          rotation: 'ai-ops',
          level: 0,
          loops: 0,
          occurrences: 1,
          createdAt: now.toISOString(),
          updatedAt: now.toISOString(),
          version: 1,
        };
        await alerts.openOrGet(alert);
        await agenda.schedule(new Date(now.getTime() + 500), ALERT_TIMER_JOB, {
          alertId: alert.id,
          kind: 'escalate',
          level: 0,
          loops: 0,
        });
        return { key: alert.id };
      },
      async (link) => {
        const doc = await db.collection('alerts').findOne({ _id: link.key as never });
        return doc?.level === 1 && (doc.outbox as unknown[] | undefined)?.length === 0;
      },
      async (link) => ({
        level: (await alerts.get(asAlertId(link.key)))?.level,
        audit: await auditCounts((e) => e.subject.id === link.key),
        pages: Object.fromEntries(PEOPLE.map((p) => [p.email, cardsTo(p.id, link.key)])),
        nextTimers: await db.collection('agendaJobs').countDocuments({ name: ALERT_TIMER_JOB, 'data.alertId': link.key, 'data.level': 1 }),
      }),
    );
  }, 600_000);
});
