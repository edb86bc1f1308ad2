import { exponential, type Agenda, type Job as AgendaJob } from 'agenda';
import type { mongo } from 'mongoose';
import type { Outbox, QuietHours } from '../core/outbox.js';
import { nextWorkingTime, type WorkingHours } from '../core/time.js';
import type { Job } from './job.js';

/** The Agenda job that performs an effect held back until its recipient's working hours. */
export const QUIET_HOURS_JOB = 'chat.working-hours';

interface HeldEffect {
  type: string;
  effectId: string;
  data: unknown;
}

/**
 * Working hours for reminders that can wait: an effect marked `quiet` for someone outside their
 * working hours (in their own zone) is stored as an Agenda job at the start of their next window,
 * once per effect id, so it survives restarts; {@link quietHoursJob} performs it then through the
 * outbox's performer, whose delivery record keeps it from being sent twice.
 */
export function createQuietHours(
  agenda: Agenda,
  deps: { hours: WorkingHours; zoneOf: (email: string) => Promise<string>; clock: () => Date },
): QuietHours {
  return {
    async until(to) {
      const now = deps.clock();
      const at = nextWorkingTime(now, await deps.zoneOf(to), deps.hours);
      return at.getTime() > now.getTime() ? at : undefined;
    },
    async defer(at, type, effectId, data) {
      await heldJob(agenda, at, type, effectId, data).save();
    },
    async deferMany(items) {
      if (items.length === 0) return;
      // Agenda's backend names its collection once connected.
      await agenda.ready;
      const collection = (agenda.db as { collection?: mongo.Collection }).collection;
      // Agenda's own save, one command per job, where the jobs are not in a MongoDB collection of
      // ours or Agenda announces each new job on a notification channel.
      if (!collection || agenda.hasNotificationChannel()) {
        for (const { at, type, effectId, data } of items) await heldJob(agenda, at, type, effectId, data).save();
        return;
      }
      await collection.bulkWrite(
        items.map(({ at, type, effectId, data }) => ({
          updateOne: {
            filter: { 'data.effectId': effectId, name: QUIET_HOURS_JOB },
            update: { $setOnInsert: storedJob(agenda, heldJob(agenda, at, type, effectId, data)) },
            upsert: true,
          },
        })),
        { ordered: false },
      );
    },
  };
}

/** The Agenda job of one held effect: one per effect id (a second one for the same effect is not stored). */
function heldJob(agenda: Agenda, at: Date, type: string, effectId: string, data: unknown): AgendaJob {
  return agenda
    .create(QUIET_HOURS_JOB, { type, effectId, data } satisfies HeldEffect)
    .unique({ 'data.effectId': effectId }, { insertOnly: true })
    .schedule(at);
}

/** Fields Agenda's MongoDB backend stores as null when a job has none (MongoJobRepository.saveJob). */
const NULLED = [
  'lockedAt',
  'lastFinishedAt',
  'failedAt',
  'failCount',
  'failReason',
  'repeatTimezone',
  'lastRunAt',
  'repeatInterval',
  'repeatAt',
  'disabled',
  'progress',
  'debounceStartedAt',
  'fork',
  'startDate',
  'endDate',
  'skipDays',
] as const;

/**
 * The document Agenda's MongoDB backend inserts for a new unique, insert-only job (its `saveJob`),
 * so that a job written in bulk is the same as one `save()` wrote (test/jobs/quiet-hours.test.ts
 * compares the two).
 */
function storedJob(agenda: Agenda, job: AgendaJob): mongo.Document {
  const { _id, unique, uniqueOpts, ...props } = job.toJson(true) as unknown as Record<string, unknown>;
  void _id;
  void unique;
  void uniqueOpts;
  const doc: mongo.Document = { ...props };
  for (const key of NULLED) doc[key] = props[key] ?? null;
  doc.lastModifiedBy = agenda.attrs.name || null;
  return doc;
}

/** An effect held back until its recipient's working hours, performed when they start. */
export const quietHoursJob: Job<{ outbox: Pick<Outbox, 'performNow'> }> = {
  name: QUIET_HOURS_JOB,
  runs: 'performs one effect held back for working hours (a reminder that can wait)',
  when: "on demand: scheduled by the outbox (createQuietHours) at the start of the recipient's next working hours",
  async define(agenda, { outbox }) {
    agenda.define(
      QUIET_HOURS_JOB,
      async (job) => {
        const { type, effectId, data } = job.attrs.data as HeldEffect;
        await outbox.performNow(type, effectId, data, (job.attrs.failCount ?? 0) + 1);
      },
      { backoff: exponential({ delay: 1000, maxRetries: 8 }) },
    );
  },
};
