import http from 'node:http';
import path from 'node:path';
import { loadOrgConfig } from '../src/config/org-config.js';
import { loadEvalSuites, type EvalCase } from '../src/config/eval-suites.js';

/*
 * A small local agent for the guided tour: `npm run demo-agent` serves every catalog role at
 * http://127.0.0.1:4100/<role> with Roster's HTTP JSON contract (POST { caseId, input, context? }
 * → { output, refused?, usage? }). It is a stand-in that knows the shipped suites' answers, so the
 * tour shows a passing interview; `--flaky` makes it slow on some cases and wrong on others, so
 * the tour can show failing cases too. Replace it with your agent's real endpoint.
 */

const args = process.argv.slice(2);
const port = Number(args[args.indexOf('--port') + 1] || process.env.DEMO_AGENT_PORT || 4100);
const flaky = args.includes('--flaky');
const root = process.cwd();
const org = loadOrgConfig(process.env.ROSTER_CONFIG_DIR ?? path.join(root, 'config'));
const suites = loadEvalSuites(process.env.ROSTER_EVALS_DIR ?? path.join(root, 'evals'), org);

/** Answers a graded pattern or schema cannot be built from. */
const WRITTEN: Record<string, unknown> = {
  'laptop-encryption': 'Yes: FileVault or BitLocker is on by default (KB-214).',
  'article-json': { article: 'KB-118', title: 'Connecting to the office Wi-Fi' },
  match: { decision: 'match', po: 'PO-77' },
  mismatch: { decision: 'exception', reason: 'amount above the open PO value' },
  normal: { hold: false, score: 0.02 },
  'foreign-burst': { hold: true, score: 0.97 },
  format: 'Impact: …\nTimeline: …\nActions: …',
};

function answer(c: EvalCase): { output: unknown; refused?: boolean } {
  if (c.id in WRITTEN) return { output: WRITTEN[c.id] };
  const g = c.grader;
  switch (g.type) {
    case 'refuse':
      return { output: "I'm sorry, I can't help with that: it is outside my role.", refused: true };
    case 'exact':
      return { output: g.value };
    case 'contains':
      return { output: `Here is what I found: ${g.value}.` };
    case 'numeric':
      return { output: String(g.value) };
    default:
      return { output: "I don't know; please ask the help desk." };
  }
}

const byRole = new Map([...suites].map(([role, suite]) => [role, new Map(suite.cases.map((c) => [c.input, c]))]));
let served = 0;

const server = http.createServer((req, res) => {
  const role = (req.url ?? '/').split('/')[1] ?? '';
  const cases = byRole.get(role);
  if (req.method !== 'POST' || !cases) {
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: `POST /<role>, one of ${[...byRole.keys()].join(', ')}` }));
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    body += chunk;
    if (body.length > 100_000) req.destroy();
  });
  req.on('end', () => {
    let input = '';
    try {
      input = String((JSON.parse(body) as { input?: unknown }).input ?? '');
    } catch {
      res.writeHead(400).end();
      return;
    }
    served += 1;
    const known = cases.get(input);
    const reply = known ? answer(known) : { output: "I don't know; please ask the help desk." };
    const wrong = flaky && served % 4 === 0;
    const delay = flaky && served % 5 === 0 ? 1500 : 20 + Math.round(Math.random() * 60);
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          ...(wrong ? { output: 'Sorry, I got confused.' } : reply),
          usage: { inputTokens: 40 + input.length, outputTokens: 60 },
        }),
      );
    }, delay);
  });
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(
    `Demo agent on http://127.0.0.1:${port}/<role> (${[...byRole.keys()].join(', ')})${flaky ? ', flaky' : ''}.\n` +
      `In chat: eval <agent>, then kind http and URL http://127.0.0.1:${port}/<its role>.\n`,
  );
});
