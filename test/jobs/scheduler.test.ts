import { createScheduler } from '../../src/jobs/scheduler.js';
import { openTestDb, type TestDb } from '../helpers/db.js';
import { silentLogger } from '../helpers/logger.js';
import { asGrantId } from '../helpers/ids.js';

describe('Agenda on the embedded database', () => {
  let db: TestDb;
  beforeEach(async () => {
    db = await openTestDb();
  });
  afterEach(async () => {
    await db.close();
  });

  it('runs a job scheduled a moment ahead, with its data, and records it as done', async () => {
    const scheduler = createScheduler({ connection: db.connection, log: silentLogger(), processEvery: 200, lockLifetimeMs: 2000 });
    const ran: Array<{ at: number; data: unknown }> = [];
    scheduler.agenda.define('test.tick', async (job) => {
      ran.push({ at: Date.now(), data: job.attrs.data });
    });
    const done = new Promise<void>((resolve) => scheduler.agenda.once('complete:test.tick', () => resolve()));
    await scheduler.start();
    const scheduledAt = Date.now();
    await scheduler.agenda.schedule(new Date(scheduledAt + 500), 'test.tick', { grant: 'g1' });
    await done;
    await scheduler.stop();
    expect(ran).toHaveLength(1);
    expect(ran[0]!.data).toEqual({ grant: 'g1' });
    expect(ran[0]!.at).toBeGreaterThanOrEqual(scheduledAt + 500);
    const stored = await db.connection.collection('agendaJobs').findOne({ name: 'test.tick' });
    expect(stored?.lastFinishedAt).toBeInstanceOf(Date);
  });

  it('a job scheduled before a stop runs after a new scheduler starts (it is persisted)', async () => {
    const first = createScheduler({ connection: db.connection, log: silentLogger(), processEvery: 200, lockLifetimeMs: 2000 });
    first.agenda.define('test.later', async () => undefined);
    await first.start();
    await first.agenda.schedule(new Date(Date.now() + 800), 'test.later', { n: 1 });
    await first.stop();

    const second = createScheduler({ connection: db.connection, log: silentLogger(), processEvery: 200, lockLifetimeMs: 2000 });
    const ran = new Promise<unknown>((resolve) => second.agenda.define('test.later', async (job) => resolve(job.attrs.data)));
    await second.start();
    await expect(ran).resolves.toEqual({ n: 1 });
    await second.stop();
  });

  it('logs a failing job instead of losing it', async () => {
    const { memoryLogger } = await import('../helpers/logger.js');
    const mem = memoryLogger();
    const scheduler = createScheduler({ connection: db.connection, log: mem.log, processEvery: 200, lockLifetimeMs: 2000 });
    const failed = new Promise<void>((resolve) => scheduler.agenda.on('fail', () => resolve()));
    scheduler.agenda.define('test.boom', async () => {
      throw new Error('boom');
    });
    await scheduler.start();
    await scheduler.agenda.now('test.boom', {});
    await failed;
    await scheduler.stop();
    expect(mem.lines().some((l) => l.msg === 'scheduled job failed' && l.job === 'test.boom')).toBe(true);
  });

  it('flow and alert timers hold their lock 30 s, not the 5-minute default, so a crashed process delays a reminder little', async () => {
    const { defineFlowTimerJob, FLOW_TIMER_JOB } = await import('../../src/jobs/flow-timers.js');
    const { TIMER_LOCK_LIFETIME_MS } = await import('../../src/jobs/timers.js');
    // As in production: no lock lifetime given, Agenda's default of 5 minutes.
    const scheduler = createScheduler({ connection: db.connection, log: silentLogger() });
    defineFlowTimerJob(scheduler.agenda, async () => undefined);
    await scheduler.start();
    await scheduler.stop();
    const definitions = (scheduler.agenda as unknown as { definitions: Record<string, { lockLifetime: number }> }).definitions;
    expect(scheduler.agenda.attrs.defaultLockLifetime).toBe(5 * 60_000);
    expect(definitions[FLOW_TIMER_JOB]!.lockLifetime).toBe(TIMER_LOCK_LIFETIME_MS);
    expect(TIMER_LOCK_LIFETIME_MS).toBe(30_000);
    // A test scheduler with a shorter default keeps the shorter one.
    const quick = createScheduler({ connection: db.connection, log: silentLogger(), lockLifetimeMs: 2000 });
    defineFlowTimerJob(quick.agenda, async () => undefined);
    await quick.start();
    await quick.stop();
    expect(
      (quick.agenda as unknown as typeof scheduler.agenda & { definitions: typeof definitions }).definitions[FLOW_TIMER_JOB]!.lockLifetime,
    ).toBe(2000);
  });
  it('every timer job (flows, alerts, delegations, hand-offs) holds the short lock and retries with back-off', async () => {
    const { flowTimerJob } = await import('../../src/jobs/flow-timers.js');
    const { alertTimerJob } = await import('../../src/jobs/alert-timer.js');
    const { delegationTimerJob } = await import('../../src/jobs/delegation-timer.js');
    const { handoffTimerJob } = await import('../../src/jobs/handoff-timer.js');
    const { TIMER_LOCK_LIFETIME_MS } = await import('../../src/jobs/timers.js');
    const scheduler = createScheduler({ connection: db.connection, log: silentLogger() });
    const idle = async () => undefined;
    await flowTimerJob.define(scheduler.agenda, { engine: { onTimer: idle } });
    await alertTimerJob.define(scheduler.agenda, { alerts: { onTimer: idle } });
    await delegationTimerJob.define(scheduler.agenda, { delegations: { start: idle, end: idle } });
    await handoffTimerJob.define(scheduler.agenda, { handoffs: { onTimer: idle } });
    await scheduler.start();
    await scheduler.stop();
    const definitions = (scheduler.agenda as unknown as { definitions: Record<string, { lockLifetime: number; backoff?: unknown }> })
      .definitions;
    for (const job of [flowTimerJob, alertTimerJob, delegationTimerJob, handoffTimerJob]) {
      expect({ job: job.name, lockLifetime: definitions[job.name]!.lockLifetime }).toEqual({
        job: job.name,
        lockLifetime: TIMER_LOCK_LIFETIME_MS,
      });
      expect(definitions[job.name]!.backoff).toEqual(expect.any(Function));
    }
  });

  it('indexes the look-ups of jobs stored once per outbox effect (by key, by effect id)', async () => {
    const scheduler = createScheduler({ connection: db.connection, log: silentLogger(), lockLifetimeMs: 2000 });
    await scheduler.start();
    await scheduler.stop();
    const indexes = await db.connection.collection('agendaJobs').indexes();
    expect(indexes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: { name: 1, 'data.key': 1 }, partialFilterExpression: { 'data.key': { $exists: true } } }),
        expect.objectContaining({ key: { name: 1, 'data.effectId': 1 }, partialFilterExpression: { 'data.effectId': { $exists: true } } }),
      ]),
    );
  });

  it('stop() waits for a running job to finish and record itself before it returns', async () => {
    const scheduler = createScheduler({ connection: db.connection, log: silentLogger(), processEvery: 200, lockLifetimeMs: 2000 });
    let release!: () => void;
    const started = new Promise<void>((resolve) =>
      scheduler.agenda.define('test.slow', async () => {
        resolve();
        await new Promise<void>((done) => (release = done));
      }),
    );
    await scheduler.start();
    await scheduler.agenda.now('test.slow', {});
    await started;
    let stopped = false;
    const stopping = scheduler.stop().then(() => (stopped = true));
    // Agenda's own stop() is over (it no longer polls) but the job still runs: stop() has not returned.
    const processor = () => (scheduler.agenda as unknown as { jobProcessor?: unknown }).jobProcessor;
    while (processor() !== undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setImmediate(resolve));
    const before = await db.connection.collection('agendaJobs').findOne({ name: 'test.slow' });
    expect(stopped).toBe(false);
    expect(before?.lockedAt).toBeInstanceOf(Date);
    release();
    await stopping;
    const after = await db.connection.collection('agendaJobs').findOne({ name: 'test.slow' });
    expect(after?.lastFinishedAt).toBeInstanceOf(Date);
    expect(after?.lockedAt ?? null).toBeNull();
  });

  it('stop() gives up on a job that outlives its timeout, and says so', async () => {
    const { memoryLogger } = await import('../helpers/logger.js');
    const mem = memoryLogger();
    const scheduler = createScheduler({
      connection: db.connection,
      log: mem.log,
      processEvery: 200,
      lockLifetimeMs: 2000,
      stopTimeoutMs: 200,
    });
    let release!: () => void;
    const started = new Promise<void>((resolve) =>
      scheduler.agenda.define('test.stuck', async () => {
        resolve();
        await new Promise<void>((done) => (release = done));
      }),
    );
    await scheduler.start();
    await scheduler.agenda.now('test.stuck', {});
    await started;
    await scheduler.stop();
    expect(mem.lines().some((l) => l.msg === 'scheduler stopped with jobs still running' && l.running === 1)).toBe(true);
    const finished = new Promise<void>((resolve) => scheduler.agenda.once('complete:test.stuck', () => resolve()));
    release();
    await finished;
  });
  it('a grant expiry that fails once is retried by Agenda with back-off: the grant ends expired, audited once by the scheduler', async () => {
    const { startHarness, eventually, grantRecord } = await import('../helpers/harness.js');
    const { activeAgent } = await import('../access/support.js');
    const { GRANT_JOBS } = await import('../../src/jobs/grants.js');
    await db.close();
    const h = await startHarness();
    try {
      const { services, scheduler } = h;
      const agent = await activeAgent(h);
      const expiresAt = new Date(Date.now() + 500);
      await services.grants.insertMany([
        grantRecord(agent.id, 'kb:read', {
          id: asGrantId('grt_retry'),
          reason: 'retry test',
          startsAt: new Date(Date.now() - 3_600_000).toISOString(),
          expiresAt: expiresAt.toISOString(),
        }),
      ]);
      // The injected fault: the grant store refuses the first expiry write, as during a database blip.
      const transition = services.grants.transition.bind(services.grants);
      let faults = 0;
      services.grants.transition = (async (...args: Parameters<typeof transition>) => {
        if (args[0] === 'grt_retry' && faults === 0) {
          faults += 1;
          throw new Error('injected: grant store unavailable');
        }
        return transition(...args);
      }) as typeof services.grants.transition;
      const failures: string[] = [];
      // Agenda resets the stored failCount to 0 once the retry succeeds, so it is read as the failure left it.
      const failCounts: Array<number | undefined> = [];
      scheduler.agenda.on(`fail:${GRANT_JOBS.expire}`, (error: Error, job: { attrs: { failCount?: number } }) => {
        failures.push(error.message);
        failCounts.push(job.attrs.failCount);
      });
      await scheduler.agenda.schedule(expiresAt, GRANT_JOBS.expire, { grantId: 'grt_retry' });

      await eventually(async () => (await services.grants.get(asGrantId('grt_retry')))?.status === 'expired', 30_000);
      expect(faults).toBe(1);
      expect(failures).toEqual(['injected: grant store unavailable']);
      const job = await h.db.connection.collection('agendaJobs').findOne({ name: GRANT_JOBS.expire, 'data.grantId': 'grt_retry' });
      expect(failCounts).toEqual([1]);
      expect(job?.lastFinishedAt).toBeInstanceOf(Date);
      // The retry did the work, not the safety sweep, and the audit entry exists once.
      const audited = await eventually(async () => {
        const entries = (await services.audit.export()).filter((e) => e.action === 'grant.expired' && e.subject.id === 'grt_retry');
        return entries.length > 0 && entries;
      });
      await services.outbox.drain();
      const entries = (await services.audit.export()).filter((e) => e.action === 'grant.expired' && e.subject.id === 'grt_retry');
      expect(entries).toHaveLength(1);
      expect(audited).toHaveLength(1);
      expect(entries[0]!.details.caughtBy).toBeUndefined();
      expect(await services.audit.verify()).toMatchObject({ ok: true });
      // Reminders, review deadlines (their revocations are not covered by the sweep) and hand-off timers retry the same way.
      const definitions = (scheduler.agenda as unknown as { definitions: Record<string, { backoff?: unknown }> }).definitions;
      for (const name of [GRANT_JOBS.expire, GRANT_JOBS.remind, GRANT_JOBS.reviewDue, 'handoffs.timer'])
        expect([name, typeof definitions[name]?.backoff]).toEqual([name, 'function']);
    } finally {
      await h.close();
      db = await openTestDb();
    }
  });
});
