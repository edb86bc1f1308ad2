import { SlackDeliveries } from '../../../src/channels/slack/deliveries.js';
import { DatabaseUnavailableError } from '../../../src/store/database.js';
import { openTestDb, type TestDb } from '../../helpers/db.js';
import { eventually } from '../../helpers/harness.js';

/** Keeps the event loop busy for `ms`, as a loaded Roster does: timers and I/O wait meanwhile. */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy on purpose
  }
}

describe('Slack delivery keys (unique key on the embedded database)', () => {
  let db: TestDb;
  let deliveries: SlackDeliveries;

  beforeAll(async () => {
    db = await openTestDb('deliveries');
    deliveries = new SlackDeliveries(db.connection);
  });
  afterAll(async () => {
    await db.close();
  });

  it('a delivery seen twice is first once', async () => {
    expect(await deliveries.first('key-once')).toBe(true);
    expect(await deliveries.first('key-once')).toBe(false);
  });

  it('once acknowledged, a delivery waits for a database slowed by load instead of being refused', async () => {
    // Many keys at once with a 100 ms time-out: the server answers them one after another, many
    // later than that. Already acknowledged (patience 20 s), each is waited for while others are answered.
    await Promise.all(Array.from({ length: 50 }, (_, i) => deliveries.first(`key-warm-${i}`, 10_000)));
    const keys = Array.from({ length: 600 }, (_, i) => `key-load-${i}`);
    const outcomes = await Promise.allSettled(keys.map((key) => deliveries.first(key, 100, 20_000)));
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    expect(outcomes.every((o) => o.status === 'fulfilled' && o.value)).toBe(true);
    // Not yet acknowledged (no patience), a load like it is refused in time: Slack needs its answer.
    const hurried = await Promise.allSettled(keys.map((key) => deliveries.first(`${key}-hurried`, 1)));
    expect(hurried.some((o) => o.status === 'rejected' && o.reason instanceof DatabaseUnavailableError)).toBe(true);
  });

  it('a delivery refused because the database answered late leaves no key behind: sent again, it is handled', async () => {
    // The insert is sent, then the loop stalls past the deadline (as under 50 clicks in flight):
    // the deadline fires before the answer can be read, so the delivery is refused, while the
    // insert itself still lands on the server.
    const refused = deliveries.first('key-late', 1);
    stall(50);
    await expect(refused).rejects.toBeInstanceOf(DatabaseUnavailableError);
    // The person was told nothing was done; the same delivery again must be handled, not dropped as a duplicate.
    // Sent again with a deadline a loaded machine meets (the 2 s default ran out once in CI).
    expect(await eventually(async () => (await deliveries.first('key-late', 10_000)) || undefined, 20_000)).toBe(true);
    expect(await deliveries.first('key-late', 10_000)).toBe(false);
  });
});
