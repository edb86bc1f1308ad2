import type { OrgConfig } from '../config/schemas.js';
import { peopleWithRole } from '../config/directory.js';
import { CHAT_SEND_EFFECT, type ChatSend } from './chat-effects.js';
import type { OutgoingCard } from './notifications.js';
import type { Outbox } from './outbox.js';
import type { HolderRef, PendingEffect } from './ports.js';

/*
 * A checkpoint job that fails says so in chat, to every IT admin, once per cause. The job runs
 * every 15 minutes and would otherwise only log the same failure each time, where nobody looks.
 * The current cause is one stored document (unique by its id); the notice goes out through the
 * outbox in the same atomic update that stores the cause, so a crash neither loses nor repeats it.
 * When the job succeeds again, IT hears that too, once, and a later failure is news again.
 *
 * Runs can overlap: Agenda gives a run's lock to a new run once it has been held longer than the
 * lock lifetime (it then forgets the old run, which goes on), and replicas race. So each run is
 * numbered when it begins, before it reads the key, and only the latest-begun run that has told
 * its outcome counts: a slow run that read the key before it went away and ends after a later run
 * failed does not tell IT "signed again" (nor a slow failing run "cannot be signed" after a later
 * run signed).
 */

/** The outbox holder kind of the checkpoint job's state. */
export const CHECKPOINT_HEALTH_HOLDER = 'audit-checkpoint-health';

/** Why the checkpoint job failed: `cause` identifies it (the same cause is told once), `lines` explain it. */
export interface CheckpointFailure {
  cause: string;
  /** What is wrong, as the person reading the notice needs it. */
  title: string;
  lines: string[];
  /** What to do about it. */
  action: string;
}

/** The stored state of the checkpoint job: the failure IT was last told about, if any. */
export interface CheckpointHealthRepository {
  /** The holder whose outbox carries the notices. */
  readonly holder: HolderRef;
  /** Numbers a run of the job as it begins: a run begun later (on any replica) has a larger number. */
  begin(): Promise<number>;
  /**
   * Stores `cause` as the current failure with `effects` in one atomic update, unless it is already
   * the current failure or a run begun after `run` has stored its outcome: true when stored (the
   * notice is news), false otherwise. Either way `run` is recorded as the latest outcome, if it is.
   */
  fail(cause: string, at: Date, effects: readonly PendingEffect[], run: number): Promise<boolean>;
  /**
   * Clears the current failure with `effects`, unless a run begun after `run` has stored its outcome:
   * the cause cleared, or undefined when there was none (or it is not this run's to clear).
   */
  recover(effects: readonly PendingEffect[], run: number): Promise<string | undefined>;
}

export interface CheckpointAlarmDeps {
  org: OrgConfig;
  outbox: Outbox;
  repo: CheckpointHealthRepository;
  /** What IT admins are told (src/views/operator-notices.ts). */
  cards: CheckpointAlarmCards;
  clock: () => Date;
}

/** Presenter port: the IT admins' notices about the checkpoint job. */
export interface CheckpointAlarmCards {
  failed(failure: CheckpointFailure): OutgoingCard;
  recovered(): OutgoingCard;
}

/** What one run of the checkpoint job tells IT admins: its outcome, unless a later run told its own. */
export interface CheckpointRunAlarm {
  /** Raises `failure` unless it is the failure IT was last told about; true when a notice went out. */
  failed(failure: CheckpointFailure): Promise<boolean>;
  /** After a successful run: tells IT the failure it heard about is over; true when a notice went out. */
  succeeded(): Promise<boolean>;
}

/** Tells IT admins in chat when the checkpoint job fails, once per cause, and when it recovers. */
export class CheckpointAlarm {
  constructor(private readonly deps: CheckpointAlarmDeps) {}

  /** Called as a run begins, before it reads the key: what that run tells IT goes through the answer. */
  async begin(): Promise<CheckpointRunAlarm> {
    const run = await this.deps.repo.begin();
    return {
      failed: async (failure) => {
        const effects = this.notices(this.deps.cards.failed(failure));
        const stored = await this.deps.repo.fail(failure.cause, this.deps.clock(), effects, run);
        if (stored) await this.deps.outbox.settle(this.deps.repo.holder, effects, 'audit-checkpoint.failed');
        return stored;
      },
      succeeded: async () => {
        const effects = this.notices(this.deps.cards.recovered());
        const cleared = await this.deps.repo.recover(effects, run);
        if (cleared !== undefined) await this.deps.outbox.settle(this.deps.repo.holder, effects, 'audit-checkpoint.recovered');
        return cleared !== undefined;
      },
    };
  }

  private notices(card: OutgoingCard): PendingEffect<ChatSend>[] {
    return peopleWithRole(this.deps.org, 'it-admin').map((admin) =>
      this.deps.outbox.effect<ChatSend>(CHAT_SEND_EFFECT, { to: admin.email, card }),
    );
  }
}
