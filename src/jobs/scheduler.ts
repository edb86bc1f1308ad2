import { Agenda } from 'agenda';
import { MongoBackend, type MongoBackendConfig } from '@agendajs/mongo-backend';
import type { Connection } from 'mongoose';
import type { Logger } from '../logger.js';

export interface SchedulerSettings {
  connection: Connection;
  log: Logger;
  /** How often Agenda polls for due jobs; the embedded server has no change streams. */
  processEvery?: string | number;
  /**
   * How long a running job keeps its lock. Agenda re-checks a running job after half of it and
   * keeps that timer even when the job is done, so tests use a short one to exit promptly.
   */
  lockLifetimeMs?: number;
  /** Name recorded on locked jobs, to tell Roster replicas apart. */
  name?: string;
  /** How long stop() waits for running jobs before giving up on them (their locks then expire). */
  stopTimeoutMs?: number;
}

export interface Scheduler {
  readonly agenda: Agenda;
  /** True between a successful start() and stop(). */
  isRunning(): boolean;
  start(): Promise<void>;
  /** Stops picking up jobs and waits for running ones to unlock; does not close the connection. */
  stop(): Promise<void>;
}

/**
 * Indexes for the look-ups Roster adds to Agenda's own: a one-off job stored once per outbox
 * effect is found by `data.key` (flow, alert, delegation, hand-off and grant timers, directory
 * changes) or `data.effectId` (cards held for working hours) before it is inserted. Without them
 * each such insert scans every job of its name on MongoDB. Partial, so jobs without the field
 * (recurring ones) are not indexed.
 */
export const JOB_INDEXES = [
  { key: { name: 1, 'data.key': 1 }, name: 'roster_job_key', partialFilterExpression: { 'data.key': { $exists: true } } },
  { key: { name: 1, 'data.effectId': 1 }, name: 'roster_job_effect', partialFilterExpression: { 'data.effectId': { $exists: true } } },
] as const;

async function ensureJobIndexes(db: NonNullable<Connection['db']>): Promise<void> {
  await db.collection('agendaJobs').createIndexes(JOB_INDEXES.map((index) => ({ ...index })));
}

/** Agenda 6 on Roster's own database, with failures logged instead of lost. */
export function createScheduler(settings: SchedulerSettings): Scheduler {
  const { connection, log } = settings;
  const db = connection.db;
  if (!db) throw new Error('The scheduler needs an open database connection.');
  const agenda = new Agenda({
    // mongoose bundles its own copy of the driver; the Db it hands over is the same at run time.
    backend: new MongoBackend({
      mongo: db as unknown as Extract<MongoBackendConfig, { mongo: unknown }>['mongo'],
      collection: 'agendaJobs',
    }),
    name: settings.name ?? `roster-${process.pid}`,
    processEvery: settings.processEvery ?? '2 seconds',
    defaultLockLifetime: settings.lockLifetimeMs ?? 5 * 60_000,
  });
  let running = false;
  // Agenda's stop() returns while jobs are still running (they keep their locks); stop() waits for
  // them so the caller can close the connection without cutting a job's writes short.
  const runningJobs = new Set<unknown>();
  let idle: (() => void) | undefined;
  agenda.on('start', (job: unknown) => runningJobs.add(job));
  agenda.on('complete', (job: unknown) => {
    runningJobs.delete(job);
    if (runningJobs.size === 0) idle?.();
  });
  agenda.on('error', (err) => log.error({ err }, 'scheduler error'));
  agenda.on('fail', (err: Error | string, job: { attrs?: { name?: string; _id?: unknown }; jobName?: string }) => {
    log.error({ err, job: job.attrs?.name ?? job.jobName, jobId: String(job.attrs?._id ?? '') }, 'scheduled job failed');
  });
  return {
    agenda,
    isRunning: () => running,
    async start() {
      await agenda.start();
      await ensureJobIndexes(db);
      running = true;
      log.info('scheduler started');
    },
    async stop() {
      if (!running) return;
      running = false;
      // Stops polling and unlocks the jobs it holds but has not started.
      await agenda.stop(false);
      if (runningJobs.size > 0) {
        const waitMs = settings.stopTimeoutMs ?? 30_000;
        let timer: NodeJS.Timeout | undefined;
        const finished = await Promise.race([
          new Promise<boolean>((resolve) => (idle = () => resolve(true))),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), waitMs))),
        ]);
        clearTimeout(timer);
        idle = undefined;
        if (!finished) log.warn({ running: runningJobs.size, waitMs }, 'scheduler stopped with jobs still running');
      }
      log.info('scheduler stopped');
    },
  };
}
