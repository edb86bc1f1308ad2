import { createQuietHours, QUIET_HOURS_JOB, quietHoursJob } from '../../src/jobs/quiet-hours.js';
import { createScheduler } from '../../src/jobs/scheduler.js';
import { connectTestDb, openTestDb, type TestDb } from '../helpers/db.js';
import { eventually } from '../helpers/harness.js';
import { silentLogger } from '../helpers/logger.js';

/*
 * Effects held for working hours are Agenda jobs, one per effect id. A sweep holds one review
 * card per agent and hands them over in one write (deferMany): those jobs must be exactly the
 * jobs Agenda's own save() stores, and Agenda must run them.
 */

const HOURS = { start: '09:00', end: '17:00', days: ['mon' as const] };

describe('QuietHours: effects held for working hours as Agenda jobs', () => {
  let db: TestDb;
  beforeEach(async () => {
    db = await openTestDb();
  });
  afterEach(async () => {
    await db.close();
  });

  const quietHoursOn = (scheduler: ReturnType<typeof createScheduler>) =>
    createQuietHours(scheduler.agenda, { hours: HOURS, zoneOf: async () => 'UTC', clock: () => new Date() });
  const jobs = () => db.connection.collection('agendaJobs');
  /** A stored job without what differs between any two jobs (its id). */
  const comparable = (doc: Record<string, unknown> | null) => {
    const { _id, ...rest } = doc ?? {};
    void _id;
    return rest;
  };

  it('stores the same job in bulk as save() does, once per effect id however often it is deferred', async () => {
    // Agenda on a connection of its own whose writes to the jobs are counted.
    const monitored = await connectTestDb(db.dbName, { monitorCommands: true });
    const writes: string[] = [];
    monitored.getClient().on('commandStarted', (e) => {
      if ((e.commandName === 'update' || e.commandName === 'findAndModify') && e.command[e.commandName] === 'agendaJobs')
        writes.push(e.commandName);
    });
    try {
      const scheduler = createScheduler({ connection: monitored, log: silentLogger(), processEvery: 60_000 });
      const quiet = quietHoursOn(scheduler);
      const at = new Date(Date.now() + 3 * 86_400_000);
      const data = (n: number) => ({ to: 'tom.becker@brightwater.example', card: { kind: 'checkin', data: { n } }, quiet: false });
      await quiet.deferMany!([
        { at, type: 'chat.send', effectId: 'fx_two', data: data(2) },
        { at, type: 'chat.send', effectId: 'fx_three', data: data(3) },
      ]);
      // Two jobs in one write; save() writes one job per command.
      expect(writes).toEqual(['update']);
      await quiet.defer(at, 'chat.send', 'fx_one', data(1));
      expect(writes).toEqual(['update', 'findAndModify']);
      // Deferred again (a sweep redone after a crash): neither kind of write adds or changes a job.
      await quiet.deferMany!([
        { at: new Date(at.getTime() + 60_000), type: 'chat.send', effectId: 'fx_one', data: data(9) },
        { at: new Date(at.getTime() + 60_000), type: 'chat.send', effectId: 'fx_two', data: data(9) },
      ]);
      await quiet.defer(new Date(at.getTime() + 60_000), 'chat.send', 'fx_three', data(9));

      expect(await jobs().countDocuments({ name: QUIET_HOURS_JOB })).toBe(3);
      const one = comparable(await jobs().findOne({ 'data.effectId': 'fx_one' }));
      const two = comparable(await jobs().findOne({ 'data.effectId': 'fx_two' }));
      expect(two).toEqual({ ...one, data: { type: 'chat.send', effectId: 'fx_two', data: data(2) } });
      expect(one).toMatchObject({ name: QUIET_HOURS_JOB, nextRunAt: at, data: { effectId: 'fx_one', data: data(1) } });
      expect(comparable(await jobs().findOne({ 'data.effectId': 'fx_three' }))).toMatchObject({ nextRunAt: at, data: { data: data(3) } });
    } finally {
      await monitored.close();
    }
  });

  it('runs a job stored in bulk when its time comes, performing the held effect through the outbox', async () => {
    const scheduler = createScheduler({ connection: db.connection, log: silentLogger(), processEvery: 200, lockLifetimeMs: 2000 });
    const performed: Array<{ type: string; effectId: string; data: unknown }> = [];
    await quietHoursJob.define(scheduler.agenda, {
      outbox: {
        performNow: async (type, effectId, data) => {
          performed.push({ type, effectId, data });
        },
      },
    });
    const quiet = quietHoursOn(scheduler);
    await scheduler.start();
    try {
      await quiet.deferMany!([
        {
          at: new Date(Date.now() + 300),
          type: 'chat.send',
          effectId: 'fx_soon',
          data: { to: 'tom.becker@brightwater.example', quiet: false },
        },
      ]);
      await eventually(() => performed.length === 1, 20_000);
      expect(performed).toEqual([{ type: 'chat.send', effectId: 'fx_soon', data: { to: 'tom.becker@brightwater.example', quiet: false } }]);
    } finally {
      await scheduler.stop();
    }
  });
});
