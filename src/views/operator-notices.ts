import type { CardOf } from '../cards/view-models.js';
import type { CheckpointAlarmCards, CheckpointFailure } from '../core/audit-checkpoint-alarm.js';
import type { DueEffect } from '../core/ports.js';
import { noticeCard } from './card-builders.js';

/** What IT admins are told when an effect reached the retry limit and is parked, with the command that retries it. */
export function parkedEffectCard({ holder, effect }: DueEffect): CardOf<'notice'> {
  return noticeCard({
    level: 'error',
    title: 'An effect keeps failing',
    text: `Roster could not perform "${effect.type}" for ${holder.kind} ${holder.id} after ${effect.attempts} attempts (last: ${effect.lastError ?? 'unknown'}). It is parked: nothing else of this kind for that ${holder.kind} happens until it is retried. Once the cause is fixed, run: roster outbox retry ${effect.id}`,
  });
}

/** What IT admins are told when the audit checkpoint job fails: what is wrong and what to do. */
export function checkpointFailedCard(failure: CheckpointFailure): CardOf<'notice'> {
  return noticeCard({ level: 'error', title: failure.title, text: [...failure.lines, failure.action].join('\n') });
}

/** What IT admins are told when the checkpoint job succeeds again after a failure they heard about. */
export function checkpointRecoveredCard(): CardOf<'notice'> {
  return noticeCard({
    level: 'success',
    title: 'Audit checkpoints are signed again',
    text: 'The audit checkpoint job ran successfully: the audit trail is signed again on its schedule. Run roster audit verify to confirm it end to end.',
  });
}

/** The core's {@link CheckpointAlarmCards} port. */
export const checkpointAlarmCards: CheckpointAlarmCards = { failed: checkpointFailedCard, recovered: checkpointRecoveredCard };
