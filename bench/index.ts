/*
 * `npm run bench`: Roster against a floor measured in the same run, on this machine, written to
 * bench/RESULTS.md. Everything runs on 127.0.0.1 against one embedded MongoDB-compatible server
 * (mongo-java-server, in-memory backend) started here, or MONGODB_URI when set.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import express from 'express';
import mongoose from 'mongoose';
import bolt from '@slack/bolt';
import { createSlackChannel } from '../src/channels/slack/index.js';
import { createTeamsChannel } from '../src/channels/teams/index.js';
import { issueTelemetryKey, newAgentId, type AgentRecord } from '../src/core/agents.js';
import { FakeConnector } from '../test/helpers/fake-connector.js';
import { FakeSlack } from '../test/helpers/fake-slack.js';
import { agentRecord as baseAgentRecord } from '../test/helpers/harness.js';
import { buttonClick, interaction, SIGNING_SECRET } from '../test/helpers/slack-requests.js';
import { TeamsClient, teamsUser } from '../test/channels/teams/teams-client.js';
import {
  benchLog,
  elapsedSeconds,
  floorServer,
  fmt,
  machine,
  measure,
  openBenchDatabase,
  RESULTS_FILE,
  runBench,
  sectionsOf,
  startBenchRoster,
  waitingRequests,
  type BenchRoster,
  type Latency,
} from './support.js';

const NOAH = { id: 'U04J5M9C1RF', email: 'noah.fischer@brightwater.example' };
const DAY = 86_400_000;
const rows: string[] = [];
const notes: string[] = [];

const log = benchLog('bench');

function latencyRows(name: string, roster: Latency, floor: Latency, floorName: string): void {
  rows.push(
    `| ${name}: Roster | ${fmt(roster.p50)} ms | ${fmt(roster.p95)} ms | ${fmt(roster.p99)} ms | ${fmt(roster.perSecond, 0)}/s | errors ${roster.errors} |`,
    `| ${name}: ${floorName} | ${fmt(floor.p50)} ms | ${fmt(floor.p95)} ms | ${fmt(floor.p99)} ms | ${fmt(floor.perSecond, 0)}/s | |`,
    `| ${name}: ratio Roster / floor | ×${fmt(roster.p50 / floor.p50)} | ×${fmt(roster.p95 / floor.p95)} | ×${fmt(roster.p99 / floor.p99)} | ×${fmt(floor.perSecond / roster.perSecond)} slower | |`,
  );
}

/** Approve clicks on each waiting run, posted to `url` as Slack sends them (signed). */
function clicksOn(url: string, runIds: readonly string[], concurrency: number): Promise<Latency> {
  const bodies = runIds.map((runId) =>
    interaction(buttonClick(NOAH.id, 'approval_approve', JSON.stringify({ runId, stepId: 'approvals' }))),
  );
  return measure((i) => fetch(url, { method: 'POST', headers: bodies[i]!.headers, body: bodies[i]!.body }), bodies.length, concurrency);
}

async function benchSlack(roster: BenchRoster, clicks: number, concurrency: number, slack: FakeSlack): Promise<void> {
  log(`Slack: preparing ${clicks} waiting runs`);
  const runIds = await waitingRequests(roster, clicks, 'Slack Bench', 8);
  log('Slack: clicking');
  const ours = await clicksOn(`${roster.baseUrl}/slack/events`, runIds, concurrency);

  // The floor: a bare Bolt app on the same receiver that only acknowledges.
  const receiver = new bolt.ExpressReceiver({ signingSecret: SIGNING_SECRET });
  // Bolt's start-up auth.test goes to the fake Slack Web API, as Roster's does: the bench talks to 127.0.0.1 only.
  const app = new bolt.App({
    token: 'xoxb-bench',
    receiver,
    deferInitialization: true,
    clientOptions: { slackApiUrl: slack.apiUrl },
    logLevel: bolt.LogLevel.ERROR,
  });
  app.action('approval_approve', async ({ ack }) => {
    await ack();
  });
  await app.init();
  const server = await floorServer(receiver.app);
  const floor = await clicksOn(`${server.url}/slack/events`, runIds, concurrency);
  await server.close();
  latencyRows(`Slack approve click, ${clicks} × ${concurrency} in flight`, ours, floor, 'bare Bolt ack');
}

async function benchTeams(roster: BenchRoster, clicks: number, concurrency: number, connector: FakeConnector): Promise<void> {
  log(`Teams: preparing ${clicks} waiting runs`);
  const runIds = await waitingRequests(roster, clicks, 'Teams Bench', 8);
  const client = new TeamsClient(roster.baseUrl, connector.serviceUrl);
  const noah = teamsUser(roster.chat.person(NOAH.email)!);
  await client.install(noah);
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
  log('Teams: clicking');
  const ours = await measure(
    (i) => fetch(`${roster.baseUrl}/api/messages`, { method: 'POST', headers, body: activity(runIds[i]!) }),
    runIds.length,
    concurrency,
  );
  // The floor: an Express endpoint that parses the activity and answers an invoke response at once.
  const bare = express();
  bare.post('/api/messages', express.json({ limit: '1mb' }), (_req, res) => {
    res.json({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: 'ok' });
  });
  const server = await floorServer(bare);
  const floor = await measure(
    (i) => fetch(`${server.url}/api/messages`, { method: 'POST', headers, body: activity(runIds[i]!) }),
    runIds.length,
    concurrency,
  );
  await server.close();
  latencyRows(`Teams Action.Execute approve, ${clicks} × ${concurrency} in flight`, ours, floor, 'bare Express endpoint');
  notes.push(
    'Teams answers Action.Execute with the updated card in the invoke response, so its time includes the decision itself (read the run, record the decision, audit, render); Slack acknowledges first and works after the ack.',
  );
}

/** An active kb-answerer sponsored by Noah, 40 days old. */
function agentRecord(name: string, key?: ReturnType<typeof issueTelemetryKey>, id = newAgentId()): AgentRecord {
  const then = new Date(Date.now() - 40 * DAY).toISOString();
  return baseAgentRecord({
    id,
    name,
    catalogRoleId: 'kb-answerer',
    sponsors: [NOAH.email],
    businessUnit: 'engineering',
    purpose: 'Benchmark agent.',
    credentials: key ? [key.credential] : [],
    createdAt: then,
    updatedAt: then,
    statusChangedAt: then,
  });
}

function telemetryEvents(agentId: string, count: number, offset: number) {
  return Array.from({ length: count }, (_, i) => ({
    eventId: `e-${offset + i}`,
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

async function benchIngest(roster: BenchRoster, raw: mongoose.Connection): Promise<void> {
  for (const size of [100, 1000]) {
    const batches = size === 100 ? 100 : 20;
    const id = newAgentId();
    const key = issueTelemetryKey(id, new Date());
    await roster.services.agents.insert(agentRecord(`Ingest ${size}`, key, id));
    const bodies = Array.from({ length: batches }, (_, b) => telemetryEvents(id, size, b * size));
    log(`ingest: ${batches} batches of ${size}`);
    const commandsBefore = rosterCommands;
    let t0 = performance.now();
    for (const events of bodies) {
      const res = await fetch(`${roster.baseUrl}/api/v1/telemetry`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` },
        body: JSON.stringify({ events }),
      });
      const report = (await res.json()) as { accepted: number };
      if (report.accepted !== size) throw new Error(`ingest accepted ${report.accepted} of ${size}`);
    }
    // The error-spike checks run after each reply: the time and the commands include them.
    await roster.services.supervision.ingest.idle();
    const ours = (batches * size) / ((performance.now() - t0) / 1000);
    const commands = (rosterCommands - commandsBefore) / batches;
    const collection = raw.db!.collection(`bench_raw_${size}`);
    t0 = performance.now();
    for (const events of bodies) {
      await collection.insertMany(events.map((e) => ({ _id: `${e.agentId}:${e.eventId}` as never, ...e, time: new Date(e.time) })));
    }
    const floor = (batches * size) / ((performance.now() - t0) / 1000);
    rows.push(
      `| telemetry ingest, batches of ${size} (${batches * size} events) | Roster ${fmt(ours, 0)} events/s | raw insertMany ${fmt(floor, 0)} events/s | ratio ×${fmt(floor / ours)} slower (Roster at ×${fmt(ours / floor, 2)} of the floor) | ${fmt(commands, 1)} commands per batch |  |`,
    );
  }
  notes.push(
    "Ingest validates each event, inserts raw events (unique per agent and event id), then updates the hourly and daily rollups ($inc upserts summed in memory per agent-hour and agent-day) and the newest event times, one unordered bulkWrite per collection, both in flight together; the error-spike check reads the batch agents' hourly rollups in one query after the reply (included in the time). Commands per batch count everything Roster sent meanwhile (the key is read once per cache lifetime). One raw insertMany is the floor.",
  );
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

/** The rows and notes a `BENCH_ONLY=ingest` run owns in bench/RESULTS.md. */
const INGEST_LINES = ['| telemetry ingest', '- Ingest validates'];

/** The rows and notes a `BENCH_ONLY=sweep` run owns in bench/RESULTS.md (older wordings included). */
const SWEEP_LINES = [
  '| check-in sweep',
  '- Sweep',
  '- Raw events like with like',
  '- Commands are counted',
  '- mongo-java-server ignores non-unique indexes',
  '| memory: RSS after the sweeps',
];

/** Database commands Roster sent (the driver's command monitoring on Roster's own connection). */
let rosterCommands = 0;

/** RSS of this process after a full garbage collection (run with --expose-gc), in MB. */
function rssAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().rss / 1024 / 1024;
}

interface SweepRound {
  agents: number;
  ms: number;
  commands: number;
  ran: number;
  rssMb: number;
}

async function benchSweep(roster: BenchRoster, agents: number, rawEventsPerAgent: number, record = true): Promise<SweepRound> {
  const db = roster.db.connection.db!;
  // Each round starts from the same state: no telemetry, check-ins or claims of earlier rounds.
  for (const name of ['telemetry_rollups', 'telemetry_events', 'telemetry_last', 'checkins', 'checkin_schedule', 'checkin_claims'])
    await db.collection(name).deleteMany({});
  log(`sweep: inserting ${agents} agents, 30 days of rollups each, ${rawEventsPerAgent} raw events each`);
  const tag = `${agents}-${rawEventsPerAgent}-${Date.now()}`;
  for (let offset = 0; offset < agents; offset += 500) {
    const chunk = Array.from({ length: Math.min(500, agents - offset) }, (_, i) => agentRecord(`Sweep ${tag} ${offset + i}`));
    await db
      .collection('agents')
      .insertMany(chunk.map(({ id, ...rest }) => ({ _id: id as never, liveNameKey: `engineering/${rest.name.toLowerCase()}`, ...rest })));
    await db
      .collection('telemetry_rollups')
      .insertMany(chunk.flatMap((a) => Array.from({ length: 30 }, (_, d) => rollupDoc(a.id, d, 100))) as never[]);
    // What ingest keeps beside the rollups: each agent's newest event time (dormancy reads it).
    await db.collection('telemetry_last').insertMany(chunk.map((a) => ({ _id: a.id as never, lastEventAt: new Date() })));
    if (rawEventsPerAgent > 0) {
      await db
        .collection('telemetry_events')
        .insertMany(
          chunk.flatMap((a) =>
            telemetryEvents(a.id, rawEventsPerAgent, 0).map((e) => ({ _id: `${a.id}:${e.eventId}`, ...e, time: new Date(e.time) })),
          ) as never[],
        );
    }
  }
  log(`sweep: running over ${agents} active agents${record ? '' : ' (warm-up)'}`);
  const commandsBefore = rosterCommands;
  const t0 = performance.now();
  const result = await roster.services.supervision.checkins.sweep(new Date());
  const ms = performance.now() - t0;
  const commands = rosterCommands - commandsBefore;
  const rssMb = rssAfterGc();
  if (record) {
    rows.push(
      `| check-in sweep, ${fmt(agents, 0)} agents × 30 days of rollups${rawEventsPerAgent ? `, ${rawEventsPerAgent} raw events each` : ''} | ${fmt(ms / 1000)} s wall | ${fmt(ms / Math.max(1, result.ran), 2)} ms per agent | ${fmt(commands, 0)} commands (${fmt(commands / Math.max(1, result.ran), 3)} per agent) | ran ${result.ran} | RSS after GC ${fmt(rssMb, 0)} MB |`,
    );
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
  return { agents, ms, commands, ran: result.ran, rssMb };
}

/** The sweep rows: a warm-up round, each size, then like-for-like raw-event volume (R against 5R per agent). */
async function benchSweeps(roster: BenchRoster, sizes: readonly number[]): Promise<void> {
  await benchSweep(roster, 200, 0, false);
  const rounds: SweepRound[] = [];
  for (const size of sizes) rounds.push(await benchSweep(roster, size, 0));
  const small = rounds[0]!;
  const large = rounds[rounds.length - 1]!;
  if (rounds.length > 1) {
    notes.push(
      `Sweep time per agent from ${fmt(small.agents, 0)} to ${fmt(large.agents, 0)} agents: ${fmt(small.ms / small.ran, 2)} → ${fmt(large.ms / large.ran, 2)} ms (×${fmt(large.ms / large.ran / (small.ms / small.ran), 2)}); commands per agent ${fmt(small.commands / small.ran, 3)} → ${fmt(large.commands / large.ran, 3)}. Goal: 10,000 agents under 15 s, flat per agent.`,
    );
  }
  const base = 20;
  const light = await benchSweep(roster, small.agents, base);
  const heavy = await benchSweep(roster, small.agents, 5 * base);
  notes.push(
    `Raw events like with like: ${fmt(small.agents, 0)} agents with ${base} raw events each took ${fmt(light.ms / 1000, 2)} s (${fmt(light.commands, 0)} commands), with ${5 * base} each ${fmt(heavy.ms / 1000, 2)} s (${fmt(heavy.commands, 0)} commands): ×${fmt(heavy.ms / light.ms, 2)}. A check-in reads daily rollups by key and one last-event document per agent, never raw events.`,
    `Commands are counted with the MongoDB driver's command monitoring on Roster's own connection (\`monitorCommands=true\` in its URI); a warm-up sweep of 200 agents runs first and is not reported. RSS is this process's after a full GC (\`--expose-gc\`): with BENCH_ONLY=sweep it holds Roster and the fake Slack only; the database runs in its own Java process.`,
  );
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY;
  if (only !== undefined && only !== 'sweep' && only !== 'ingest')
    throw new Error(`BENCH_ONLY=${only}: only "sweep" and "ingest" are supported`);
  const slackClicks = Number(process.env.BENCH_CLICKS ?? 300);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
  const sweepSizes = (process.env.BENCH_SWEEP_SIZES ?? '1000,10000').split(',').map(Number);
  const db = await openBenchDatabase();
  const database = db.label;
  const slack = new FakeSlack();
  await slack.start();
  const connector = await FakeConnector.start();
  const monitored = `${db.uri}${db.uri.includes('?') ? '&' : '?'}monitorCommands=true`;
  const roster = await startBenchRoster(monitored, `bench_${Date.now()}`, slack.rosterEnv(), {
    channels: [createSlackChannel, createTeamsChannel],
  });
  roster.db.connection.getClient().on('commandStarted', () => (rosterCommands += 1));
  const raw = await mongoose.createConnection(db.uri, { dbName: `bench_raw_${Date.now()}` }).asPromise();
  try {
    if (!only) {
      await benchSlack(roster, slackClicks, concurrency, slack);
      await benchTeams(roster, slackClicks, concurrency, connector);
    }
    if (!only || only === 'ingest') await benchIngest(roster, raw);
    if (only !== 'ingest') await benchSweeps(roster, sweepSizes);
    if (!only) {
      log('memory: loading 10,000 agents');
      const agentsCollection = roster.db.connection.db!.collection('agents');
      for (let offset = 0; offset < 10_000; offset += 1000) {
        const chunk = Array.from({ length: 1000 }, (_, i) => agentRecord(`Memory ${offset + i}`));
        await agentsCollection.insertMany(
          chunk.map(({ id, ...rest }) => ({ _id: id as never, liveNameKey: `engineering/${rest.name.toLowerCase()}`, ...rest })),
        );
      }
      const loaded = await roster.services.agents.list({ status: ['active', 'probation'], limit: 0 });
      const mem = process.memoryUsage();
      rows.push(
        `| memory: RSS with ${fmt(loaded.length, 0)} agents loaded (the sweep's agent list) | ${fmt(mem.rss / 1024 / 1024, 0)} MB | heap used ${fmt(mem.heapUsed / 1024 / 1024, 0)} MB | | |  |`,
      );
      notes.push(
        'RSS in the full run is the bench process, which holds Roster, its HTTP server, the fake Slack and Bot Connector, and the load generator; the database runs in its own Java process.',
      );
    }
  } finally {
    await raw.dropDatabase().catch(() => undefined);
    await raw.close();
    await roster.stop();
    await slack.stop();
    await connector.close();
    await db.stop();
  }
  // The other benches' sections (bench/agent-api.ts, evals.ts, runtime-approvals.ts, scim.ts, webhooks.ts) are kept as they are.
  const previous = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : '';
  const sections = sectionsOf(previous);
  const withSections = (text: string) => [text, ...sections.flatMap((x) => [x, ''])].join('\n');
  if (only && previous) {
    // A partial run replaces its own rows and notes and keeps the others from the last full run;
    // the sections are set aside, so rows and notes go into this bench's table only.
    let rest = previous;
    for (const section of sections) rest = rest.replace(section, '').trimEnd() + '\n';
    const lines = rest.split('\n');
    const mine = (line: string) => (only === 'ingest' ? INGEST_LINES : SWEEP_LINES).some((prefix) => line.startsWith(prefix));
    const kept = lines.filter((line) => !mine(line));
    const lastRow = kept.reduce((at, line, i) => (line.startsWith('|') ? i : at), -1);
    kept.splice(lastRow + 1, 0, ...rows);
    kept.splice(kept.length - (kept[kept.length - 1] === '' ? 1 : 0), 0, ...notes.map((n) => `- ${n}`));
    kept.splice(
      kept.findIndex((line) => line.startsWith('- Sizes:')) + 1,
      0,
      `- ${only === 'ingest' ? 'Ingest' : 'Sweep'} rows re-measured with \`BENCH_ONLY=${only}\` on ${new Date().toISOString()} in ${fmt(elapsedSeconds(), 0)} s (database: ${database}; sweep sizes ${sweepSizes.join(', ')}).`,
    );
    writeFileSync(RESULTS_FILE, withSections(kept.join('\n')));
    log(`updated the ${only} rows of bench/RESULTS.md`);
    process.stdout.write(`${kept.join('\n')}\n`);
    return;
  }
  const text = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString()} in ${fmt(elapsedSeconds(), 0)} s.`,
    '',
    `- Machine: ${machine()}`,
    `- Database: ${database}; Roster and the load generator share the machine.`,
    `- Sizes: ${only ? `only the ${only} rows (BENCH_ONLY=${only})` : `${slackClicks} clicks per platform with ${concurrency} in flight`}; sweep sizes ${sweepSizes.join(', ')} agents (set BENCH_ONLY, BENCH_CLICKS, BENCH_CONCURRENCY, BENCH_SWEEP_SIZES to change).`,
    '',
    '| measurement | p50 / value | p95 / floor | p99 / ratio | throughput | |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
  writeFileSync(RESULTS_FILE, withSections(text));
  log('wrote bench/RESULTS.md');
  process.stdout.write(`${text}\n`);
}

runBench(main);
