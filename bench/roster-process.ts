/*
 * Roster alone in its own process for `npm run bench` (started with --expose-gc): the load
 * generator forks it and drives it over IPC. Nothing here is part of Roster: the handlers prepare
 * state through Roster's services, count the commands Roster's own connection sends (in a proxy
 * of the bench's, bench/db-count-process.ts, forked from here: not in this process), wait until
 * its backlog has drained and read its RSS after a full collection.
 * bench/before-outbox-roster-process.patch is the adaptation the before/after-the-outbox
 * measurement of bench/RESULTS.md made to this file as it was at c42eb88, the last harness that
 * runs in a tree of 6cebe71: support.ts has since started Roster through src/compose.ts, which
 * 6cebe71 does not have, so the patch is a record of that run, not a procedure to repeat.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import mongoose from 'mongoose';
import { createSlackChannel } from '../src/channels/slack/index.js';
import { createTeamsChannel } from '../src/channels/teams/index.js';
import type { AgentRecord } from '../src/core/agents.js';
import { WEEKDAYS } from '../src/core/time.js';
import { isBackgroundCommand, monitoredUri } from '../test/helpers/db.js';
import { agentWithTelemetryKey } from '../test/helpers/harness.js';
import { createLogger } from '../src/logger.js';
import { OUTBOX_HOLDERS } from '../src/store/outbox-holders.js';
import { forkBench, serveBench, type BenchProcess } from './ipc.js';
import { benchAgent, org, startBenchRoster, waitingRequests, type BenchRoster } from './support.js';
import { asAgentId, asGrantId, asApprovalId } from '../test/helpers/ids.js';

let roster: BenchRoster | undefined;
/** A connection of the bench's own, so that watching Roster's state is not counted as Roster's work. */
let inspector: mongoose.Connection | undefined;
/** The proxy Roster reaches its database through, counting the commands it sends (see bench/db-count-process.ts). */
let counter: BenchProcess | undefined;
/**
 * BENCH_COUNT_CHECK=1: the driver's command monitoring counts too, as the bench counted before,
 * and `commandKinds` logs any difference from the proxy's count (costs Roster what the proxy saves).
 */
const COUNT_CHECK = process.env.BENCH_COUNT_CHECK === '1';
const driverKinds = new Map<string, number>();
/** Agents listed by `memory`, held so that the RSS read includes them. */
let held: AgentRecord[] | undefined;
/** The profile of one phase under way (see `profileStart`). */
let profiler: Session | undefined;
/** The event-loop delay and garbage collections of one phase under way (see `loopStart`). */
let loop: { delay: IntervalHistogram; gcs: Array<{ kind: number; ms: number }>; observer: PerformanceObserver } | undefined;

const running = (): BenchRoster => {
  if (!roster) throw new Error('Roster is not started');
  return roster;
};

function rssAfterGc(): { rssMb: number; heapUsedMb: number; heapTotalMb: number; externalMb: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
  gc();
  const mem = process.memoryUsage();
  return {
    rssMb: mem.rss / 1024 / 1024,
    heapUsedMb: mem.heapUsed / 1024 / 1024,
    heapTotalMb: mem.heapTotal / 1024 / 1024,
    externalMb: mem.external / 1024 / 1024,
  };
}

/**
 * RSS once the heap pages the last full collections emptied have gone back to the system. V8
 * unmaps them from a background task after the collection, so RSS read at once still counts them
 * (in a 10,000-agent sweep some 110 MB, gone 250 ms later). Read every 250 ms, collecting nothing,
 * until it has not fallen for 2 s (at most 20 s).
 */
async function releasedRss(): Promise<{ releasedRssMb: number; releasedAfterMs: number }> {
  const started = performance.now();
  let low = process.memoryUsage.rss();
  let lowAt = started;
  while (performance.now() - lowAt < 2_000 && performance.now() - started < 20_000) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const rss = process.memoryUsage.rss();
    if (rss < low - 1024 * 1024) lowAt = performance.now();
    low = Math.min(low, rss);
  }
  return { releasedRssMb: low / 1024 / 1024, releasedAfterMs: lowAt - started };
}

/**
 * The highest heap used, RSS and external memory seen since the last sweep started, sampled every 20 ms until
 * `memory` reads them: the sweep's peak, review cards drained through the outbox included.
 */
let peak: { heapMb: number; rssMb: number; externalMb: number; timer: NodeJS.Timeout } | undefined;

function watchPeak(): void {
  if (peak) clearInterval(peak.timer);
  const sample = (): void => {
    const mem = process.memoryUsage();
    if (!peak) return;
    peak.heapMb = Math.max(peak.heapMb, mem.heapUsed / 1024 / 1024);
    peak.rssMb = Math.max(peak.rssMb, mem.rss / 1024 / 1024);
    peak.externalMb = Math.max(peak.externalMb, mem.external / 1024 / 1024);
  };
  peak = { heapMb: 0, rssMb: 0, externalMb: 0, timer: setInterval(sample, 20).unref() };
  sample();
}

function stopPeak(): { peakHeapMb: number; peakRssMb: number; peakExternalMb: number } | undefined {
  if (!peak) return undefined;
  clearInterval(peak.timer);
  const { heapMb, rssMb, externalMb } = peak;
  peak = undefined;
  return { peakHeapMb: heapMb, peakRssMb: rssMb, peakExternalMb: externalMb };
}

const SETTLE_TIMEOUT_MS = Number(process.env.BENCH_SETTLE_TIMEOUT_MS ?? 180_000);

serveBench({
  /** Starts Roster on `dbName`; `chat: false` leaves Slack and Teams out (the agent API bench). */
  async start(uri: string, dbName: string, env: Record<string, string>, options: { chat?: boolean } = {}) {
    // One approver clicks hundreds of times a minute here: the per-person chat limit (30 a minute in
    // the sample organisation) would answer most clicks with "slow down" instead of deciding. The
    // limiter still runs on every click, with room for all of them.
    const limits = org.settings.rateLimits;
    // Roster's own scheduled check-in sweep (every 15 minutes in the sample organisation) must not
    // run beside a measured one: daily here.
    const benchOrg = {
      ...org,
      settings: {
        ...org.settings,
        rateLimits: { ...limits, chat: { ...limits.chat, requests: 1_000_000 } },
        schedules: { ...org.settings.schedules, checkinSweep: '1 day' },
        // Working hours round the clock: reminders and review cards go out at once, so a run at
        // night measures what a run by day does (outside the hours they would be held as jobs).
        workingHours: { start: '00:00', end: '24:00', days: [...WEEKDAYS] },
      },
    };
    counter = await forkBench('db-count-process.ts');
    const counted = await counter.call<string>('start', uri);
    roster = await startBenchRoster(COUNT_CHECK ? monitoredUri(counted) : counted, dbName, env, {
      org: benchOrg,
      // Warnings and errors only (on the bench's console): a click that decides nothing says why.
      log: createLogger({ level: 'warn', pretty: false }),
      channels: options.chat === false ? [] : [createSlackChannel, createTeamsChannel],
    });
    if (COUNT_CHECK)
      roster.db.connection.getClient().on('commandStarted', (e: { commandName: string; command: Record<string, unknown> }) => {
        if (isBackgroundCommand(e)) return;
        const collection = e.command[e.commandName];
        const kind = `${e.commandName} ${typeof collection === 'string' ? collection : ''}`.trim();
        driverKinds.set(kind, (driverKinds.get(kind) ?? 0) + 1);
      });
    inspector = await mongoose.createConnection(uri, { dbName }).asPromise();
    return { baseUrl: roster.baseUrl, pid: process.pid };
  },

  /** Commands Roster sent so far, Agenda's polling of its jobs, the outbox worker's scans and connection upkeep left out. */
  commands: () => counter!.call<number>('commands'),

  /** Commands by kind (`find flow_runs` …) since the last call. */
  async commandKinds() {
    const kinds = await counter!.call<Record<string, number>>('commandKinds');
    if (COUNT_CHECK) {
      const driver = Object.fromEntries(driverKinds);
      driverKinds.clear();
      const differ = [...new Set([...Object.keys(kinds), ...Object.keys(driver)])].filter((k) => kinds[k] !== driver[k]);
      const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
      console.log(
        differ.length === 0
          ? `[count check] proxy and driver monitoring agree: ${total(kinds)} commands`
          : `[count check] proxy ${total(kinds)}, driver monitoring ${total(driver)}: ${differ.map((k) => `${k} ${kinds[k] ?? 0} vs ${driver[k] ?? 0}`).join(', ')}`,
      );
    }
    return kinds;
  },

  waitingRequests: (count: number, prefix: string, concurrency: number) => waitingRequests(running(), count, prefix, concurrency),

  async telemetryAgent(name: string) {
    const { agent, key } = await agentWithTelemetryKey(running().services.agents, benchAgent(name));
    return { id: agent.id, key };
  },

  /** The runs of `runIds` that hold no decision by `by` yet (read on the bench's own connection). */
  async undecided(runIds: string[], by: string) {
    if (runIds.length === 0) return [];
    const runs = await inspector!
      .db!.collection('flow_runs')
      .find({ _id: { $in: runIds as never[] }, 'steps.approvals.decisions.by': { $ne: by } }, { projection: { _id: 1 } })
      .toArray();
    return runs.map((d) => String(d._id));
  },

  /**
   * Waits until Roster's backlog has drained: no effect is due in any outbox, and nothing handed
   * to the outbox or the error-spike checks is queued or running. Resolves when (epoch ms; polled
   * every 50 ms on the bench's own connection).
   */
  async settle() {
    const r = running();
    const db = inspector!.db!;
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      await Promise.all([r.services.outbox.idle(), r.services.supervision.ingest.idle()]);
      const now = new Date();
      const due: string[] = [];
      for (const collection of new Set(Object.values(OUTBOX_HOLDERS))) {
        const holders = await db
          .collection(collection)
          .find({ outbox: { $elemMatch: { due: { $lte: now }, parkedAt: { $exists: false } } } }, { projection: { outbox: 1 } })
          .toArray();
        for (const holder of holders)
          for (const effect of holder.outbox as Array<{ type: string; due: Date; attempts?: number; lastError?: string }>)
            if (effect.due <= now)
              due.push(`${collection} ${effect.type} (attempts ${effect.attempts ?? 0}${effect.lastError ? `: ${effect.lastError}` : ''})`);
      }
      if (due.length === 0) return { settledAt: Date.now() };
      if (Date.now() > deadline)
        throw new Error(
          `Roster's backlog did not drain within ${SETTLE_TIMEOUT_MS} ms: ${due.length} effects due, e.g. ${due.slice(0, 3).join('; ')}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  },

  /** What a run holds (status, step, decisions, events): why a click decided nothing. */
  async runSummary(runId: string) {
    const run = await inspector!.db!.collection('flow_runs').findOne({ _id: runId as never });
    if (!run) return 'no such run';
    const steps = run.steps as Record<string, { status?: string; decisions?: unknown[] }>;
    return JSON.stringify({
      status: run.status,
      current: run.current,
      approvals: { status: steps.approvals?.status, decisions: steps.approvals?.decisions },
      lastEvents: (run.events as unknown[]).slice(-3),
    });
  },

  /** `count` support assistants sponsored by Tom, each with a key and three live grants; resolves their ids and keys. */
  async apiAgents(count: number) {
    const r = running();
    const now = new Date();
    const agents: Array<{ id: string; key: string }> = [];
    for (let i = 0; i < count; i++) {
      const {
        agent: { id, requestedBy },
        key,
      } = await agentWithTelemetryKey(r.services.agents, { name: `Bench Agent ${i}`, purpose: 'Benchmarks the agent API.' });
      await r.services.grants.insertMany(
        ['kb:read', 'tickets:read', 'crm:read'].map((scope) => ({
          id: asGrantId(`${id}:${scope}`),
          agentId: id,
          scope,
          reason: 'bench',
          requestedBy,
          approvedBy: [requestedBy],
          startsAt: now.toISOString(),
          expiresAt: new Date(now.getTime() + 30 * 86_400_000).toISOString(),
          status: 'active' as const,
          source: 'default',
          createdAt: now.toISOString(),
        })),
      );
      agents.push({ id, key });
    }
    return agents;
  },

  /**
   * A procurement agent named `name` sponsored by `sponsor`, with a key (runtime-approvals bench);
   * resolves its id and key.
   */
  async runtimeAgent(name: string, sponsor: string) {
    const { agent, key } = await agentWithTelemetryKey(running().services.agents, {
      name,
      catalogRoleId: 'procurement-agent',
      sponsors: [sponsor],
      businessUnit: 'risk-compliance',
      purpose: 'Benchmarks runtime approvals.',
      requestedBy: 'daniel.okafor@brightwater.example',
    });
    return { id: agent.id, key };
  },

  /** The flow run of the agent's runtime approval `id` (what its card's buttons carry). */
  runtimeRunId: async (agentId: string, id: string) => (await running().services.runtime.get(asAgentId(agentId), asApprovalId(id))).runId,

  /** Starts a V8 CPU profile of this process (see `profileStop`): one phase of a bench, not the whole process. */
  async profileStart() {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 200 });
    await profiler.post('Profiler.start');
    // BENCH_HEAP_PROFILE=1: a sampling allocation profile of the same phase beside it (where the GC's work comes from).
    if (process.env.BENCH_HEAP_PROFILE === '1')
      await profiler.post('HeapProfiler.startSampling', {
        samplingInterval: 32_768,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
  },
  /** Stops the profile `profileStart` started and writes it to `file` (a .cpuprofile, for Chrome's DevTools). */
  async profileStop(file: string) {
    if (!profiler) throw new Error('no profile started');
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    if (process.env.BENCH_HEAP_PROFILE === '1') {
      const heap = await profiler.post('HeapProfiler.stopSampling');
      writeFileSync(file.replace(/\.cpuprofile$/, '.heapprofile'), JSON.stringify(heap.profile));
    }
    profiler.disconnect();
    profiler = undefined;
  },

  /**
   * Starts watching this process's event loop (delay histogram, 1 ms resolution) and its garbage
   * collections, for `loopStop`: where a tail of response times comes from.
   */
  loopStart() {
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const gcs: Array<{ kind: number; ms: number }> = [];
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries())
        gcs.push({ kind: (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0, ms: e.duration });
    });
    observer.observe({ entryTypes: ['gc'] });
    loop = { delay, gcs, observer };
  },
  /** What `loopStart` saw: loop delay percentiles and max (ms), and the collections by kind (count, total and longest ms). */
  loopStop() {
    if (!loop) throw new Error('no loop watch started');
    const { delay, gcs, observer } = loop;
    loop = undefined;
    delay.disable();
    observer.disconnect();
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    // perf_hooks' gc kinds: 1 minor (scavenge), 2 major (mark-compact), 4 incremental marking, 8 weak callbacks.
    const byKind: Record<string, { count: number; totalMs: number; maxMs: number }> = {};
    for (const { kind, ms: d } of gcs) {
      const k = ({ 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weak' } as Record<number, string>)[kind] ?? String(kind);
      const entry = (byKind[k] ??= { count: 0, totalMs: 0, maxMs: 0 });
      entry.count += 1;
      entry.totalMs = Math.round((entry.totalMs + d) * 10) / 10;
      entry.maxMs = Math.max(entry.maxMs, Math.round(d * 10) / 10);
    }
    return {
      delay: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max), mean: ms(delay.mean) },
      gc: byKind,
    };
  },

  /** Resolves when nothing handed to the outbox is queued or running. */
  outboxIdle: () => running().services.outbox.idle(),
  /** How many deferred outbox effects run at a time. */
  outboxLaterConcurrency: () => running().services.outbox.settings.laterConcurrency,

  revokeGrant: (by: string, grantId: string, reason: string) => running().services.access.revokeGrant(by, asGrantId(grantId), reason),

  ingestIdle: () => running().services.supervision.ingest.idle(),

  /** One check-in sweep, timed here (the IPC round trip left out), with the CPU time Roster's process spent meanwhile. */
  async sweep() {
    watchPeak();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const result = await running().services.supervision.checkins.sweep(new Date());
    const cpu = process.cpuUsage(cpu0);
    // CPU time of this process (user + system), all threads: wall time alone swings with the machine's load.
    return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, ran: result.ran };
  },

  /**
   * RSS after a full GC, read at once and once the emptied pages are returned ({@link releasedRss});
   * with `listAgents`, while holding the active agents as the sweep lists them.
   */
  async memory(listAgents = false) {
    const sweepPeak = stopPeak();
    held = listAgents ? await running().services.agents.list({ status: ['active', 'probation'], limit: 0 }) : undefined;
    const mem = rssAfterGc();
    const released = await releasedRss();
    const agents = held?.length;
    held = undefined;
    return { ...mem, ...released, ...sweepPeak, ...(agents !== undefined ? { agents } : {}) };
  },

  async stop() {
    await roster?.stop();
    await inspector?.close();
    await counter?.stop();
  },
});
