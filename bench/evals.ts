/*
 * The evaluation runner: (1) throughput: a 1,000-case suite against a local agent that answers in
 * 50 ms should take close to cases × 50 ms ÷ concurrency; (2) responsiveness: the Slack
 * approve-click acknowledgement (p50/p99) with no suite running and while a 500-case suite runs
 * against a slow agent (it must not change). Writes its lines between the evals markers of
 * bench/RESULTS.md. Everything runs on 127.0.0.1: the embedded MongoDB-compatible server (or
 * MONGODB_URI), Roster with its Slack channel against a fake Slack Web API, and the agents.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createSlackChannel } from '../src/channels/slack/index.js';
import { loadEvalSuites } from '../src/config/eval-suites.js';
import { FakeSlack } from '../test/helpers/fake-slack.js';
import { agentRecord, people } from '../test/helpers/harness.js';
import { buttonClick, interaction } from '../test/helpers/slack-requests.js';
import {
  machine,
  measure,
  openBenchDatabase,
  org,
  runBench,
  startBenchRoster,
  waitingRequests,
  writeSection,
  type Latency,
} from './support.js';
import { asAgentId } from '../test/helpers/ids.js';

const CASES = Number(process.env.BENCH_EVAL_CASES ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_EVAL_CONCURRENCY ?? 8);
const ANSWER_MS = 50;
/** The responsiveness part: a 500-case suite against an agent answering in 200 ms, and approve clicks. */
const SLOW_CASES = 500;
const SLOW_MS = 200;
const CLICKS = Number(process.env.BENCH_EVAL_CLICKS ?? 100);
const CLICK_CONCURRENCY = 4;
const NOAH = 'U04J5M9C1RF'; // approver:engineering

async function answering(ms: number): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"output":"ok","costUSD":0.0001}'), ms),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/answer` };
}

const suiteYaml = (n: number, concurrency: number) =>
  `concurrency: ${concurrency}\ncaseTimeout: 10s\nbudget: 10m\ncases:\n${Array.from(
    { length: n },
    (_, i) => `  - { id: c${i}, input: "question ${i}", grader: { type: contains, value: ok } }`,
  ).join('\n')}\n`;

async function main(): Promise<void> {
  const fast = await answering(ANSWER_MS);
  const slow = await answering(SLOW_MS);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roster-bench-evals-'));
  writeFileSync(path.join(dir, 'kb-answerer.yaml'), suiteYaml(CASES, CONCURRENCY));
  writeFileSync(path.join(dir, 'support-assistant.yaml'), suiteYaml(SLOW_CASES, 8));
  const slack = new FakeSlack();
  await slack.start();
  const database = await openBenchDatabase();
  const roster = await startBenchRoster(database.uri, `bench_evals_${Date.now()}`, slack.rosterEnv(), {
    suites: loadEvalSuites(dir, org),
    channels: [createSlackChannel],
  });
  try {
    const liam = people.liam;
    const insertAgent = async (id: string, catalogRoleId: string, url: string) => {
      await roster.services.agents.insert(
        agentRecord({
          id: asAgentId(id),
          name: `Bench ${id}`,
          catalogRoleId,
          sponsors: [liam],
          businessUnit: catalogRoleId === 'kb-answerer' ? 'engineering' : 'customer-support',
          purpose: 'Benchmark',
        }),
      );
      await roster.services.evaluations.registerEndpoint(liam, asAgentId(id), undefined, { kind: 'http', url });
    };
    const showRun = (evalRunId: string) =>
      roster.services.bus.execute(roster.services.bus.person(liam), { type: 'evaluation.show', evalRunId });
    const untilDone = async (runId: string) => {
      for (;;) {
        const r = (await showRun(runId)).run;
        if (r.status !== 'running') return r;
        await new Promise((res) => setTimeout(res, 50));
      }
    };
    await insertAgent('agt_benchevals', 'kb-answerer', fast.url);
    const t0 = performance.now();
    const run = await roster.services.evaluations.start(liam, { agentId: asAgentId('agt_benchevals'), purpose: 'rerun' });
    const done = await untilDone(run.id);
    const wallMs = performance.now() - t0;
    const ideal = (CASES * ANSWER_MS) / CONCURRENCY;
    const line = `| ${CASES}-case suite, agent answering in ${ANSWER_MS} ms, concurrency ${CONCURRENCY} | ${(wallMs / 1000).toFixed(2)} s wall | ideal ${(ideal / 1000).toFixed(2)} s (cases × ${ANSWER_MS} ms ÷ ${CONCURRENCY}) | ratio ×${(wallMs / ideal).toFixed(2)} | ${done.status}, ${done.passed}/${done.total} passed, p50 ${Math.round(done.metrics?.p50LatencyMs ?? 0)} ms, p95 ${Math.round(done.metrics?.p95LatencyMs ?? 0)} ms |`;
    process.stdout.write(`${line}\n`);

    // Responsiveness: approve clicks on waiting requests (results typed in by an IT admin), acknowledged by Bolt.
    const WARM_UP = 10;
    const runIds = await waitingRequests(roster, 2 * CLICKS + WARM_UP, 'Click Bench');
    const slackUrl = `${roster.baseUrl}/slack/events`;
    const clicks = (ids: string[]) =>
      measure(
        (i) => {
          const post = interaction(buttonClick(NOAH, 'approval_approve', JSON.stringify({ runId: ids[i], stepId: 'approvals' })));
          return fetch(slackUrl, { method: 'POST', headers: post.headers, body: post.body });
        },
        ids.length,
        CLICK_CONCURRENCY,
      );
    // The first clicks compile the handlers' code paths; they are not counted.
    await clicks(runIds.slice(2 * CLICKS));
    const idle = await clicks(runIds.slice(0, CLICKS));
    await insertAgent('agt_benchslow', 'support-assistant', slow.url);
    const slowRun = await roster.services.evaluations.start(liam, { agentId: asAgentId('agt_benchslow'), purpose: 'rerun' });
    // Let the run reach full concurrency before clicking.
    while ((await roster.db.connection.collection('eval_cases').countDocuments({ runId: slowRun.id })) < 16)
      await new Promise((r) => setTimeout(r, 50));
    const busy = await clicks(runIds.slice(CLICKS, 2 * CLICKS));
    const progress = (await showRun(slowRun.id)).run;
    const casesDuring = await roster.db.connection.collection('eval_cases').countDocuments({ runId: slowRun.id });
    const slowDone = await untilDone(slowRun.id);
    const ms = (n: number) => `${n.toFixed(1)} ms`;
    const ackLine = (label: string, r: Latency, floor?: Latency) =>
      `| Slack approve-click ack, ${CLICKS} clicks × ${CLICK_CONCURRENCY} in flight, ${label} | p50 ${ms(r.p50)} · p99 ${ms(r.p99)} · max ${ms(r.max)} | ${floor ? `p50 ${ms(floor.p50)} · p99 ${ms(floor.p99)} (no suite running)` : '–'} | ${floor ? `×${(r.p50 / floor.p50).toFixed(2)} p50 · ×${(r.p99 / floor.p99).toFixed(2)} p99` : '–'} | ${r.errors ? `${r.errors} not 200` : 'all 200'}, all within Slack's 3 s |`;
    const ackLines = [
      ackLine('no suite running', idle),
      ackLine(`during a ${SLOW_CASES}-case suite (agent answering in ${SLOW_MS} ms, concurrency 8)`, busy, idle),
    ];
    const overlap = `The ${SLOW_CASES}-case run was ${progress.status} with ${casesDuring} of ${SLOW_CASES} cases stored when the last click was acknowledged; it then ${slowDone.status} in ${((Date.parse(slowDone.finishedAt ?? slowDone.startedAt) - Date.parse(slowDone.startedAt)) / 1000).toFixed(1)} s.`;
    for (const l of [...ackLines, overlap]) process.stdout.write(`${l}\n`);
    if (idle.max >= 3000 || busy.max >= 3000) process.exitCode = 1;

    writeSection('evals', [
      '## Evaluation runner',
      '',
      `Written by \`npm run bench:evals\` on ${new Date().toISOString()} (${machine()}; ${database.label}). Each case is stored as it finishes (one insert, off the worker's path), so a restart resumes where it stopped. The ack rows click Approve on waiting requests through Roster's Slack endpoint (signed requests, the real Bolt receiver; the fake Slack Web API on 127.0.0.1 takes the card updates).`,
      '',
      '| measurement | Roster | floor | ratio | outcome |',
      '| --- | --- | --- | --- | --- |',
      line,
      ...ackLines,
      '',
      overlap,
    ]);
  } finally {
    await roster.stop();
    await database.stop();
    await slack.stop();
    fast.server.close();
    slow.server.close();
  }
}

runBench(main);
