/*
 * `npm run bench`: Roster against floors measured in the same run, on this machine, written to
 * bench/RESULTS.md. Everything runs on 127.0.0.1 against one embedded MongoDB-compatible server
 * (mongo-java-server, in-memory backend) started here, or MONGODB_URI when set.
 *
 * Four processes share the machine and no event loop: this one (the load generator, and the
 * seeding of the sweeps' data through a connection of its own), Roster (bench/roster-process.ts,
 * started with --expose-gc), the fake Slack Web API and Bot Connector (bench/fakes-process.ts),
 * and the floors (bench/floor-process.ts). Each measurement has warm-up rounds that are not
 * reported; a floor is measured after Roster's backlog from the same requests has drained.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mongoose from 'mongoose';
import { buttonClick, interaction } from '../test/helpers/slack-requests.js';
import { TeamsClient, teamsUser } from '../test/channels/teams/teams-client.js';
import { forkBench, type BenchProcess } from './ipc.js';
import {
  benchAgent,
  benchLog,
  elapsedSeconds,
  fmt,
  loadAverage,
  machine,
  measure,
  NOAH,
  otlpTraceBody,
  openBenchDatabase,
  org,
  RESULTS_FILE,
  runBench,
  sectionsOf,
  telemetryEvents,
  type Latency,
} from './support.js';

const DAY = 86_400_000;
const log = benchLog('bench');

/** What `BENCH_ONLY` may name: a partial run re-measures those parts and keeps the other rows. */
const PARTS = ['clicks', 'ingest', 'sweep'] as const;
type Part = (typeof PARTS)[number];

interface Line {
  part: Part | 'all';
  text: string;
}
const rows: Line[] = [];
const notes: Line[] = [];

/** The rows and notes each part owns in bench/RESULTS.md (older wordings included), replaced by a partial run. */
const OWNED: Record<Part, string[]> = {
  clicks: [
    '| Slack approve click',
    '| Teams Action.Execute',
    '- Teams answers',
    '- Clicks:',
    '- Slack: every decision',
    '- Slack: the last decision',
  ],
  ingest: ['| telemetry ingest', '- Ingest validates', '- OTLP ingest'],
  sweep: [
    '| check-in sweep',
    '- Sweep',
    '- Raw events like with like',
    '- Commands are counted',
    '- mongo-java-server ignores non-unique indexes',
    '| memory: RSS after the sweeps',
  ],
};

interface Bench {
  roster: BenchProcess;
  rosterUrl: string;
  floors: BenchProcess;
  fakes: { slackEnv: Record<string, string>; slackApiUrl: string; serviceUrl: string };
  /** The process of the fakes: what the fake Slack was asked to post (what a clicker was told). */
  fakesProcess: BenchProcess;
  /** The load generator's own connection to Roster's database, for seeding (not counted as Roster's commands). */
  data: mongoose.Connection;
}

/**
 * BENCH_PROFILE_DIR: a V8 CPU profile of Roster's process over each measured round of clicks
 * (until its backlog drained), ingest size and sweep round, written there as `<phase>.cpuprofile`
 * (Chrome DevTools opens them).
 */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const profileStart = async (bench: Bench): Promise<void> => {
  if (PROFILE_DIR) await bench.roster.call('profileStart');
};
const profileStop = async (bench: Bench, phase: string): Promise<void> => {
  if (PROFILE_DIR) await bench.roster.call('profileStop', path.join(path.resolve(PROFILE_DIR), `${phase}.cpuprofile`));
};

/** BENCH_LOOP=1: Roster's event-loop delay and garbage collections over each round of clicks, on the console. */
const LOOP = process.env.BENCH_LOOP === '1';
const loopStart = async (bench: Bench): Promise<void> => {
  if (LOOP) await bench.roster.call('loopStart');
};
const loopStop = async (bench: Bench, what: string): Promise<void> => {
  if (LOOP) log(`${what}: Roster's event loop and GC ${JSON.stringify(await bench.roster.call('loopStop'))}`);
};

const rosterCommands = (bench: Bench): Promise<number> => bench.roster.call<number>('commands');

/** Logs Roster's commands by kind since the last call (on the console only, to see where commands per operation go). */
async function logKinds(bench: Bench, what: string): Promise<void> {
  const kinds = await bench.roster.call<Record<string, number>>('commandKinds');
  log(
    `${what}: commands by kind ${Object.entries(kinds)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
  );
}

/** The fake Slack's call count now: a mark for {@link toldClicker}. */
const slackMark = async (bench: Bench): Promise<number> => (await bench.fakesProcess.call<{ slack: number }>('counts')).slack;

/**
 * What the clicker (Noah) was sent in a direct message since `mark`: during a round of clicks on
 * cards already delivered, that is only ever why a click did not decide (a refusal such as "Roster
 * is unavailable for a moment", or an error). Counted by text.
 */
async function toldClicker(bench: Bench, mark: number): Promise<Map<string, number>> {
  const texts = await bench.fakesProcess.call<string[]>('postedTo', NOAH.id, mark);
  const told = new Map<string, number>();
  for (const text of texts) told.set(text, (told.get(text) ?? 0) + 1);
  return told;
}

/** How many messages `told` counts. */
const toldCount = (told: ReadonlyMap<string, number>): number => [...told.values()].reduce((a, b) => a + b, 0);

/** How long a click answered 200 has to decide before the bench reports it undecided. */
const DECISION_TIMEOUT_MS = 60_000;

/**
 * Waits until Roster's backlog has drained: every run of `runIds` holds Noah's decision, or as
 * many clicks as are left undecided were refused visibly (with `mark` from {@link slackMark}: the
 * clicker was told why since then, one message per click), or a minute has passed; then no effect
 * is due in any outbox. Resolves when the decisions were seen stored and when all was drained
 * (epoch ms), the runs left undecided and what the clicker was told.
 */
async function settle(
  bench: Bench,
  runIds: readonly string[] = [],
  mark?: number,
): Promise<{ decidedAt: number; settledAt: number; undecided: string[]; told: Map<string, number> }> {
  const started = Date.now();
  let undecided = [...runIds];
  let told = new Map<string, number>();
  while (undecided.length > 0) {
    undecided = await bench.roster.call<string[]>('undecided', undecided, NOAH.email);
    if (mark !== undefined) told = await toldClicker(bench, mark);
    // A click refused visibly will not decide: waiting the full minute for it measures nothing.
    if (undecided.length <= toldCount(told) || Date.now() - started > DECISION_TIMEOUT_MS) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const decidedAt = Date.now();
  const { settledAt } = await bench.roster.call<{ settledAt: number }>('settle');
  if (mark !== undefined) told = await toldClicker(bench, mark);
  for (const runId of undecided.slice(0, 3))
    log(`a click on ${runId} was answered but decided nothing: ${await bench.roster.call<string>('runSummary', runId)}`);
  return { decidedAt, settledAt, undecided, told };
}

/**
 * Said of clicks whose run holds no decision when {@link settle} stopped waiting (each was answered
 * 200): those the clicker was told about (refused visibly: not lost) apart from those nobody heard
 * of within a minute (lost).
 */
function undecidedNote(undecided: readonly string[], clicks: number, told: ReadonlyMap<string, number> = new Map()): string {
  if (undecided.length === 0) return '';
  const refused = Math.min(undecided.length, toldCount(told));
  const lost = undecided.length - refused;
  const said = [...told].map(([text, n]) => `"${text}" ×${n}`).join(', ');
  return [
    ` ${undecided.length} of the ${clicks} clicks were answered but decided nothing:`,
    refused > 0 ? ` ${refused} refused visibly (the clicker was told ${said}: nothing was done, try again)` : '',
    refused > 0 && lost > 0 ? ';' : '',
    lost > 0 ? ` ${lost} lost (nothing decided a minute later and nothing said)` : '',
    '.',
  ].join('');
}

function latencyRows(
  part: Part,
  name: string,
  roster: Latency,
  floor: Latency,
  floorName: string,
  commands: string,
  floorCommands: string,
): void {
  rows.push(
    {
      part,
      text: `| ${name}: Roster | ${fmt(roster.p50)} ms | ${fmt(roster.p95)} ms | ${fmt(roster.p99)} ms | ${fmt(roster.perSecond, 0)}/s | errors ${roster.errors}; ${commands} |`,
    },
    {
      part,
      text: `| ${name}: ${floorName} | ${fmt(floor.p50)} ms | ${fmt(floor.p95)} ms | ${fmt(floor.p99)} ms | ${fmt(floor.perSecond, 0)}/s | errors ${floor.errors}; ${floorCommands} |`,
    },
    {
      part,
      text: `| ${name}: ratio Roster / floor | ×${fmt(roster.p50 / floor.p50)} | ×${fmt(roster.p95 / floor.p95)} | ×${fmt(roster.p99 / floor.p99)} | ×${fmt(floor.perSecond / roster.perSecond)} slower | |`,
    },
  );
}

/** Approve clicks on each waiting run, posted to `url` as Slack sends them (signed). */
function clicksOn(url: string, runIds: readonly string[], concurrency: number): Promise<Latency> {
  const bodies = runIds.map((runId) =>
    interaction(buttonClick(NOAH.id, 'approval_approve', JSON.stringify({ runId, stepId: 'approvals' }))),
  );
  const t0 = performance.now();
  const times: Array<{ i: number; at: number; ms: number }> = [];
  const measured = measure(
    async (i) => {
      const at = performance.now();
      const res = await fetch(url, { method: 'POST', headers: bodies[i]!.headers, body: bodies[i]!.body });
      if (LOOP) times.push({ i, at: Math.round(at - t0), ms: Math.round(performance.now() - at) });
      return res;
    },
    bodies.length,
    concurrency,
  );
  // BENCH_LOOP=1: when the slowest acks were sent (ms from the first), to see whether they come together.
  if (LOOP)
    void measured.then(() =>
      log(
        `${url.includes('/slack/events') ? 'Roster' : 'floor'}: slowest acks (sent at ms: took ms) ${times
          .sort((a, b) => b.ms - a.ms)
          .slice(0, 12)
          .map((t) => `${t.at}:${t.ms}`)
          .join(' ')}`,
      ),
    );
  return measured;
}

const WARMUP_CLICKS = 50;

async function benchSlack(bench: Bench, clicks: number, concurrencies: readonly number[]): Promise<void> {
  const floorUrl = await bench.floors.call<string>('bolt', bench.fakes.slackApiUrl);
  const total = WARMUP_CLICKS + clicks * concurrencies.length;
  log(`Slack: preparing ${total} waiting runs`);
  const runIds = await bench.roster.call<string[]>('waitingRequests', total, 'Slack Bench', 8);
  await settle(bench);
  log('Slack: warm-up');
  const warm = runIds.slice(0, WARMUP_CLICKS);
  const warmMark = await slackMark(bench);
  await clicksOn(`${bench.rosterUrl}/slack/events`, warm, concurrencies[0]!);
  await settle(bench, warm, warmMark);
  await clicksOn(floorUrl, warm, concurrencies[0]!);
  for (const [n, concurrency] of concurrencies.entries()) {
    const ids = runIds.slice(WARMUP_CLICKS + n * clicks, WARMUP_CLICKS + (n + 1) * clicks);
    log(`Slack: ${clicks} clicks, ${concurrency} in flight`);
    await bench.roster.call('commandKinds');
    const before = await rosterCommands(bench);
    const mark = await slackMark(bench);
    await profileStart(bench);
    await loopStart(bench);
    const cpu0 = await bench.roster.call<number>('cpuMs');
    const ours = await clicksOn(`${bench.rosterUrl}/slack/events`, ids, concurrency);
    const lastAck = Date.now();
    await loopStop(bench, `Slack ${clicks} × ${concurrency}, until the last ack`);
    const { decidedAt, settledAt, undecided, told } = await settle(bench, ids, mark);
    // Roster's CPU from the first click until its backlog drained (the bench's own polling included), per click.
    const cpuMs = ((await bench.roster.call<number>('cpuMs')) - cpu0) / ids.length;
    await profileStop(bench, `slack-${concurrency}`);
    if (told.size > 0)
      log(`Slack ${clicks} × ${concurrency}: the clicker was told ${[...told].map(([t, n]) => `"${t}" ×${n}`).join(', ')}`);
    const commands = ((await rosterCommands(bench)) - before) / ids.length;
    await logKinds(bench, `Slack ${clicks} × ${concurrency}`);
    const floor = await clicksOn(floorUrl, ids, concurrency);
    latencyRows(
      'clicks',
      `Slack approve click, ${clicks} × ${concurrency} in flight`,
      ours,
      floor,
      'bare Bolt ack',
      `${fmt(commands, 1)} commands per click (ack, decision and its effects); Roster CPU ${fmt(cpuMs, 2)} ms per click`,
      '0 commands',
    );
    const after = (at: number) => (at <= lastAck ? 'before the last ack' : `${fmt((at - lastAck) / 1000, 2)} s after the last ack`);
    notes.push({
      part: 'clicks',
      text: `Slack: ${undecided.length === 0 ? 'every decision' : 'the last decision'} of the ${clicks} × ${concurrency} clicks was stored ${after(decidedAt)}, and their effects (card updates, audit entries) were all done ${after(settledAt)} (goal: decisions within 5 s).${undecidedNote(undecided, clicks, told)}`,
    });
  }
}

async function benchTeams(bench: Bench, clicks: number, concurrency: number): Promise<void> {
  const floorUrl = await bench.floors.call<string>('agents');
  const client = new TeamsClient(bench.rosterUrl, bench.fakes.serviceUrl);
  const noah = teamsUser(org.people.find((p) => p.email === NOAH.email)!);
  await client.install(noah);
  const total = WARMUP_CLICKS + clicks;
  log(`Teams: preparing ${total} waiting runs`);
  const runIds = await bench.roster.call<string[]>('waitingRequests', total, 'Teams Bench', 8);
  await settle(bench);
  const activity = (runId: string) =>
    JSON.stringify({
      ...client.base(noah, 'invoke'),
      name: 'adaptiveCard/action',
      value: {
        action: { type: 'Action.Execute', id: runId, verb: 'approval_approve', data: { runId, stepId: 'approvals' } },
        trigger: 'manual',
      },
    });
  const headers = { 'content-type': 'application/json' };
  const invokes = (url: string, ids: readonly string[]) =>
    measure((i) => fetch(url, { method: 'POST', headers, body: activity(ids[i]!) }), ids.length, concurrency);
  log('Teams: warm-up');
  const warm = runIds.slice(0, WARMUP_CLICKS);
  await invokes(`${bench.rosterUrl}/api/messages`, warm);
  await settle(bench, warm);
  await invokes(floorUrl, warm);
  const ids = runIds.slice(WARMUP_CLICKS);
  log(`Teams: ${clicks} clicks, ${concurrency} in flight`);
  await bench.roster.call('commandKinds');
  const before = await rosterCommands(bench);
  await profileStart(bench);
  await loopStart(bench);
  const cpu0 = await bench.roster.call<number>('cpuMs');
  const ours = await invokes(`${bench.rosterUrl}/api/messages`, ids);
  await loopStop(bench, `Teams ${clicks} × ${concurrency}, until the last answer`);
  const { undecided } = await settle(bench, ids);
  const cpuMs = ((await bench.roster.call<number>('cpuMs')) - cpu0) / ids.length;
  await profileStop(bench, 'teams');
  const commands = ((await rosterCommands(bench)) - before) / ids.length;
  await logKinds(bench, `Teams ${clicks} × ${concurrency}`);
  const floor = await invokes(floorUrl, ids);
  latencyRows(
    'clicks',
    `Teams Action.Execute approve, ${clicks} × ${concurrency} in flight`,
    ours,
    floor,
    'bare Agents SDK app',
    `${fmt(commands, 1)} commands per click (decision, card and effects); Roster CPU ${fmt(cpuMs, 2)} ms per click`,
    '0 commands',
  );
  notes.push({
    part: 'clicks',
    text: "Clicks: Slack's floor is a bare Bolt app in its own process, on an ExpressReceiver configured as Roster's (signature verified, `processBeforeResponse: false`), whose approve handler only acknowledges; Teams' floor is a bare Microsoft 365 Agents SDK app in its own process (CloudAdapter and AgentApplication, anonymous on loopback as Roster runs here) answering the approve Action.Execute with a static Adaptive Card. Each gets the same signed requests (activities) as Roster, after Roster's backlog from them has drained: every decision stored (checked in the database, so each click is known to have decided) and no outbox effect due. Commands per click count what Roster sent from the first click until drained. The per-person chat rate limit is raised for the bench, as one approver clicks hundreds of times a minute: until this change the bench ran with the sample organisation's 30 a minute, so all but the first 30 clicks per platform were answered with a 'slow down' notice and decided nothing.",
  });
  notes.push({
    part: 'clicks',
    text: `Teams answers Action.Execute with the updated card in the invoke response, so its time includes the decision itself (read the run, record the decision, audit, render); Slack acknowledges first and works after the ack.${undecidedNote(undecided, clicks)}`,
  });
}

/** A telemetry batch as sent: the JSON API's body, or an OTLP/HTTP protobuf ExportTraceServiceRequest. */
type IngestBody = { kind: 'json'; events: number; body: string } | { kind: 'otlp'; events: number; body: Uint8Array };

const jsonBodies = (batches: ReadonlyArray<ReturnType<typeof telemetryEvents>>): IngestBody[] =>
  batches.map((events) => ({ kind: 'json', events: events.length, body: JSON.stringify({ events }) }));
const otlpBodies = (batches: ReadonlyArray<ReturnType<typeof telemetryEvents>>): IngestBody[] =>
  batches.map((events) => ({ kind: 'otlp', events: events.length, body: otlpTraceBody(events) }));

/**
 * Posts `bodies` (encoded before the clock starts) one after the other to a telemetry endpoint;
 * resolves the seconds it took. Every event must be accepted: the JSON API reports how many, and
 * OTLP answers an empty ExportTraceServiceResponse only when no span was refused or ignored.
 */
async function postBatches(url: string, key: string, bodies: readonly IngestBody[]): Promise<number> {
  const t0 = performance.now();
  for (const b of bodies) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': b.kind === 'json' ? 'application/json' : 'application/x-protobuf', authorization: `Bearer ${key}` },
      body: b.body,
    });
    if (b.kind === 'json') {
      const report = (await res.json()) as { accepted: number };
      if (report.accepted !== b.events) throw new Error(`${url} accepted ${report.accepted} of ${b.events}`);
    } else {
      const answer = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200 || answer.length > 0)
        throw new Error(`${url} answered ${res.status} (${answer.length} bytes: ${answer.toString('latin1').slice(0, 200)})`);
    }
  }
  return (performance.now() - t0) / 1000;
}

/**
 * One measured round of Roster's ingest (after a warm-up): seconds until every batch is stored and
 * its error-spike checks have run, and Roster's CPU and commands per batch meanwhile.
 */
async function rosterIngest(
  bench: Bench,
  url: string,
  key: string,
  warm: readonly IngestBody[],
  bodies: readonly IngestBody[],
  phase: string,
): Promise<{ seconds: number; cpuMs: number; commands: number }> {
  await postBatches(url, key, warm);
  await bench.roster.call('ingestIdle');
  await settle(bench);
  await bench.roster.call('commandKinds');
  const before = await rosterCommands(bench);
  await profileStart(bench);
  const cpu0 = await bench.roster.call<number>('cpuMs');
  let seconds = await postBatches(url, key, bodies);
  // The error-spike checks run after each reply: the time and the commands include them.
  const t0 = performance.now();
  await bench.roster.call('ingestIdle');
  seconds += (performance.now() - t0) / 1000;
  const cpuMs = ((await bench.roster.call<number>('cpuMs')) - cpu0) / bodies.length;
  await profileStop(bench, phase);
  const commands = ((await rosterCommands(bench)) - before) / bodies.length;
  await logKinds(bench, `${phase}: ${bodies.length} batches`);
  return { seconds, cpuMs, commands };
}

async function benchIngest(bench: Bench, floorDb: string, uri: string): Promise<void> {
  const floorUrl = await bench.floors.call<string>('ingest', uri, floorDb);
  for (const size of [100, 1000]) {
    const batches = size === 100 ? 100 : 20;
    const warmBatches = size === 100 ? 10 : 3;
    const { id, key } = await bench.roster.call<{ id: string; key: string }>('telemetryAgent', `Ingest ${size}`);
    const warmEvents = Array.from({ length: warmBatches }, (_, b) => telemetryEvents(id, size, b * size, 'w-'));
    const warm = jsonBodies(warmEvents);
    const bodies = jsonBodies(Array.from({ length: batches }, (_, b) => telemetryEvents(id, size, b * size)));
    log(`ingest: warm-up, then ${batches} batches of ${size}`);
    const json = await rosterIngest(bench, `${bench.rosterUrl}/api/v1/telemetry`, key, warm, bodies, `ingest-${size}`);
    const ours = (batches * size) / json.seconds;

    // The same events over OTLP/HTTP (protobuf), for an agent of their own with its own key.
    const otlpAgent = await bench.roster.call<{ id: string; key: string }>('telemetryAgent', `Ingest OTLP ${size}`);
    const otlpEvents = (b: number, prefix?: string) => telemetryEvents(otlpAgent.id, size, b * size, prefix);
    log(`ingest over OTLP: warm-up, then ${batches} batches of ${size} spans`);
    const otlp = await rosterIngest(
      bench,
      `${bench.rosterUrl}/v1/traces`,
      otlpAgent.key,
      otlpBodies(Array.from({ length: warmBatches }, (_, b) => otlpEvents(b, 'w-'))),
      otlpBodies(Array.from({ length: batches }, (_, b) => otlpEvents(b))),
      `ingest-otlp-${size}`,
    );
    const otlpRate = (batches * size) / otlp.seconds;

    await settle(bench);
    await postBatches(floorUrl, key, warm);
    const floorBefore = await bench.floors.call<number>('commands');
    const floorCpu0 = await bench.floors.call<number>('cpuMs');
    const floor = (batches * size) / (await postBatches(floorUrl, key, bodies));
    const floorCpuMs = ((await bench.floors.call<number>('cpuMs')) - floorCpu0) / batches;
    const floorCommands = ((await bench.floors.call<number>('commands')) - floorBefore) / batches;
    rows.push({
      part: 'ingest',
      text: `| telemetry ingest, batches of ${size} (${batches * size} events) | Roster ${fmt(ours, 0)} events/s | HTTP + insertMany ${fmt(floor, 0)} events/s | ratio ×${fmt(floor / ours)} slower (Roster at ×${fmt(ours / floor, 2)} of the floor) | ${fmt(json.commands, 1)} commands per batch (floor ${fmt(floorCommands, 1)}) | Roster CPU ${fmt(json.cpuMs, 1)} ms per batch (floor ${fmt(floorCpuMs, 1)}) |`,
    });
    rows.push({
      part: 'ingest',
      text: `| telemetry ingest over OTLP/HTTP protobuf, batches of ${size} spans (${batches * size} events) | Roster OTLP ${fmt(otlpRate, 0)} events/s | Roster JSON API ${fmt(ours, 0)} events/s | OTLP takes ×${fmt(json.seconds === 0 ? 0 : otlp.seconds / json.seconds, 2)} the JSON API's time (goal ≤ ×1.5) | ${fmt(otlp.commands, 1)} commands per batch (JSON ${fmt(json.commands, 1)}) | Roster CPU ${fmt(otlp.cpuMs, 1)} ms per batch (JSON ${fmt(json.cpuMs, 1)}) |`,
    });
  }
  notes.push({
    part: 'ingest',
    text: "Ingest validates each event, inserts raw events (unique per agent and event id), then updates the hourly and daily rollups ($inc upserts summed in memory per agent-hour and agent-day) and the newest event times, one unordered bulkWrite per collection, both in flight together; the error-spike check reads the agents' hourly rollups in one query after the reply, shared by the batches stored within 100 ms (SPIKE_CHECK_DELAY_MS) or while it runs (included in the time). Commands per batch count everything Roster sent meanwhile (the key is read once per cache lifetime). The floor is a bare Express endpoint in its own process that parses the same JSON body and stores the same raw-event documents with one unordered insertMany (no key check, validation or rollups), fed the same batches one after the other. Every body is encoded before the clock starts.",
  });
  notes.push({
    part: 'ingest',
    text: "OTLP ingest sends the same events as the JSON rows (same count, times, outcomes, latencies, tokens, correctness, segment, cost) as GenAI `invoke_agent` spans to `POST /v1/traces` in protobuf (`application/x-protobuf`), encoded before the clock starts by the OpenTelemetry SDK's serializer (@opentelemetry/otlp-transformer's ProtobufTraceSerializer, what the SDK's protobuf exporter sends), one batch after the other, for an agent of its own authenticated with its own key as a Bearer token, after its own warm-up; measured right after the JSON rows of the same size. Each answer must be an empty ExportTraceServiceResponse (no span refused or ignored). Its time includes the protobuf decode, the span-to-event mapping, the price-table read and the JSON API's own ingest.",
  });
}

function rollupDoc(agentId: string, day: number, count: number) {
  const start = new Date(Math.floor(Date.now() / DAY) * DAY - day * DAY);
  const failures = Math.round(count * 0.05);
  return {
    _id: `${agentId}:day:${start.toISOString()}`,
    agentId,
    granularity: 'day',
    start,
    count,
    outcomes: { success: count - failures, failure: failures, handedToHuman: 0 },
    correctSum: (count - failures) * 1,
    correctCount: count,
    costSum: count * 0.004,
    tokens: count * 900,
    latency: { '10': Math.round(count * 0.6), '11': count - Math.round(count * 0.6) },
    cost: { '3': count },
    segments: {
      emea: { total: count / 2, favourable: (count - failures) / 2 },
      amer: { total: count / 2, favourable: (count - failures) / 2 },
    },
    tasks: { answer: count },
  };
}

/** Active agents stored as Roster stores them, straight into its database (setup, not measured). */
async function insertAgents(bench: Bench, names: readonly string[]): Promise<string[]> {
  const records = names.map((name) => benchAgent(name));
  await bench.data
    .db!.collection('agents')
    .insertMany(records.map(({ id, ...rest }) => ({ _id: id as never, liveNameKey: `engineering/${rest.name.toLowerCase()}`, ...rest })));
  return records.map((r) => r.id);
}

interface SweepRound {
  agents: number;
  ms: number;
  /** CPU time of Roster's process during the sweep (user + system). */
  cpuMs: number;
  commands: number;
  ran: number;
  rssMb: number;
  /** RSS after GC once the emptied heap pages were returned (see `releasedRss` in bench/roster-process.ts). */
  releasedRssMb: number;
}

async function benchSweep(bench: Bench, agents: number, rawEventsPerAgent: number, record = true): Promise<SweepRound> {
  const db = bench.data.db!;
  // Each round starts from the same state: no telemetry, check-ins or claims of earlier rounds.
  for (const name of ['telemetry_rollups', 'telemetry_events', 'telemetry_last', 'checkins', 'checkin_schedule', 'checkin_claims'])
    await db.collection(name).deleteMany({});
  log(`sweep: inserting ${agents} agents, 30 days of rollups each, ${rawEventsPerAgent} raw events each`);
  const tag = `${agents}-${rawEventsPerAgent}-${Date.now()}`;
  for (let offset = 0; offset < agents; offset += 500) {
    const ids = await insertAgents(
      bench,
      Array.from({ length: Math.min(500, agents - offset) }, (_, i) => `Sweep ${tag} ${offset + i}`),
    );
    await db
      .collection('telemetry_rollups')
      .insertMany(ids.flatMap((id) => Array.from({ length: 30 }, (_, d) => rollupDoc(id, d, 100))) as never[]);
    // What ingest keeps beside the rollups: each agent's newest event time (dormancy reads it).
    await db.collection('telemetry_last').insertMany(ids.map((id) => ({ _id: id as never, lastEventAt: new Date() })));
    if (rawEventsPerAgent > 0) {
      await db
        .collection('telemetry_events')
        .insertMany(
          ids.flatMap((id) =>
            telemetryEvents(id, rawEventsPerAgent, 0).map((e) => ({ _id: `${id}:${e.eventId}`, ...e, time: new Date(e.time) })),
          ) as never[],
        );
    }
  }
  log(`sweep: running over ${agents} active agents${record ? '' : ' (warm-up)'}`);
  const before = await rosterCommands(bench);
  if (record) await profileStart(bench);
  const { ms, cpuMs, ran } = await bench.roster.call<{ ms: number; cpuMs: number; ran: number }>('sweep');
  if (record) await profileStop(bench, `sweep-${agents}-${rawEventsPerAgent}`);
  // Review cards go out through the outbox after the sweep: its commands are the sweep's too.
  await settle(bench);
  const commands = (await rosterCommands(bench)) - before;
  if (record) await logKinds(bench, `sweep ${agents} agents, ${rawEventsPerAgent} raw events each`);
  else await bench.roster.call('commandKinds');
  const { rssMb, releasedRssMb, releasedAfterMs, heapUsedMb, heapTotalMb, externalMb, peakHeapMb, peakRssMb, peakExternalMb } =
    await bench.roster.call<{
      rssMb: number;
      releasedRssMb: number;
      releasedAfterMs: number;
      heapUsedMb: number;
      heapTotalMb: number;
      externalMb: number;
      peakHeapMb: number;
      peakRssMb: number;
      peakExternalMb: number;
    }>('memory');
  if (record) {
    rows.push({
      part: 'sweep',
      text: `| check-in sweep, ${fmt(agents, 0)} agents × 30 days of rollups${rawEventsPerAgent ? `, ${rawEventsPerAgent} raw events each` : ''} | ${fmt(ms / 1000)} s wall | ${fmt(ms / Math.max(1, ran), 2)} ms per agent (Roster CPU ${fmt(cpuMs / Math.max(1, ran), 2)} ms per agent) | ${fmt(commands, 0)} commands (${fmt(commands / Math.max(1, ran), 3)} per agent) | ran ${ran} | Roster RSS after GC ${fmt(releasedRssMb, 0)} MB once the emptied heap pages were returned (${fmt(releasedAfterMs / 1000, 2)} s after the GC; ${fmt(rssMb, 0)} MB read at once; heap used ${fmt(heapUsedMb, 0)} of ${fmt(heapTotalMb, 0)} MB, external ${fmt(externalMb, 0)} MB; during the sweep peak heap used ${fmt(peakHeapMb, 0)} MB, peak RSS ${fmt(peakRssMb, 0)} MB, peak external ${fmt(peakExternalMb, 0)} MB) |`,
    });
  }
  // Leave only the next round's agents active.
  const done = await db
    .collection('agents')
    .find({ status: { $in: ['active', 'probation'] } }, { projection: { _id: 1 } })
    .toArray();
  if (done.length > 0)
    await db.collection('agents').bulkWrite(
      done.map((d) => ({
        updateOne: { filter: { _id: d._id }, update: { $set: { status: 'retired', liveNameKey: `retired/${String(d._id)}` } } },
      })),
    );
  return { agents, ms, cpuMs, commands, ran, rssMb, releasedRssMb };
}

/** The sweep rows: a warm-up round, each size, then like-for-like raw-event volume (R against 5R per agent). */
async function benchSweeps(bench: Bench, sizes: readonly number[]): Promise<void> {
  await benchSweep(bench, 200, 0, false);
  const rounds: SweepRound[] = [];
  for (const size of sizes) rounds.push(await benchSweep(bench, size, 0));
  const small = rounds[0]!;
  const large = rounds[rounds.length - 1]!;
  if (rounds.length > 1) {
    notes.push({
      part: 'sweep',
      text: `Sweep time per agent from ${fmt(small.agents, 0)} to ${fmt(large.agents, 0)} agents: ${fmt(small.ms / small.ran, 2)} → ${fmt(large.ms / large.ran, 2)} ms (×${fmt(large.ms / large.ran / (small.ms / small.ran), 2)}); commands per agent ${fmt(small.commands / small.ran, 3)} → ${fmt(large.commands / large.ran, 3)}; Roster's RSS after GC with ${fmt(large.agents, 0)} agents and ${fmt(large.agents * 30, 0)} rollups, after the sweep: ${fmt(large.releasedRssMb, 0)} MB once the emptied heap pages were returned (${fmt(large.rssMb, 0)} MB read at once). Goals: 10,000 agents under 15 s, flat per agent, RSS under 300 MB.`,
    });
  }
  // BENCH_SWEEP_RAW=0: the sizes only (a quicker round when comparing CPU per agent).
  if (process.env.BENCH_SWEEP_RAW === '0') return;
  const base = 20;
  const light = await benchSweep(bench, small.agents, base);
  const heavy = await benchSweep(bench, small.agents, 5 * base);
  notes.push(
    {
      part: 'sweep',
      text: `Raw events like with like: ${fmt(small.agents, 0)} agents with ${base} raw events each took ${fmt(light.ms / 1000, 2)} s (${fmt(light.commands, 0)} commands), with ${5 * base} each ${fmt(heavy.ms / 1000, 2)} s (${fmt(heavy.commands, 0)} commands): ×${fmt(heavy.ms / light.ms, 2)}. A check-in reads daily rollups by key and one last-event document per agent, never raw events.`,
    },
    {
      part: 'sweep',
      text: "Commands are counted by a TCP proxy between Roster and the database, in a process of the bench's (bench/db-count-process.ts: each command's name and collection read from the bytes, so Roster's process does no work for it, unlike the driver's command monitoring used until 2026-12-01, which counted the same commands), Agenda's polling of its job collection, the outbox worker's periodic scan for due effects (one find per holder collection every 5 s, about 4 commands a second whatever Roster is doing) and connection handshakes left out (the effects the worker then performs are counted); a sweep's commands include the review cards it hands to the outbox, counted until the outbox has drained. A warm-up sweep of 200 agents runs first and is not reported. The agents, rollups and raw events are inserted by the load generator through a connection of its own.",
    },
  );
}

function parseOnly(value: string | undefined): Set<Part> | undefined {
  if (value === undefined || value === '' || value === 'all') return undefined;
  const parts = value.split(',').map((p) => p.trim());
  for (const p of parts)
    if (!PARTS.includes(p as Part)) throw new Error(`BENCH_ONLY=${value}: the parts are ${PARTS.join(', ')} (comma-separated)`);
  return new Set(parts as Part[]);
}

async function main(): Promise<void> {
  const only = parseOnly(process.env.BENCH_ONLY);
  const runs = (part: Part) => !only || only.has(part);
  const clicks = Number(process.env.BENCH_CLICKS ?? 300);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
  const slackConcurrencies = [...new Set([concurrency, Number(process.env.BENCH_CONCURRENCY_HIGH ?? 50)])];
  const sweepSizes = (process.env.BENCH_SWEEP_SIZES ?? '1000,10000').split(',').map(Number);
  const loadBefore = loadAverage();
  const db = await openBenchDatabase();
  const stamp = Date.now();
  const dbName = `bench_${stamp}`;
  const [fakes, roster, floors] = await Promise.all([
    forkBench('fakes-process.ts'),
    forkBench('roster-process.ts', { gc: true }),
    forkBench('floor-process.ts'),
  ]);
  let data: mongoose.Connection | undefined;
  try {
    const fakeUrls = await fakes.call<Bench['fakes']>('urls');
    const { baseUrl } = await roster.call<{ baseUrl: string }>('start', db.uri, dbName, fakeUrls.slackEnv);
    data = await mongoose.createConnection(db.uri, { dbName }).asPromise();
    const bench: Bench = { roster, rosterUrl: baseUrl, floors, fakes: fakeUrls, fakesProcess: fakes, data };
    log(`Roster runs in process ${roster.pid}, the fakes in ${fakes.pid}, the floors in ${floors.pid}`);
    if (runs('clicks')) {
      await benchSlack(bench, clicks, slackConcurrencies);
      await benchTeams(bench, clicks, concurrency);
    }
    if (runs('ingest')) await benchIngest(bench, `bench_floor_${stamp}`, db.uri);
    if (runs('sweep')) await benchSweeps(bench, sweepSizes);
    if (!only) {
      log('memory: loading 10,000 agents');
      for (let offset = 0; offset < 10_000; offset += 1000)
        await insertAgents(
          bench,
          Array.from({ length: 1000 }, (_, i) => `Memory ${offset + i}`),
        );
      const mem = await roster.call<{ rssMb: number; releasedRssMb: number; heapUsedMb: number; agents: number }>('memory', true);
      rows.push({
        part: 'all',
        text: `| memory: Roster's RSS after GC, holding ${fmt(mem.agents, 0)} agents as the sweep lists them | ${fmt(mem.releasedRssMb, 0)} MB (${fmt(mem.rssMb, 0)} MB read at once) | heap used ${fmt(mem.heapUsedMb, 0)} MB | | |  |`,
      });
      notes.push({
        part: 'all',
        text: "RSS is Roster's process alone (bench/roster-process.ts, run with `--expose-gc`), read after two full collections, at once and again once it stops falling (every 250 ms, nothing collected, until it has not fallen for 2 s, at most 20 s): V8 returns the heap pages a collection emptied from a background task, so RSS read at once still counts them (after a 10,000-agent sweep some 110 MB, returned within 250 ms). The load generator, the fakes, the floors and the database each run in their own process.",
      });
    }
  } finally {
    await data?.close();
    await roster.stop();
    await Promise.all([fakes.stop(), floors.stop()]);
    await db.stop();
  }
  const loadAfter = loadAverage();
  // BENCH_DRY_RUN=1: the rows on standard output only, bench/RESULTS.md left as it is.
  if (process.env.BENCH_DRY_RUN === '1') {
    process.stdout.write(`${[...rows.map((r) => r.text), '', ...notes.map((n) => `- ${n.text}`)].join('\n')}\n`);
    return;
  }
  // The other benches' sections (bench/agent-api.ts, evals.ts, runtime-approvals.ts, scim.ts, webhooks.ts) are kept as they are.
  const previous = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : '';
  const sections = sectionsOf(previous);
  const withSections = (text: string) => [text, ...sections.flatMap((x) => [x, ''])].join('\n');
  const label = `${db.label}`;
  if (only && previous) {
    // A partial run replaces its own rows and notes and keeps the others from the last full run;
    // the sections are set aside, so rows and notes go into this bench's table only.
    let rest = previous;
    for (const section of sections) rest = rest.replace(section, '').trimEnd() + '\n';
    const mine = (line: string) => [...only].some((part) => OWNED[part].some((prefix) => line.startsWith(prefix)));
    const remeasured = `- Re-measured with \`BENCH_ONLY=${[...only].join(',')}\``;
    // The new rows and notes go where the old ones were, so that the table keeps its order; after
    // the last row and the last note when the file had none of them.
    const kept: string[] = [];
    let rowsAt = -1;
    let notesAt = -1;
    for (const line of rest.split('\n')) {
      if (mine(line)) {
        if (line.startsWith('|') && rowsAt < 0) rowsAt = kept.length;
        if (line.startsWith('- ') && notesAt < 0) notesAt = kept.length;
      } else if (!line.startsWith(remeasured)) kept.push(line);
    }
    const noteLines = notes.map((n) => `- ${n.text}`);
    if (notesAt < 0) notesAt = kept.length - (kept[kept.length - 1] === '' ? 1 : 0);
    kept.splice(notesAt, 0, ...noteLines);
    if (rowsAt < 0) rowsAt = kept.reduce((at, line, i) => (line.startsWith('|') ? i + 1 : at), 0);
    kept.splice(rowsAt, 0, ...rows.map((r) => r.text));
    kept.splice(
      kept.findIndex((line) => line.startsWith('- Sizes:')) + 1,
      0,
      `${remeasured} on ${new Date().toISOString()} in ${fmt(elapsedSeconds(), 0)} s (database: ${label}; load average ${loadBefore} at the start, ${loadAfter} at the end).`,
    );
    writeFileSync(RESULTS_FILE, withSections(kept.join('\n')));
    log(`updated the ${[...only].join(', ')} rows of bench/RESULTS.md`);
    // Only what this run measured: the other rows in the file are an earlier run's.
    process.stdout.write(`${[...rows.map((r) => r.text), '', ...noteLines].join('\n')}\n`);
    return;
  }
  const text = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString()} in ${fmt(elapsedSeconds(), 0)} s.`,
    '',
    `- Machine: ${machine()}; load average (1, 5, 15 min) ${loadBefore} at the start, ${loadAfter} at the end (the machine is shared with other work).`,
    `- Database: ${label}. Roster, the load generator, the fakes (Slack Web API, Bot Connector) and the floors each run in their own process on this machine; warm-up rounds (not reported) come before each measurement, and each floor is measured right after Roster's backlog from the same requests has drained.`,
    `- Sizes: ${clicks} clicks per measurement (Slack at ${slackConcurrencies.join(' and ')} in flight, Teams at ${concurrency}), ${WARMUP_CLICKS} warm-up clicks each; sweep sizes ${sweepSizes.join(', ')} agents (set BENCH_ONLY=${PARTS.join('|')}, BENCH_CLICKS, BENCH_CONCURRENCY, BENCH_CONCURRENCY_HIGH, BENCH_SWEEP_SIZES to change).`,
    '',
    '| measurement | p50 / value | p95 / floor | p99 / ratio | throughput | errors; database commands |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => r.text),
    '',
    ...notes.map((n) => `- ${n.text}`),
    '',
  ].join('\n');
  writeFileSync(RESULTS_FILE, withSections(text));
  log('wrote bench/RESULTS.md');
  process.stdout.write(`${text}\n`);
}

runBench(main);
