import { createHash } from 'node:crypto';
import { Schema, type Connection } from 'mongoose';
import { answerWithin, DatabaseUnavailableError } from '../../store/database.js';

/** How many answers each database client has had, whatever the command: a database slow but alive goes on answering. */
const answersByClient = new WeakMap<object, { count: number }>();

/** The count of answers to `connection`'s client, counted from the first time it is asked for. */
function answersOf(connection: Connection): { count: number } {
  const client = connection.getClient();
  const known = answersByClient.get(client);
  if (known) return known;
  const answers = { count: 0 };
  // The driver checks a connection back into its pool once the database has answered the command it carried.
  client.on('connectionCheckedIn', () => (answers.count += 1));
  answersByClient.set(client, answers);
  return answers;
}

/**
 * Remembers which Slack deliveries were handled, so a retried delivery (Slack resends the same
 * payload when an ack was slow) is acknowledged and dropped instead of acting twice. A unique
 * key makes the first writer win even across Roster replicas; old keys are purged by a job.
 */
export class SlackDeliveries {
  private readonly model;

  constructor(connection: Connection) {
    const schema = new Schema({ _id: String, at: Date }, { collection: 'slack_deliveries', versionKey: false });
    schema.index({ at: 1 });
    this.model = connection.models.SlackDelivery ?? connection.model('SlackDelivery', schema);
  }

  /**
   * How long storing the key of a delivery Slack already has its acknowledgement for may take
   * while the database keeps answering this process's other commands (a database slowed by load:
   * seconds with 50 clicks in flight, or a sweep's writes). Nothing waits on it but the person's
   * result; a database that answers nothing (down, or hung) is still given up on after the usual time-out.
   */
  static readonly ACKNOWLEDGED_PATIENCE_MS = 10_000;

  /** The identity of a delivery: Slack's own ids where it gives them, else a digest of the payload. */
  static keyOf(body: Record<string, unknown>): string {
    const id = body.event_id ?? body.trigger_id ?? (body.container as { message_ts?: string } | undefined)?.message_ts;
    const action = (body.actions as Array<{ action_ts?: string }> | undefined)?.[0]?.action_ts;
    const seed = typeof id === 'string' ? `${String(body.type ?? 'command')}:${id}:${action ?? ''}` : JSON.stringify(body);
    return createHash('sha256').update(seed).digest('hex');
  }

  /**
   * True the first time a key is seen, false for a repeat. Rejects with DatabaseUnavailableError
   * when the database is down or does not answer within `timeoutMs` (a delivery not yet
   * acknowledged must be within Slack's three seconds). With `patienceMs` longer than that (a
   * delivery already acknowledged: {@link SlackDeliveries.ACKNOWLEDGED_PATIENCE_MS}), the insert
   * is waited for up to `patienceMs` as long as the database has answered other commands of this
   * process (other keys, or any other work) since this one was sent: slow under load is not down.
   * A delivery refused was not handled: its key, should the slow insert land after all, is
   * removed again, so that the same delivery sent again is handled rather than dropped as a duplicate.
   */
  async first(key: string, timeoutMs = 2000, patienceMs = timeoutMs): Promise<boolean> {
    const sentAt = Date.now();
    const answers = answersOf(this.model.db);
    const answersBefore = answers.count;
    let refused = false;
    let settled = false;
    const running = (async () => {
      try {
        await this.model.collection.insertOne({ _id: key as never, at: new Date() });
      } catch (err) {
        if ((err as { code?: number }).code !== 11000)
          throw new DatabaseUnavailableError(err instanceof Error ? err.message : String(err), { cause: err });
        return false;
      } finally {
        settled = true;
      }
      // Only this call's own late insert is removed (a duplicate never gets here); if the removal
      // fails too, the purge job removes the key with the other old ones.
      if (refused) await this.model.collection.deleteOne({ _id: key as never }).catch(() => undefined);
      return true;
    })();
    for (;;) {
      try {
        return await answerWithin(this.model.db, timeoutMs, () => running);
      } catch (err) {
        // A loop stalled past the deadline runs the timer before reading answers that came meanwhile.
        await new Promise((resolve) => setImmediate(resolve));
        if (settled) return running;
        // Slow, not down: the connection is open and the database answered something since this insert was sent.
        const alive = this.model.db.readyState === 1 && answers.count > answersBefore;
        if (!alive || Date.now() - sentAt + timeoutMs > patienceMs) {
          refused = true;
          running.catch(() => undefined);
          throw err;
        }
      }
    }
  }

  /**
   * Resolves once the keys' collection and index exist. On the embedded server an index build is
   * not atomic with a concurrent first insert into the same collection, which then fails with
   * "Unknown error: null": a delivery arriving as Roster starts would be refused.
   */
  async ensureIndexes(): Promise<void> {
    await this.model.init();
  }

  async purgeOlderThan(date: Date): Promise<number> {
    const result = await this.model.collection.deleteMany({ at: { $lt: date } });
    return result.deletedCount;
  }
}

/**
 * The delivery keys this process saw lately, checked before anything else: a retry Slack sends to
 * the same replica is dropped without a database round trip, and among deliveries arriving at
 * once only the first goes on (the check and the insert are one synchronous step). Another
 * replica's deliveries are caught by {@link SlackDeliveries.first}, written right after the ack.
 * Bounded in size and age: Slack retries within minutes (its last retry comes about 5 minutes
 * after the first delivery), and the unique key covers anything older.
 */
export class RecentDeliveries {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly maxKeys = 10_000,
    private readonly maxAgeMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True the first time `key` is seen within the window (and remembers it), false for a repeat. */
  add(key: string): boolean {
    const now = this.now();
    const at = this.seen.get(key);
    if (at !== undefined && now - at < this.maxAgeMs) return false;
    this.seen.delete(key);
    this.seen.set(key, now);
    // A Map iterates in insertion order: the oldest keys go first.
    for (const [old, when] of this.seen) {
      if (this.seen.size <= this.maxKeys && now - when < this.maxAgeMs) break;
      this.seen.delete(old);
    }
    return true;
  }

  /** Forgets a key, so that a delivery that could not be recorded (the database was down) may be retried. */
  forget(key: string): void {
    this.seen.delete(key);
  }
}
