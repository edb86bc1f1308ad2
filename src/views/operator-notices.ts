import type { CardOf } from '../cards/view-models.js';
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
