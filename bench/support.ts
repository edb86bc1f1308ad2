/*
 * What every bench shares: the database (the embedded server started here, or MONGODB_URI),
 * Roster started on 127.0.0.1, load with a fixed number of requests in flight and its
 * percentiles (and the serving process's CPU), requests waiting for an approval click,
 * and each bench's own section of bench/RESULTS.md (between `<!-- name -->` and `<!-- /name -->`).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { composeRoster, type Roster, type RosterOptions } from '../src/compose.js';
import type { AgentRecord } from '../src/core/agents.js';
import { SpanKind, SpanStatusCode, TraceFlags, type HrTime } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { envSchema } from '../src/config/env.js';
import { percentile as nearestRank } from '../src/core/evaluation.js';
import { loadOrgConfig } from '../src/config/org-config.js';
import { createLogger } from '../src/logger.js';
import { loadFlowDefinitions } from '../src/flows/steps.js';
import { MONGO_JAVA_SERVER_VERSION, startEmbeddedMongo } from '../src/store/embedded/embedded-mongo.js';
import { agentRecord as baseAgentRecord, passingEvaluation, people } from '../test/helpers/harness.js';
import type { BenchProcess } from './ipc.js';
import { commandsOf } from '../test/helpers/commands.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The sample organisation in config/. */
export const org = loadOrgConfig(path.join(root, 'config'));
export const RESULTS_FILE = path.join(root, 'bench', 'RESULTS.md');
/** When this bench process started (the benches import this module first). */
export const started = Date.now();

/** Seconds since the bench started. */
export const elapsedSeconds = (): number => (Date.now() - started) / 1000;

/** A progress line on standard output, tagged with the bench and the seconds since it started. */
export function benchLog(tag: string): (msg: string) => void {
  return (msg) => process.stdout.write(`[${tag} ${elapsedSeconds().toFixed(0)}s] ${msg}\n`);
}

export const fmt = (n: number, digits = 1): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The p-th percentile (p in 0..100) of `values`, by nearest rank: the one Roster's evaluations use. */
export function percentile(values: readonly number[], p: number): number {
  return nearestRank(values, p / 100);
}

/** Works through `items` with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, work: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}

export interface Latency {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  perSecond: number;
  /** Responses with another status than the one expected, and requests that got no response. */
  errors: number;
}

/** Sends `count` requests with `concurrency` in flight; each one's time is to its whole response. */
export async function measure(
  send: (i: number) => Promise<Response>,
  count: number,
  concurrency: number,
  expectedStatus = 200,
): Promise<Latency> {
  const times: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  await pool(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    async (i) => {
      const s = performance.now();
      try {
        const res = await send(i);
        await res.arrayBuffer();
        if (res.status !== expectedStatus) errors += 1;
      } catch {
        // A connection that failed (reset under load) is an error of the run, not the end of the bench.
        errors += 1;
      }
      times.push(performance.now() - s);
    },
  );
  const wall = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  return {
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    p99: percentile(times, 99),
    max: times.at(-1) ?? 0,
    perSecond: count / wall,
    errors,
  };
}

/**
 * {@link measure}, with the CPU time `server` (the forked process answering, see `serveBench`)
 * spent per request meanwhile: its user + system time over the run divided by `count`.
 */
export async function measureServed(
  server: BenchProcess,
  send: (i: number) => Promise<Response>,
  count: number,
  concurrency: number,
  expectedStatus = 200,
): Promise<Latency & { cpuMs: number }> {
  const cpu0 = await server.call<number>('cpuMs');
  const latency = await measure(send, count, concurrency, expectedStatus);
  return { ...latency, cpuMs: ((await server.call<number>('cpuMs')) - cpu0) / count };
}

export interface BenchDatabase {
  uri: string;
  /** What the results say the database was. */
  label: string;
  stop(): Promise<void>;
}

/** MONGODB_URI when set, else the embedded server (in-memory backend) started for this bench. */
export async function openBenchDatabase(): Promise<BenchDatabase> {
  const uri = process.env.MONGODB_URI;
  if (uri) return { uri, label: 'MongoDB at MONGODB_URI', stop: async () => undefined };
  const mongo = await startEmbeddedMongo({ backend: 'memory' });
  return {
    uri: mongo.uri,
    label: `mongo-java-server ${MONGO_JAVA_SERVER_VERSION} (embedded, in-memory backend, started by the bench)`,
    stop: () => mongo.stop(),
  };
}

export type BenchRoster = Roster & { baseUrl: string };

/** Roster on 127.0.0.1 (a free port) with the sample organisation and flows, logging nothing; `env` adds to a test environment. */
export async function startBenchRoster(
  uri: string,
  dbName: string,
  env: Record<string, string> = {},
  options: Partial<Omit<RosterOptions, 'env'>> = {},
): Promise<BenchRoster> {
  const roster = await composeRoster({
    env: envSchema.parse({ NODE_ENV: 'test', PORT: '0', MONGODB_URI: uri, LOG_LEVEL: 'silent', ...env }),
    org,
    flows: loadFlowDefinitions(path.join(root, 'flows')),
    log: createLogger({ level: 'silent', pretty: false }),
    channels: [],
    dbName,
    host: '127.0.0.1',
    ...options,
  });
  return Object.assign(roster, { baseUrl: `http://127.0.0.1:${roster.port}` });
}

/**
 * `count` requests for a kb-answerer by Grace, waiting at the approvals step with typed-in results
 * recorded by an IT admin (typed-in results are IT's, with a reason); resolves their run ids.
 */
export async function waitingRequests(roster: Roster, count: number, prefix: string, concurrency = 1): Promise<string[]> {
  const ids: string[] = new Array<string>(count);
  await pool(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    async (i) => {
      const { run, agentId } = await commandsOf(roster.services).requestAgent(people.grace, {
        roleId: 'kb-answerer',
        name: `${prefix} ${i}`,
        purpose: 'Answers engineering how-to questions from the handbook.',
        businessUnit: 'engineering',
        sponsors: [people.grace],
        justification: 'Benchmark.',
      });
      await commandsOf(roster.services).submitEvaluation(people.liam, agentId, passingEvaluation(org, 'kb-answerer'));
      ids[i] = run.id;
    },
  );
  return ids;
}

const DAY = 86_400_000;

/** The approver who clicks in the click benches: Noah, an engineering approver in the sample organisation. */
export const NOAH = { id: 'U04J5M9C1RF', email: 'noah.fischer@brightwater.example' };

/** An active kb-answerer sponsored by Noah, 40 days old, without a key (see `agentWithTelemetryKey` in the test harness). */
export function benchAgent(name: string): AgentRecord {
  const then = new Date(Date.now() - 40 * DAY).toISOString();
  return baseAgentRecord({
    name,
    catalogRoleId: 'kb-answerer',
    sponsors: [NOAH.email],
    businessUnit: 'engineering',
    purpose: 'Benchmark agent.',
    createdAt: then,
    updatedAt: then,
    statusChangedAt: then,
  });
}

/** `count` telemetry events of one agent (ids `<prefix><offset + i>`), spread over the last 1,000 minutes, one in ten a failure. */
export function telemetryEvents(agentId: string, count: number, offset: number, prefix = 'e-') {
  return Array.from({ length: count }, (_, i) => ({
    eventId: `${prefix}${offset + i}`,
    agentId,
    time: new Date(Date.now() - ((offset + i) % 1000) * 60_000).toISOString(),
    taskType: 'answer',
    outcome: i % 10 === 0 ? 'failure' : 'success',
    correctness: i % 10 === 0 ? 0 : 1,
    latencyMs: 400 + (i % 50) * 20,
    costUSD: 0.004,
    tokens: 900,
    segment: i % 2 ? 'emea' : 'amer',
  }));
}

/**
 * The same task events as {@link telemetryEvents}, as one OTLP/HTTP protobuf body for `POST /v1/traces`:
 * one GenAI `invoke_agent` span per event (its time as the end, its latency as the duration, outcome,
 * correctness, segment, task type and cost as `roster.*` attributes, tokens as usage), encoded by the
 * OpenTelemetry SDK's own serializer (@opentelemetry/otlp-transformer, what the protobuf exporter
 * sends). Trace and span ids are random, so event ids never repeat the JSON batches'.
 */
export function otlpTraceBody(events: ReturnType<typeof telemetryEvents>): Uint8Array {
  const resource = resourceFromAttributes({ 'service.name': 'roster-bench' });
  const hr = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
  const spans = events.map((e): ReadableSpan => {
    const end = Date.parse(e.time);
    const context = { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), traceFlags: TraceFlags.SAMPLED };
    return {
      name: `invoke_agent ${e.agentId}`,
      kind: SpanKind.INTERNAL,
      spanContext: () => context,
      startTime: hr(end - e.latencyMs),
      endTime: hr(end),
      duration: hr(e.latencyMs),
      status: { code: e.outcome === 'failure' ? SpanStatusCode.ERROR : SpanStatusCode.OK },
      attributes: {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.id': e.agentId,
        'gen_ai.usage.input_tokens': e.tokens,
        'roster.task_type': e.taskType,
        'roster.outcome': e.outcome,
        'roster.correctness': e.correctness,
        'roster.segment': e.segment,
        'roster.cost_usd': e.costUSD,
      },
      links: [],
      events: [],
      ended: true,
      resource,
      instrumentationScope: { name: 'roster-bench' },
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  });
  const body = ProtobufTraceSerializer.serializeRequest(spans);
  if (!body) throw new Error('the OTLP serializer encoded nothing');
  return body;
}

/** The load average (1, 5, 15 minutes), as `uptime` shows it. */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
}

/** The machine the bench ran on, for the results. */
export function machine(): string {
  return `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${fmt(os.totalmem() / 1024 ** 3)} GB RAM, ${os.platform()} ${os.release()}; Node ${process.version}`;
}

/** Every bench's marked section of `text` (`<!-- name -->` … `<!-- /name -->`), in order. */
export function sectionsOf(text: string): string[] {
  return [...text.matchAll(/<!-- ([\w-]+) -->[\s\S]*?<!-- \/\1 -->/g)].map((m) => m[0]);
}

/** Replaces this bench's section of bench/RESULTS.md (or appends it), leaving the rest of the file as it is. */
export function writeSection(name: string, lines: readonly string[]): void {
  const section = [`<!-- ${name} -->`, ...lines, `<!-- /${name} -->`].join('\n');
  const existing = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : '# Benchmark results\n';
  const marked = new RegExp(`<!-- ${name} -->[\\s\\S]*?<!-- /${name} -->`);
  writeFileSync(RESULTS_FILE, marked.test(existing) ? existing.replace(marked, () => section) : `${existing.trimEnd()}\n\n${section}\n`);
}

/** Runs a bench's main and exits (Roster's timers would keep the process alive): 1 on an error, else `process.exitCode`. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
