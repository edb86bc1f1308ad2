import { generateKeyPairSync } from 'node:crypto';
import { AuditKeyError, ed25519Signer } from '../../src/config/audit-signing-key.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { CheckpointAlarm, type CheckpointFailure, type CheckpointRunAlarm } from '../../src/core/audit-checkpoint-alarm.js';
import type { AuditCheckpoints } from '../../src/core/audit-checkpoints.js';
import { CHAT_SEND_EFFECT, type ChatSend } from '../../src/core/chat-effects.js';
import { Outbox } from '../../src/core/outbox.js';
import { defineAuditCheckpointJob } from '../../src/jobs/audit-checkpoint.js';
import { createScheduler, type Scheduler } from '../../src/jobs/scheduler.js';
import { createCheckpointHealthStore } from '../../src/store/audit-checkpoint-store.js';
import { OUTBOX_HOLDERS } from '../../src/store/outbox-holders.js';
import { createOutboxRepository } from '../../src/store/outbox-store.js';
import { checkpointAlarmCards } from '../../src/views/operator-notices.js';
import { openTestDb, type TestDb } from '../helpers/db.js';
import { eventually, people, SHIPPED_CONFIG } from '../helpers/harness.js';
import { silentLogger } from '../helpers/logger.js';

/*
 * Checkpoint runs overlap. Agenda gives a run's lock to a new run once it has been held longer than
 * the lock lifetime, and forgets the old run (no longer "running", so `concurrency: 1` does not hold
 * the new one back) while the old run goes on; replicas race too. In CI at load 5-6 a run that had
 * read the key before it went away outlived its 4 s test lock, a later run failed and told IT
 * "cannot be signed", then the old run ended and told IT "signed again" while the key was still
 * away (and the next run "cannot be signed" once more). Only the latest-begun run's outcome counts.
 */

const FAILING_KEY = 'Audit checkpoints cannot be signed: the signing key is unreadable';
const RECOVERED = 'Audit checkpoints are signed again';

const keyAway: CheckpointFailure = {
  cause: 'key:ROSTER_AUDIT_SIGNING_KEY_FILE: cannot read /keys/audit.pem (ENOENT)',
  title: FAILING_KEY,
  lines: ['Roster could not read its audit signing key.'],
  action: 'Restore the key file.',
};

describe('overlapping audit checkpoint runs: IT hears the latest-begun run', () => {
  let db: TestDb;
  let alarm: CheckpointAlarm;
  /** The titles of the notices Liam (an IT admin) received, in order. */
  let toLiam: string[];
  beforeEach(async () => {
    db = await openTestDb('cpoverlap');
    toLiam = [];
    const outbox = new Outbox({ repo: createOutboxRepository(db.connection, OUTBOX_HOLDERS), log: silentLogger() });
    outbox.register<ChatSend>({
      type: CHAT_SEND_EFFECT,
      perform: async ({ to, card }) => {
        if (to === people.liam) toLiam.push(String(card.data.title));
      },
    });
    alarm = new CheckpointAlarm({
      org: loadOrgConfig(SHIPPED_CONFIG),
      outbox,
      repo: createCheckpointHealthStore(db.connection),
      cards: checkpointAlarmCards,
      clock: () => new Date(),
    });
  });
  afterEach(async () => {
    await db.close();
  });

  it('a run that signed ends after a later run failed: no "signed again"; a run that failed ends after a later run signed: no notice', async () => {
    const first = await alarm.begin();
    const second = await alarm.begin();
    expect(await second.failed(keyAway)).toBe(true);
    expect(await first.succeeded()).toBe(false);
    expect(toLiam).toEqual([FAILING_KEY]);

    const third = await alarm.begin();
    const fourth = await alarm.begin();
    expect(await fourth.succeeded()).toBe(true);
    expect(await third.failed(keyAway)).toBe(false);
    expect(toLiam).toEqual([FAILING_KEY, RECOVERED]);

    // In order, as before: the same cause told once, a success after it told once, a failure after that is news.
    const runs: CheckpointRunAlarm[] = [];
    for (let i = 0; i < 4; i += 1) runs.push(await alarm.begin());
    expect(await runs[0]!.failed(keyAway)).toBe(true);
    expect(await runs[1]!.failed(keyAway)).toBe(false);
    expect(await runs[2]!.succeeded()).toBe(true);
    expect(await runs[3]!.failed(keyAway)).toBe(true);
    expect(toLiam).toEqual([FAILING_KEY, RECOVERED, FAILING_KEY, RECOVERED, FAILING_KEY]);
  });

  describe('through the job on Agenda', () => {
    let scheduler: Scheduler | undefined;
    afterEach(async () => {
      await scheduler?.stop();
      scheduler = undefined;
    });

    it('a run that read the key before it went away, still running after its lock expired, does not tell "signed again" after a later run failed', async () => {
      const signer = ed25519Signer(generateKeyPairSync('ed25519').privateKey);
      let away = false;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let held = false;
      // The first run signs (its key read) and is held until a later run has failed; the others answer at once.
      const checkpoints = {
        async checkpoint() {
          if (!held) {
            held = true;
            await gate;
          }
          return { kind: 'empty' as const };
        },
      } as unknown as AuditCheckpoints;
      // Each run's outcome as told, to wait for the held run's end.
      const begun: CheckpointRunAlarm[] = [];
      const succeeded: Array<Promise<boolean>> = [];
      const observed = Object.create(alarm) as CheckpointAlarm;
      observed.begin = async () => {
        const run = await alarm.begin();
        const seen: CheckpointRunAlarm = {
          failed: (failure) => run.failed(failure),
          succeeded: () => {
            const told = run.succeeded();
            succeeded.push(told);
            return told;
          },
        };
        begun.push(seen);
        return seen;
      };

      scheduler = createScheduler({ connection: db.connection, log: silentLogger(), processEvery: 100, lockLifetimeMs: 1000 });
      await defineAuditCheckpointJob(scheduler.agenda, checkpoints, silentLogger(), {
        cadence: '1 second',
        signer: () => {
          if (away) throw new AuditKeyError('ROSTER_AUDIT_SIGNING_KEY_FILE: cannot read /keys/audit.pem (ENOENT)');
          return signer;
        },
        alarm: observed,
      });
      await scheduler.start();
      await eventually(() => held, 30_000);

      away = true;
      await eventually(() => toLiam.length > 0, 30_000);
      expect(toLiam).toEqual([FAILING_KEY]);
      // Agenda began another run while the first still ran: its lock expired.
      expect(begun.length).toBeGreaterThan(1);

      release();
      await eventually(() => succeeded.length > 0, 30_000);
      expect(await succeeded[0]).toBe(false);
      expect(succeeded).toHaveLength(1);
      expect(toLiam).toEqual([FAILING_KEY]);
    }, 90_000);
  });
});
