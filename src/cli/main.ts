import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseEnv, type Env } from '../config/env.js';
import { ConfigError, loadOrgConfig } from '../config/org-config.js';
import { DEFAULT_CARDS_DIR } from '../cards/templates.js';
import { checkRenderedCard } from '../cards/checks.js';
import { createCardRenderer } from '../cards/render.js';
import { CARD_KINDS, type CardModel } from '../cards/view-models.js';
import { loadFlowDefinitions } from '../services.js';
import { validateEvalSuites } from '../config/eval-suites.js';
import { createLogger, type Logger } from '../logger.js';
import type { OrgConfig } from '../config/schemas.js';
import type { FlowDefinition } from '../flows/schema.js';
import { openDatabase, type Database } from '../store/database.js';
import { createAuditLog } from '../store/audit-store.js';
import { createAgentRepository } from '../store/agent-store.js';
import { AGENT_STATUSES, type AgentStatus } from '../core/lifecycle.js';
import { demoTour, seedDemo } from '../demo/seed-demo.js';
import { sha256 } from '../core/agents.js';
import { complianceCsv } from '../core/governance.js';
import { servicesFor } from '../demo/seed-demo.js';

/** Exit codes: 0 fine, 1 the check failed (tampering, invalid cards), 2 bad usage or configuration. */
const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const HELP: Record<string, string> = {
  '': `roster — administer Roster from the command line

Usage: roster <command> [options]

Commands:
  config check          validate config/*.yaml, flows/*.yaml and every card template, without starting Roster
  audit verify          check the audit log's hash chain; exit 1 naming the first bad entry
  audit export          print audit entries as JSON lines [--agent <id>] [--since <ISO time>] [--until <ISO time>]
  agents list           list agents [--status <status>[,<status>…]]
  archive <agent id>    print a retired agent's archive bundle (JSON) and check its SHA-256 digest
  compliance            the compliance report [--regulation <gdpr|ccpa|hipaa|…>] [--format json|csv]
  seed demo             seed the sample organisation's demo (agents, telemetry, check-ins, alerts); safe to repeat

The database is MONGODB_URI, or the embedded one under ROSTER_DATA_DIR (./data) when it is unset
(stop Roster first: the embedded database file is used by one process at a time).
Run "roster <command> --help" for a command's options.`,
  'config check': `roster config check [--config <dir>] [--flows <dir>] [--cards <dir>] [--evals <dir>]

Validates the organisation (default ROSTER_CONFIG_DIR or ./config), the flows (ROSTER_FLOWS_DIR or
./flows), the evaluation suites (ROSTER_EVALS_DIR or ./evals) and every card template (rendered for Slack and Teams from cards/samples and checked against
the platforms' limits). Prints one line per problem; exit 2 for configuration problems, 1 for cards.`,
  'audit verify': `roster audit verify

Walks the audit log's hash chain and reports the first entry that was edited, removed, reordered or
inserted. Exit 0 when intact, 1 when not.`,
  'audit export': `roster audit export [--agent <agent id>] [--since <ISO time>] [--until <ISO time>]

Prints matching audit entries, oldest first, one JSON object per line.`,
  archive: `roster archive <agent id>

Prints the agent's archive bundle (canonical JSON) to standard output and its SHA-256 digest to
standard error; exit 1 when the stored digest no longer matches the bundle.`,
  compliance: `roster compliance [--regulation <id>] [--format json|csv]

Per regulation: the agents touching each data class, their scopes carrying personal data, whether a
DPO approval is on record; the raw-event retention; and the gaps (personal-data scopes without DPO
approval, open fairness findings, overdue access reviews) with their sponsors.`,
  'seed demo': `roster seed demo

Seeds a dozen agents across every lifecycle status with their grants, 30 days of synthetic
telemetry (one drifting, one biased, one dormant, one shadow agent), runs their check-ins and
prints a short guided tour. Keys are deterministic: running it twice changes nothing.`,
  'agents list': `roster agents list [--status <status>[,<status>…]]

Prints one line per agent: id, status, name, role, business unit. Statuses: ${AGENT_STATUSES.join(', ')}.`,
};

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Runs the CLI; returns the exit code (the bin script exits with it). */
export async function runCli(argv: string[], io: Io = { out: (l) => console.log(l), err: (l) => console.error(l) }): Promise<number> {
  const [group = '', sub = ''] = argv;
  const command = ['config', 'audit', 'agents', 'seed'].includes(group) ? `${group} ${sub}`.trim() : group;
  const rest = argv.slice(command.split(' ').filter(Boolean).length);
  const positional = command === 'archive' && rest[0] && !rest[0].startsWith('-') ? rest.shift() : undefined;
  if (command === '' || command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP['']!);
    return command === '' ? EXIT.usage : EXIT.ok;
  }
  if (!HELP[command]) {
    io.err(`roster: unknown command "${argv.join(' ')}". Run "roster --help".`);
    return EXIT.usage;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: rest,
      options: {
        help: { type: 'boolean', short: 'h' },
        config: { type: 'string' },
        flows: { type: 'string' },
        evals: { type: 'string' },
        cards: { type: 'string' },
        agent: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        status: { type: 'string' },
        regulation: { type: 'string' },
        format: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    io.err(`roster ${command}: ${(err as Error).message}`);
    return EXIT.usage;
  }
  if (values.help) {
    io.out(HELP[command]!);
    return EXIT.ok;
  }
  const parsedEnv = parseEnv();
  if (!parsedEnv.ok) {
    parsedEnv.problems.forEach(io.err);
    return EXIT.usage;
  }
  const env = parsedEnv.env;
  switch (command) {
    case 'config check':
      return configCheck(io, {
        config: String(values.config ?? env.ROSTER_CONFIG_DIR),
        flows: String(values.flows ?? env.ROSTER_FLOWS_DIR),
        cards: String(values.cards ?? DEFAULT_CARDS_DIR),
        evals: String(values.evals ?? env.ROSTER_EVALS_DIR),
      });
    case 'audit verify':
      return withDatabase(io, env, async (db) => {
        const result = await createAuditLog(db.connection).verify();
        if (result.ok) {
          io.out(`audit log intact: ${result.checked} entries, head ${result.headHash}`);
          return EXIT.ok;
        }
        io.err(`audit log TAMPERED: ${result.firstBad.message} (checked ${result.checked} entries)`);
        return EXIT.failed;
      });
    case 'audit export': {
      const time = z.iso.datetime({ offset: true }).optional();
      const since = time.safeParse(values.since);
      const until = time.safeParse(values.until);
      if (!since.success || !until.success) {
        io.err('roster audit export: --since and --until take ISO times, e.g. 2026-11-01T00:00:00Z');
        return EXIT.usage;
      }
      return withDatabase(io, env, async (db) => {
        const entries = await createAuditLog(db.connection).export({
          ...(values.agent ? { agentId: String(values.agent) } : {}),
          ...(since.data ? { since: new Date(since.data) } : {}),
          ...(until.data ? { until: new Date(until.data) } : {}),
        });
        for (const entry of entries) io.out(JSON.stringify(entry));
        return EXIT.ok;
      });
    }
    case 'compliance': {
      const format = String(values.format ?? 'json');
      if (format !== 'json' && format !== 'csv') {
        io.err('roster compliance: --format is json or csv');
        return EXIT.usage;
      }
      return withServices(io, env, async (db, org, flows, log) => {
        const services = await servicesFor(db.connection, org, flows, log);
        const report = await services.governance.complianceReport(undefined, values.regulation ? String(values.regulation) : undefined);
        io.out(format === 'csv' ? complianceCsv(report).trimEnd() : JSON.stringify(report, null, 2));
        return EXIT.ok;
      });
    }
    case 'archive': {
      if (!positional) {
        io.err('roster archive: name the agent id, e.g. roster archive agt_0123456789abcdef');
        return EXIT.usage;
      }
      return withDatabase(io, env, async (db) => {
        const doc = await db.connection.collection('archives').findOne({ _id: positional as never });
        if (!doc) {
          io.err(`roster archive: no archive for ${positional} (is it retired?)`);
          return EXIT.failed;
        }
        const verified = sha256(String(doc.bundle)) === doc.digest;
        io.out(String(doc.bundle));
        io.err(`sha256 ${doc.digest} ${verified ? 'verified' : 'DOES NOT MATCH the bundle'}`);
        return verified ? EXIT.ok : EXIT.failed;
      });
    }
    case 'seed demo': {
      return withServices(io, env, async (db, org, flows, log) => {
        const result = await seedDemo(db.connection, org, flows, log);
        io.out(
          `seed demo: ${result.created} agents created, ${result.existing} already there, ${result.events} telemetry events, ${result.checkIns} check-ins, ${result.alerts} alerts`,
        );
        io.out(demoTour());
        return EXIT.ok;
      });
    }
    case 'agents list': {
      const statuses = values.status ? String(values.status).split(',') : undefined;
      const bad = statuses?.filter((s) => !AGENT_STATUSES.includes(s as AgentStatus));
      if (bad?.length) {
        io.err(`roster agents list: unknown status ${bad.join(', ')} (expected ${AGENT_STATUSES.join(', ')})`);
        return EXIT.usage;
      }
      return withDatabase(io, env, async (db) => {
        const agents = await createAgentRepository(db.connection).list({ ...(statuses ? { status: statuses as AgentStatus[] } : {}) });
        for (const a of agents) io.out([a.id, a.status, a.name, a.catalogRoleId, a.businessUnit].join('\t'));
        if (agents.length === 0) io.err('no agents match');
        return EXIT.ok;
      });
    }
  }
  return EXIT.usage;
}

function configCheck(io: Io, dirs: { config: string; flows: string; cards: string; evals: string }): number {
  const problems: string[] = [];
  let org;
  try {
    org = loadOrgConfig(dirs.config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  let flows;
  try {
    flows = loadFlowDefinitions(dirs.flows);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const suites = org ? validateEvalSuites(dirs.evals, org) : undefined;
  if (suites && !suites.ok) problems.push(...suites.problems);
  if (problems.length > 0) {
    problems.forEach(io.err);
    io.err(`config check: ${problems.length} problem(s)`);
    return EXIT.usage;
  }
  const cardProblems: string[] = [];
  const renderer = createCardRenderer({ cardsDir: dirs.cards });
  const samplesDir = path.join(dirs.cards, 'samples');
  const samples = readdirSync(samplesDir).filter((f) => f.endsWith('.json'));
  for (const kind of CARD_KINDS) if (!samples.includes(`${kind}.json`)) cardProblems.push(`${samplesDir}/${kind}.json: missing sample`);
  for (const file of samples) {
    const model = JSON.parse(readFileSync(path.join(samplesDir, file), 'utf8')) as CardModel;
    for (const platform of ['slack', 'teams'] as const) {
      try {
        for (const v of checkRenderedCard(renderer.render(platform, model)))
          cardProblems.push(`cards/${platform}/${model.kind}.hbs: ${v.path}: ${v.message}`);
      } catch (err) {
        cardProblems.push(`cards/${platform}/${model.kind}.hbs: ${(err as Error).message}`);
      }
    }
  }
  cardProblems.forEach(io.err);
  if (cardProblems.length > 0) {
    io.err(`config check: ${cardProblems.length} card problem(s)`);
    return EXIT.failed;
  }
  io.out(
    `config check: OK — ${org!.people.length} people, ${org!.scopes.length} scopes, ${org!.catalog.length} catalog roles, ${flows!.size} flows, ${CARD_KINDS.length} card kinds × 2 platforms, ${suites?.ok ? suites.suites.size : 0} evaluation suites`,
  );
  return EXIT.ok;
}

/** Loads the configuration and flows, then opens the database; configuration problems exit 2. */
async function withServices(
  io: Io,
  env: Env,
  work: (db: Database, org: OrgConfig, flows: Map<string, FlowDefinition>, log: Logger) => Promise<number>,
): Promise<number> {
  let org: OrgConfig;
  let flows: Map<string, FlowDefinition>;
  try {
    org = loadOrgConfig(env.ROSTER_CONFIG_DIR);
    flows = loadFlowDefinitions(env.ROSTER_FLOWS_DIR);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    err.problems.forEach(io.err);
    return EXIT.usage;
  }
  const log = createLogger({ level: 'warn', pretty: false, destination: process.stderr });
  return withDatabase(io, env, (db) => work(db, org, flows, log));
}

async function withDatabase(io: Io, env: Env, work: (db: Database) => Promise<number>): Promise<number> {
  const log = createLogger({ level: 'warn', pretty: false, destination: process.stderr });
  let db: Database;
  try {
    db = await openDatabase({ uri: env.MONGODB_URI, dataDir: env.ROSTER_DATA_DIR }, log);
  } catch (err) {
    io.err(`roster: cannot open the database: ${(err as Error).message}`);
    return EXIT.failed;
  }
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}
