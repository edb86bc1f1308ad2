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

  it('a delivery refused because the database answered late leaves no key behind: sent again, it is handled', async () => {
    // The insert is sent, then the loop stalls past the deadline (as under 50 clicks in flight):
    // the deadline fires before the answer can be read, so the delivery is refused, while the
    // insert itself still lands on the server.
    const refused = deliveries.first('key-late', 1);
    stall(50);
    await expect(refused).rejects.toBeInstanceOf(DatabaseUnavailableError);
    // The person was told nothing was done; the same delivery again must be handled, not dropped as a duplicate.
    expect(await eventually(async () => (await deliveries.first('key-late')) || undefined, 20_000)).toBe(true);
    expect(await deliveries.first('key-late')).toBe(false);
  });
});
