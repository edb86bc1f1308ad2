/*
 * The evaluation runner's throughput: a 1,000-case suite against a local agent that answers in
 * 50 ms should take close to cases × 50 ms ÷ concurrency. Writes its lines to the end of
 * bench/RESULTS.md (section "Evaluation runner"). Everything runs on 127.0.0.1: the embedded
 * MongoDB-compatible server (or MONGODB_URI), Roster without chat channels, and the agent.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRoster } from '../src/app.js';
import { envSchema } from '../src/config/env.js';
import { loadEvalSuites } from '../src/config/eval-suites.js';
import { loadOrgConfig } from '../src/config/org-config.js';
import { createLogger } from '../src/logger.js';
import { loadFlowDefinitions } from '../src/services.js';
import { startEmbeddedMongo, type EmbeddedMongo } from '../src/store/embedded/embedded-mongo.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CASES = Number(process.env.BENCH_EVAL_CASES ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_EVAL_CONCURRENCY ?? 8);
const ANSWER_MS = 50;

const agent = http.createServer((req, res) => {
  req.resume();
  req.on('end', () =>
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"output":"ok","costUSD":0.0001}'), ANSWER_MS),
  );
});
await new Promise<void>((r) => agent.listen(0, '127.0.0.1', r));
const agentUrl = `http://127.0.0.1:${(agent.address() as AddressInfo).port}/answer`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'roster-bench-evals-'));
const cases = Array.from({ length: CASES }, (_, i) => `  - { id: c${i}, input: "question ${i}", grader: { type: contains, value: ok } }`);
writeFileSync(
  path.join(dir, 'kb-answerer.yaml'),
  `concurrency: ${CONCURRENCY}\ncaseTimeout: 10s\nbudget: 10m\ncases:\n${cases.join('\n')}\n`,
);

let mongo: EmbeddedMongo | undefined;
let uri = process.env.MONGODB_URI;
if (!uri) {
  mongo = await startEmbeddedMongo({ backend: 'memory' });
  uri = mongo.uri;
}
const org = loadOrgConfig(path.join(root, 'config'));
const roster = await startRoster({
  env: envSchema.parse({ NODE_ENV: 'test', PORT: '0', MONGODB_URI: uri, LOG_LEVEL: 'silent' }),
  org,
  flows: loadFlowDefinitions(path.join(root, 'flows')),
  suites: loadEvalSuites(dir, org),
  log: createLogger({ level: 'silent', pretty: false }),
  channels: [],
  dbName: `bench_evals_${Date.now()}`,
  host: '127.0.0.1',
});
try {
  const liam = 'liam.oneill@brightwater.example';
  const now = new Date().toISOString();
  const id = 'agt_benchevals';
  await roster.services.agents.insert({
    id,
    name: 'Bench Answerer',
    catalogRoleId: 'kb-answerer',
    version: '1.0.0',
    sponsors: [liam],
    businessUnit: 'engineering',
    status: 'active',
    purpose: 'Benchmark',
    requestedBy: liam,
    requestRunId: 'run_bench',
    credentials: [],
    knowledgeNotes: [],
    complianceTags: [],
    createdAt: now,
    updatedAt: now,
    statusChangedAt: now,
  });
  await roster.services.evaluations.registerEndpoint(liam, id, undefined, { kind: 'http', url: agentUrl });
  const t0 = performance.now();
  const run = await roster.services.evaluations.start(liam, { agentId: id, purpose: 'rerun' });
  let done;
  for (;;) {
    done = (await roster.services.evaluations.visibleRun(liam, run.id)).run;
    if (done.status !== 'running') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const wallMs = performance.now() - t0;
  const ideal = (CASES * ANSWER_MS) / CONCURRENCY;
  const line = `| ${CASES}-case suite, agent answering in ${ANSWER_MS} ms, concurrency ${CONCURRENCY} | ${(wallMs / 1000).toFixed(2)} s wall | ideal ${(ideal / 1000).toFixed(2)} s (cases × ${ANSWER_MS} ms ÷ ${CONCURRENCY}) | ratio ×${(wallMs / ideal).toFixed(2)} | ${done.status}, ${done.passed}/${done.total} passed, p50 ${Math.round(done.metrics?.p50LatencyMs ?? 0)} ms, p95 ${Math.round(done.metrics?.p95LatencyMs ?? 0)} ms |`;
  process.stdout.write(`${line}\n`);
  const results = path.join(root, 'bench/RESULTS.md');
  const section = `<!-- evals -->\n## Evaluation runner (\`npm run bench:evals\`)\n\nWritten on ${new Date().toISOString()} (${os.cpus().length} cores, Node ${process.version}, ${mongo ? 'embedded mongo-java-server, in-memory' : 'MONGODB_URI'}). Each case is stored as it finishes (one insert, off the worker's path), so a restart resumes where it stopped.\n\n| measurement | Roster | floor | ratio | outcome |\n| --- | --- | --- | --- | --- |\n${line}\n<!-- /evals -->`;
  const text = readFileSync(results, 'utf8');
  // Only this bench's section is replaced; the other benches write their own.
  writeFileSync(
    results,
    text.includes('<!-- evals -->') ? text.replace(/<!-- evals -->[\s\S]*?<!-- \/evals -->/, section) : `${text.trimEnd()}\n\n${section}\n`,
  );
} finally {
  await roster.stop();
  await mongo?.stop();
  agent.close();
}
