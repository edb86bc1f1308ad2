import { ensureRecurring } from '../../src/jobs/recurring.js';
import { createScheduler } from '../../src/jobs/scheduler.js';
import { openTestDb, type TestDb } from '../helpers/db.js';
import { eventually, startHarness } from '../helpers/harness.js';
import { silentLogger } from '../helpers/logger.js';

describe('recurring jobs across restarts', () => {
  let db: TestDb;
  beforeEach(async () => {
    db = await openTestDb('recurring');
  });
  afterEach(async () => {
    await db.close();
  });

  const sweepJob = () => db.connection.collection('agendaJobs').findOne({ name: 'retraining.sweep' });

  it('Roster restarted 20 times within one cadence still runs the retraining sweep once, one cadence after the first start', async () => {
    // Long enough for twenty restarts on a loaded machine (each starts Roster whole: about 1 s at load 7 on two cores).
    const cadenceMs = 45_000;
    let harness = await startHarness({ db, retrainingSweepEvery: '45 seconds' });
    const firstStart = Date.now();
    // The restarts are spread over at least five seconds (a restart every 250 ms at the earliest):
    // on a fast machine twenty back-to-back restarts can take less than the drift the old
    // behaviour would show, and the check below would prove nothing.
    for (let i = 0; i < 20; i++) {
      const notBefore = firstStart + (i + 1) * 250;
      while (Date.now() < notBefore) await new Promise((r) => setTimeout(r, notBefore - Date.now()));
      harness = await harness.restart();
    }
    const lastStart = Date.now();
    const restartsTook = lastStart - firstStart;
    // The old behaviour (every start pushing the job a cadence later) would be seen: the restarts took a while.
    expect(restartsTook).toBeGreaterThan(4500);
    expect(restartsTook).toBeLessThan(cadenceMs - 3000);
    const ran = await eventually(async () => {
      const job = await sweepJob();
      return job?.lastFinishedAt ? job : undefined;
    }, cadenceMs + 20_000);
    const ranAt = (ran.lastRunAt as Date).getTime();
    expect(ranAt).toBeGreaterThanOrEqual(firstStart + cadenceMs - 1000);
    // On time: before the earliest the old behaviour could run it (a cadence after the last start),
    // with room for Agenda's 2 s scan and a loaded event loop (a fixed 1.5 s was missed by 2.4 s
    // in a full run at load 4.5).
    expect(ranAt).toBeLessThan(lastStart + cadenceMs);
    // Once: the next run is one cadence after this one.
    expect((ran.nextRunAt as Date).getTime() - ranAt).toBeGreaterThanOrEqual(cadenceMs - 100);
    await harness.close();
  }, 180_000);

  it('a changed cadence takes effect; a cron cadence keeps its time zone', async () => {
    const scheduler = createScheduler({ connection: db.connection, log: silentLogger(), processEvery: 200, lockLifetimeMs: 2000 });
    scheduler.agenda.define('test.recurring', async () => undefined);
    await ensureRecurring(scheduler.agenda, 'test.recurring', '1 hour');
    const first = await db.connection.collection('agendaJobs').findOne({ name: 'test.recurring' });
    await ensureRecurring(scheduler.agenda, 'test.recurring', '1 hour');
    expect((await db.connection.collection('agendaJobs').findOne({ name: 'test.recurring' }))?.nextRunAt).toEqual(first?.nextRunAt);
    await ensureRecurring(scheduler.agenda, 'test.recurring', { cron: '0 3 * * *', timezone: 'Europe/Berlin' });
    const cron = await db.connection.collection('agendaJobs').findOne({ name: 'test.recurring' });
    expect(cron).toMatchObject({ repeatInterval: '0 3 * * *', repeatTimezone: 'Europe/Berlin' });
    const next = new Date(cron!.nextRunAt as Date);
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' }).format(next)).toBe('03:00');
    expect(await db.connection.collection('agendaJobs').countDocuments({ name: 'test.recurring' })).toBe(1);
  });
});
