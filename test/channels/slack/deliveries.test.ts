import type { Connection } from 'mongoose';
import { SlackDeliveries } from '../../../src/channels/slack/deliveries.js';
import { DatabaseUnavailableError } from '../../../src/store/database.js';
import { connectTestDb, openTestDb, uniqueDbName, type TestDb } from '../../helpers/db.js';
import { DbProxy } from '../../helpers/db-proxy.js';
import { eventually } from '../../helpers/harness.js';

describe('Slack delivery keys (unique key on the embedded database)', () => {
  let db: TestDb;
  let deliveries: SlackDeliveries;
  /** The same database through a proxy that holds chosen answers (as a database slowed by load). */
  let proxy: DbProxy;
  let proxied: Connection;
  let slowed: SlackDeliveries;

  beforeAll(async () => {
    db = await openTestDb('deliveries');
    deliveries = new SlackDeliveries(db.connection);
    proxy = await DbProxy.start();
    proxied = await connectTestDb(db.dbName, {}, proxy.uri);
    slowed = new SlackDeliveries(proxied);
    // As Roster starts: the keys' index exists before the first delivery.
    await Promise.all([deliveries.ensureIndexes(), slowed.ensureIndexes()]);
  });
  afterAll(async () => {
    await proxied.close();
    await proxy.close();
    await db.close();
  });

  it('waits for its index to be built before the first delivery (Slack start-up awaits it)', async () => {
    const connection = await connectTestDb(uniqueDbName('deliveries-start'), {}, proxy.uri);
    try {
      const build = proxy.hold('createIndexes');
      let ready = false;
      const ensured = new SlackDeliveries(connection).ensureIndexes().then(() => (ready = true));
      await build.arrived;
      await new Promise((resolve) => setImmediate(resolve));
      expect(ready).toBe(false);
      build.release();
      await ensured;
      const indexes = await connection.collection('slack_deliveries').indexes();
      expect(indexes.map((i) => i.key)).toEqual(expect.arrayContaining([{ _id: 1 }, { at: 1 }]));
    } finally {
      await connection.dropDatabase();
      await connection.close();
    }
  });

  it('a delivery seen twice is first once', async () => {
    // With a deadline a loaded machine meets (the 2 s default is for a delivery not yet acknowledged).
    expect(await deliveries.first('key-once', 10_000)).toBe(true);
    expect(await deliveries.first('key-once', 10_000)).toBe(false);
  });

  it('once acknowledged, a delivery waits for a database slowed by load instead of being refused', async () => {
    // Under load the database answers keys one after another, some later than their time-out while
    // it goes on answering others. The proxy makes it so whatever the machine's load: the answer to
    // `key-slow` comes after its time-out, and `key-other` is answered after `key-slow` was sent.
    // (Left to load alone, the first answer of a burst can come later than a 100 ms time-out, as it
    // did in CI: a database that answered nothing in time, rightly refused.)
    const timeoutMs = 2000;
    const other = proxy.hold('key-other');
    const otherOutcome = slowed.first('key-other', 10_000);
    await other.arrived;
    const slow = proxy.hold('key-slow');
    const slowOutcome = slowed.first('key-slow', timeoutMs, 20_000);
    const sentAt = Date.now();
    other.release();
    await slow.arrived;
    await eventually(() => Date.now() - sentAt > 1.5 * timeoutMs, 10_000);
    slow.release();
    const outcomes = await Promise.allSettled([slowOutcome, otherOutcome]);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    expect(outcomes.every((o) => o.status === 'fulfilled' && o.value)).toBe(true);
    // Not yet acknowledged (no patience), a late answer is refused in time: Slack needs its answer.
    const late = proxy.hold('key-hurried');
    const hurried = await Promise.allSettled([slowed.first('key-hurried', 100)]);
    late.release();
    expect(hurried.some((o) => o.status === 'rejected' && o.reason instanceof DatabaseUnavailableError)).toBe(true);
    // Its key, landed after all, is removed again (before the next test counts answers).
    await late.arrived;
    await eventually(
      async () => (await db.connection.collection('slack_deliveries').countDocuments({ _id: 'key-hurried' as never })) === 0,
    );
  });

  it('once acknowledged, a delivery alone waits while the database answers the rest of Roster slowly', async () => {
    // One click, its key answered 1.5 time-outs late, while the database answers other work of the
    // process (a read of another collection here; a sweep's writes in production) since the key was sent.
    const timeoutMs = 2000;
    const held = proxy.hold('key-alone');
    const outcome = slowed.first('key-alone', timeoutMs, 20_000);
    const sentAt = Date.now();
    await held.arrived;
    await proxied.collection('other_work').findOne({});
    await eventually(() => Date.now() - sentAt > 1.5 * timeoutMs, 10_000);
    held.release();
    await expect(outcome).resolves.toBe(true);
  });

  it('once acknowledged, a delivery is still refused after its time-out when the database answers nothing', async () => {
    const held = proxy.hold('key-unanswered');
    const sentAt = Date.now();
    await expect(slowed.first('key-unanswered', 500, 20_000)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    // Refused at its time-out, not after the 20 s patience.
    expect(Date.now() - sentAt).toBeLessThan(10_000);
    held.release();
    await held.arrived;
    await eventually(
      async () => (await db.connection.collection('slack_deliveries').countDocuments({ _id: 'key-unanswered' as never })) === 0,
    );
  });

  it('a delivery refused because the database answered late leaves no key behind: sent again, it is handled', async () => {
    // The insert lands on the server but its answer comes after the deadline (held by the proxy:
    // a loop stalled past the deadline, as under 50 clicks in flight, read it in time whenever the
    // answer had already come, so a stall alone did not make it late on a loaded machine).
    const late = proxy.hold('key-late');
    const refused = slowed.first('key-late', 100);
    await expect(refused).rejects.toBeInstanceOf(DatabaseUnavailableError);
    late.release();
    // The person was told nothing was done; the same delivery again must be handled, not dropped as a duplicate.
    // Sent again with a deadline a loaded machine meets (the 2 s default ran out once in CI).
    expect(await eventually(async () => (await deliveries.first('key-late', 10_000)) || undefined, 20_000)).toBe(true);
    expect(await deliveries.first('key-late', 10_000)).toBe(false);
  });
});
