import { readdirSync, readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import path from 'node:path';
import { Argument, Command, CommanderError, Option } from 'commander';
import { z } from 'zod';
import { parseEnv, type Env } from '../config/env.js';
import { ConfigError, loadOrgConfig } from '../config/org-config.js';
import { DEFAULT_CARDS_DIR } from '../cards/templates.js';
import { checkRenderedCard } from '../cards/checks.js';
import { createCardRenderer } from '../cards/render.js';
import { CARD_KINDS } from '../cards/view-models.js';
import { loadFlowDefinitions } from '../flows/steps.js';
import { OUTBOX_HOLDERS } from '../store/outbox-holders.js';
import { composeTools } from '../compose.js';
import { createOutboxRepository } from '../store/outbox-store.js';
import { validateEvalSuites } from '../config/eval-suites.js';
import { createLogger, type Logger } from '../logger.js';
import type { OrgConfig } from '../config/schemas.js';
import type { FlowDefinition } from '../flows/schema.js';
import { openDatabase, type Database } from '../store/database.js';
import { AUDIT_COLLECTION, createAuditLog } from '../store/audit-store.js';
import { createAgentRepository } from '../store/agent-store.js';
import { AGENT_STATUSES, type AgentStatus } from '../core/lifecycle.js';
import { demoTour, seedDemo } from '../demo/seed-demo.js';
import { sha256 } from '../core/agents.js';
import { complianceCsv } from '../core/governance.js';
import { createProgress } from '../progress.js';
import { completionScript, SHELLS, type Shell } from './completion.js';
import type { Actor, AuditInput } from '../core/audit.js';
import {
  AuditCheckpoints,
  CheckpointRefusedError,
  type CheckpointAssessment,
  type CheckpointSigner,
  type CheckpointVerifier,
} from '../core/audit-checkpoints.js';
import { createCheckpointStore } from '../store/audit-checkpoint-store.js';
import {
  AuditKeyError,
  exportAuditPublicKey,
  loadAuditSigner,
  loadAuditVerifyKeys,
  readAuditPublicKeys,
} from '../config/audit-signing-key.js';
import { idOrUndefined, isWellFormedId } from '../core/ids.js';

/** Exit codes: 0 fine, 1 the check failed (tampering, invalid cards), 2 bad usage or configuration. */
const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Whether standard error is a terminal (progress bars); false when unset. */
  errIsTTY?: boolean;
}

const DATABASE_NOTE = `The database is MONGODB_URI, or the embedded one under ROSTER_DATA_DIR (./data) when it is unset;
while Roster runs, the CLI uses the running Roster's embedded database.`;

/** Roster's version, from package.json (one level above src/ and dist/). */
function version(): string {
  const pkg = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

const lines = (text: string) => text.replace(/\n$/, '');

/**
 * Builds the command tree. `run` receives each action's exit code. Exported for shell completion,
 * which is generated from the same tree.
 */
export function buildProgram(io: Io, run: (code: Promise<number>) => void): Command {
  const program = new Command('roster');
  program
    .description('administer Roster from the command line')
    .version(version(), '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .addHelpText('after', `\n${DATABASE_NOTE}\nRun "roster <command> --help" for a command's options.`)
    .exitOverride()
    .showSuggestionAfterError(true);
  const json = (what = 'print JSON instead of text') => new Option('--json', what);
  /** A command's action: it gets the parsed environment (problems with it exit 2) and its exit code goes to `run`. */
  const action =
    <A extends unknown[]>(work: (env: Env, ...args: A) => Promise<number> | number) =>
    (...args: A) =>
      run(withEnv(io, async (env) => work(env, ...args)));

  const config = program.command('config').description('check the configuration');
  config
    .command('check')
    .description(
      "validate config/*.yaml, flows/*.yaml, the evaluation suites (evals/*.yaml) and every card template (rendered for Slack and Teams from cards/samples and checked against the platforms' limits), without starting Roster; one line per problem, exit 2 for configuration problems, 1 for cards",
    )
    .option('--config <dir>', 'the organisation (default ROSTER_CONFIG_DIR or ./config)')
    .option('--flows <dir>', 'the flows (default ROSTER_FLOWS_DIR or ./flows)')
    .option('--cards <dir>', 'the card templates', DEFAULT_CARDS_DIR)
    .option('--evals <dir>', 'the evaluation suites (default ROSTER_EVALS_DIR or ./evals)')
    .addOption(json())
    .action(
      action((env, opts: { config?: string; flows?: string; cards: string; evals?: string; json?: boolean }) =>
        configCheck(
          io,
          {
            config: opts.config ?? env.ROSTER_CONFIG_DIR,
            flows: opts.flows ?? env.ROSTER_FLOWS_DIR,
            cards: opts.cards,
            evals: opts.evals ?? env.ROSTER_EVALS_DIR,
          },
          opts.json,
        ),
      ),
    );

  const audit = program.command('audit').description('the hash-chained audit log');
  audit
    .command('verify')
    .description(
      "walk the audit log's hash chain and report the first entry that was edited, removed, reordered or inserted; check every signed checkpoint (a forged one, entries cut off the end, a re-hashed chain, a deleted checkpoint); exit 0 when intact, 1 when not. Checkpoints are checked with the audit signing key and the public keys in ROSTER_AUDIT_VERIFY_KEYS; with --public-key, with public keys only (no private key needed)",
    )
    .addOption(
      new Option(
        '--public-key <file>',
        'verify with the public key(s) in this file (PEM or JWK / JWK Set, as roster audit public-key prints them) and ROSTER_AUDIT_VERIFY_KEYS, not the signing key; repeat for keys used before a rotation',
      ).argParser((file: string, previous: string[] = []) => [...previous, file]),
    )
    .addOption(json())
    .action(
      action((env, opts: { json?: boolean; publicKey?: string[] }) => {
        const keys = auditKeyring(io, env, opts.publicKey ?? []);
        if (keys === null) return EXIT.usage;
        const { signer, publicKeys } = keys;
        return withDatabase(io, env, async (db) => {
          const audit = createAuditLog(db.connection);
          // A long chain takes a while to walk: a bar on a terminal, nothing otherwise.
          const total = io.errIsTTY ? await db.connection.collection(AUDIT_COLLECTION).estimatedDocumentCount() : 0;
          const progress =
            total > 0
              ? createProgress({ label: 'Verifying the audit chain', total, unit: 'steps', stream: process.stderr, plain: 'silent' })
              : undefined;
          let seen = 0;
          const result = await audit.verify({
            onProgress: (checked) => {
              progress?.advance(checked - seen, `${checked} entries`);
              seen = checked;
            },
          });
          progress?.finish(`Audit chain walked: ${result.checked} entries.`);
          const report = await checkpointsOf(db, signer?.signer, publicKeys).verify();
          const ok = result.ok && report.ok;
          if (opts.json) {
            const chain = result.ok ? result : { ok: false, checked: result.checked, firstBad: result.firstBad };
            io.out(JSON.stringify({ ...chain, ok, checkpoints: checkpointSummary(report) }));
          }
          if (result.ok && !opts.json) io.out(`audit log intact: ${result.checked} entries, head ${result.headHash}`);
          if (!result.ok) io.err(`audit log TAMPERED: ${result.firstBad.message} (checked ${result.checked} entries)`);
          for (const problem of report.problems) io.err(`audit log TAMPERED: ${problem.message}`);
          if (ok) {
            if (!opts.json) io.out(`OK: ${coverage(report)}`);
            if (!report.latest && report.lastSeq > 0)
              io.err(
                'warning: no signed checkpoint yet, so entries removed from the end or a re-hashed chain would go unnoticed: run "roster audit checkpoint" (Roster signs one every 15 minutes by default)',
              );
            return EXIT.ok;
          }
          io.err(
            report.latest
              ? `signed checkpoints vouch for entries 1–${report.covered} of ${report.lastSeq} (latest good: seq ${report.covered}, ${report.latest.at.toISOString()})`
              : `no signed checkpoint vouches for any of the ${report.lastSeq} entries`,
          );
          return EXIT.failed;
        });
      }),
    );
  audit
    .command('public-key')
    .description(
      'print the public half of the audit signing key, for auditors to verify checkpoints without it (roster audit verify --public-key FILE): PEM (SPKI) by default, a JWK with --jwk, both with --json; keep the old one when you rotate the key',
    )
    .addOption(new Option('--jwk', 'print a JWK (kid: the key id checkpoints carry) instead of PEM').conflicts('json'))
    .addOption(json('print {keyId, algorithm, pem, jwk, thumbprint (RFC 7638)}'))
    .action(
      action(async (env, opts: { jwk?: boolean; json?: boolean }) => {
        const signer = auditSigner(io, env, 'public-key', false);
        if (signer === null) return EXIT.usage;
        if (!signer) {
          io.err('roster audit public-key: no audit signing key: set ROSTER_AUDIT_SIGNING_KEY or ROSTER_AUDIT_SIGNING_KEY_FILE');
          return EXIT.usage;
        }
        const exported = await exportAuditPublicKey(signer.signer.publicKey);
        if (opts.json) io.out(JSON.stringify(exported));
        else if (opts.jwk) io.out(JSON.stringify(exported.jwk));
        else io.out(lines(exported.pem));
        return EXIT.ok;
      }),
    );
  audit
    .command('checkpoint')
    .description(
      "sign the audit chain's head now with the audit signing key (ROSTER_AUDIT_SIGNING_KEY) and store the checkpoint; Roster also does this on a schedule",
    )
    .action(
      action((env) => {
        const signer = auditSigner(io, env, 'checkpoint', true);
        if (signer === null) return EXIT.usage;
        if (!signer) {
          io.err('roster audit checkpoint: no audit signing key: set ROSTER_AUDIT_SIGNING_KEY or ROSTER_AUDIT_SIGNING_KEY_FILE');
          return EXIT.usage;
        }
        return withDatabase(io, env, async (db) => {
          let outcome;
          try {
            outcome = await checkpointsOf(db, signer.signer).checkpoint(cliActor());
          } catch (err) {
            if (!(err instanceof CheckpointRefusedError)) throw err;
            for (const problem of err.problems) io.err(`audit log TAMPERED: ${problem.message}`);
            io.err('roster audit checkpoint: not signing a chain that no longer matches its checkpoints; see roster audit verify');
            return EXIT.failed;
          }
          if (outcome.kind === 'empty') io.out('the audit log is empty: nothing to checkpoint');
          else {
            const { seq, at, keyId } = outcome.checkpoint;
            const made = outcome.kind === 'created' ? 'signed' : 'already signed';
            io.out(`checkpoint at seq ${seq} (${at.toISOString()}) ${made} with key ${keyId}`);
          }
          return EXIT.ok;
        });
      }),
    );
  audit
    .command('export')
    .description('print matching audit entries, oldest first, one JSON object per line')
    .option('--agent <agent id>', "one agent's entries")
    .option('--since <ISO time>', 'entries at or after this time')
    .option('--until <ISO time>', 'entries before this time')
    .addOption(json('print one JSON array instead of JSON lines'))
    .action(
      action(async (env, opts: { agent?: string; since?: string; until?: string; json?: boolean }) => {
        const time = z.iso.datetime({ offset: true }).optional();
        const since = time.safeParse(opts.since);
        const until = time.safeParse(opts.until);
        if (!since.success || !until.success) {
          io.err('roster audit export: --since and --until take ISO times, e.g. 2026-11-01T00:00:00Z');
          return EXIT.usage;
        }
        const agentId = opts.agent === undefined ? undefined : idOrUndefined('AgentId', opts.agent);
        if (opts.agent !== undefined && !agentId) {
          io.err(`roster audit export: --agent takes an agent id (letters, digits, _ . : or -), e.g. agt_0123456789abcdef`);
          return EXIT.usage;
        }
        return withDatabase(io, env, async (db) => {
          const audit = createAuditLog(db.connection);
          const entries = await audit.export({
            ...(agentId ? { agentId } : {}),
            ...(since.data ? { since: new Date(since.data) } : {}),
            ...(until.data ? { until: new Date(until.data) } : {}),
          });
          const recorded = await recordExport(io, 'audit export', db, {
            action: 'audit.exported',
            subject: agentId ? { type: 'agent', id: agentId, agentId } : { type: 'audit', id: 'export' },
            details: { filter: { agent: opts.agent, since: since.data, until: until.data }, entries: entries.length },
          });
          if (!recorded) return EXIT.failed;
          if (opts.json) io.out(JSON.stringify(entries, null, 2));
          else for (const entry of entries) io.out(JSON.stringify(entry));
          return EXIT.ok;
        });
      }),
    );

  const agents = program.command('agents').description('the agents Roster knows');
  agents
    .command('list')
    .description(`one line per agent: id, status, name, role, business unit. Statuses: ${AGENT_STATUSES.join(', ')}`)
    .option('--status <status,…>', 'only agents in these statuses')
    .addOption(json())
    .action(
      action(async (env, opts: { status?: string; json?: boolean }) => {
        const statuses = opts.status ? opts.status.split(',') : undefined;
        const bad = statuses?.filter((s) => !AGENT_STATUSES.includes(s as AgentStatus));
        if (bad?.length) {
          io.err(`roster agents list: unknown status ${bad.join(', ')} (expected ${AGENT_STATUSES.join(', ')})`);
          return EXIT.usage;
        }
        return withDatabase(io, env, async (db) => {
          const list = await createAgentRepository(db.connection).list({ ...(statuses ? { status: statuses as AgentStatus[] } : {}) });
          if (opts.json) {
            io.out(
              JSON.stringify(
                list.map((a) => ({
                  id: a.id,
                  status: a.status,
                  name: a.name,
                  role: a.catalogRoleId,
                  businessUnit: a.businessUnit,
                  version: a.version,
                  sponsors: a.sponsors,
                })),
                null,
                2,
              ),
            );
            return EXIT.ok;
          }
          for (const a of list) io.out([a.id, a.status, a.name, a.catalogRoleId, a.businessUnit].join('\t'));
          if (list.length === 0) io.err('no agents match');
          return EXIT.ok;
        });
      }),
    );

  program
    .command('archive')
    .description(
      "print a retired agent's archive bundle (canonical JSON) to standard output and its SHA-256 digest to standard error; exit 1 when the stored digest no longer matches",
    )
    .argument('[agent id]', 'the retired agent, e.g. agt_0123456789abcdef')
    .addOption(json('print { agentId, digest, verified, bundle } as one JSON object'))
    .action(
      action(async (env, given: string | undefined, opts: { json?: boolean }) => {
        if (!given) {
          io.err('roster archive: name the agent id, e.g. roster archive agt_0123456789abcdef');
          return EXIT.usage;
        }
        const agentId = idOrUndefined('AgentId', given);
        if (!agentId) {
          io.err(`roster archive: "${given.slice(0, 60)}" is not an agent id (letters, digits, _ . : or -), e.g. agt_0123456789abcdef`);
          return EXIT.usage;
        }
        return withDatabase(io, env, async (db) => {
          const doc = await db.connection
            .collection<{ _id: string; bundle?: unknown; digest?: unknown }>('archives')
            .findOne({ _id: agentId });
          if (!doc) {
            io.err(`roster archive: no archive for ${agentId} (is it retired?)`);
            return EXIT.failed;
          }
          const verified = sha256(String(doc.bundle)) === doc.digest;
          const recorded = await recordExport(io, 'archive', db, {
            action: 'archive.exported',
            subject: { type: 'agent', id: agentId, agentId },
            details: { digest: String(doc.digest), verified },
          });
          if (!recorded) return EXIT.failed;
          if (opts.json)
            io.out(JSON.stringify({ agentId, digest: doc.digest, verified, bundle: JSON.parse(String(doc.bundle)) as unknown }));
          else io.out(String(doc.bundle));
          io.err(`sha256 ${doc.digest} ${verified ? 'verified' : 'DOES NOT MATCH the bundle'}`);
          return verified ? EXIT.ok : EXIT.failed;
        });
      }),
    );

  program
    .command('compliance')
    .description(
      'the compliance report: per regulation, the agents touching each data class, their personal-data scopes, whether a DPO approval is on record; the raw-event retention; the gaps with their sponsors',
    )
    .option('--regulation <id>', 'one regulation (gdpr, ccpa, hipaa, …)')
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'csv']).default('json'))
    .addOption(json('the same as --format json'))
    .action(
      action((env, opts: { regulation?: string; format: 'json' | 'csv'; json?: boolean }) =>
        withServices(io, env, async (db, org, flows, log) => {
          const services = await composeTools({ connection: db.connection, org, flows, log });
          // Off the bus on purpose: the CLI is an operator with database access, not a person, so
          // there is no who-may rule to ask (every person's door gives `compliance.report`).
          const report = await services.governance.complianceReport(opts.regulation);
          const format = opts.format === 'csv' && !opts.json ? 'csv' : 'json';
          const recorded = await recordExport(io, 'compliance', db, {
            action: 'compliance.exported',
            subject: { type: 'report', id: 'compliance' },
            details: { regulation: opts.regulation, format },
          });
          if (!recorded) return EXIT.failed;
          io.out(opts.format === 'csv' && !opts.json ? complianceCsv(report).trimEnd() : JSON.stringify(report, null, 2));
          return EXIT.ok;
        }),
      ),
    );

  const outbox = program.command('outbox').description('effects that keep failing (parked) and their retry');
  outbox
    .command('list')
    .description('one line per parked effect: effect id, type, holder (kind id), attempts, parked at, last error')
    .addOption(json())
    .action(
      action((env, opts: { json?: boolean }) =>
        withDatabase(io, env, async (db) => {
          const parked = await createOutboxRepository(db.connection, OUTBOX_HOLDERS).parked();
          const rows = parked.map(({ holder, effect }) => ({
            id: effect.id,
            type: effect.type,
            holder,
            attempts: effect.attempts,
            parkedAt: effect.parkedAt?.toISOString(),
            lastError: effect.lastError,
          }));
          if (opts.json) io.out(JSON.stringify(rows, null, 2));
          else
            for (const r of rows) io.out([r.id, r.type, `${r.holder.kind} ${r.holder.id}`, r.attempts, r.parkedAt, r.lastError].join('\t'));
          if (rows.length === 0 && !opts.json) io.err('no parked effects');
          return EXIT.ok;
        }),
      ),
    );
  outbox
    .command('retry')
    .description('make a parked effect due again, once its cause is fixed: the running Roster performs it within seconds')
    .argument('[effect id]', 'the id the parked-effect notice and "roster outbox list" show')
    .action(
      action(async (env, effectId: string | undefined) => {
        if (!effectId) {
          io.err('roster outbox retry: name the effect id, e.g. roster outbox retry fx_0123456789abcdef0123 (see roster outbox list)');
          return EXIT.usage;
        }
        // Checked where it comes in, as the agent ids are: a usage error, not a look-up of anything given.
        const shown = effectId.slice(0, 60);
        if (!isWellFormedId(effectId)) {
          io.err(`roster outbox retry: "${shown}" is not an effect id (letters, digits, _ . : or -), e.g. fx_0123456789abcdef0123`);
          return EXIT.usage;
        }
        return withDatabase(io, env, async (db) => {
          const repo = createOutboxRepository(db.connection, OUTBOX_HOLDERS);
          const found = await repo.parkedEffect(effectId);
          if (!found) {
            io.err(`roster outbox retry: no parked effect ${effectId} (see roster outbox list)`);
            return EXIT.failed;
          }
          // A person's action on Roster's state: recorded first, and no retry without its entry.
          const recorded = await recordFirst(io, 'outbox retry', 'nothing retried: the retry', db, {
            action: 'outbox.retried',
            subject: { type: found.holder.kind, id: found.holder.id },
            details: { effectId, type: found.effect.type, attempts: found.effect.attempts },
          });
          if (!recorded) return EXIT.failed;
          if (!(await repo.unpark(found.holder, effectId, new Date()))) {
            io.err(`roster outbox retry: no parked effect ${effectId} (see roster outbox list)`);
            return EXIT.failed;
          }
          io.out(`${effectId} (${found.effect.type} of ${found.holder.kind} ${found.holder.id}) is due again`);
          return EXIT.ok;
        });
      }),
    );

  const seed = program.command('seed').description('sample data');
  seed
    .command('demo')
    .description(
      "seed the sample organisation's demo: a dozen agents across every lifecycle status with their grants, 30 days of synthetic telemetry (one drifting, one biased, one dormant, one shadow agent), their check-ins, and a short guided tour; safe to repeat",
    )
    .action(
      action((env) =>
        withServices(io, env, async (db, org, flows, log) => {
          let progress: ReturnType<typeof createProgress> | undefined;
          const result = await seedDemo(db.connection, org, flows, log, new Date(), (_done, total, step) => {
            progress ??= createProgress({
              label: 'Seeding the demo',
              total,
              unit: 'steps',
              stream: {
                write: (chunk: string) => process.stderr.write(chunk),
                isTTY: io.errIsTTY === true,
                columns: process.stderr.columns,
              },
              plain: 'silent',
            });
            progress.advance(1, step);
          });
          progress?.finish('Demo seeded.');
          io.out(
            `seed demo: ${result.created} agents created, ${result.existing} already there, ${result.events} telemetry events, ${result.checkIns} check-ins, ${result.alerts} alerts`,
          );
          io.out(demoTour());
          return EXIT.ok;
        }),
      ),
    );

  program
    .command('completion')
    .description(
      'print a shell completion script: eval "$(roster completion bash)" in ~/.bashrc (zsh: ~/.zshrc; fish: roster completion fish | source)',
    )
    .addArgument(new Argument('[shell]', 'the shell').choices(SHELLS).default('bash'))
    .action((shell: Shell) => {
      io.out(completionScript(program, shell));
      run(Promise.resolve(EXIT.ok));
    });
  prefixErrors(program, 'roster', io);
  return program;
}

/** Error lines name the command they are about and end with where to look. */
function prefixErrors(command: Command, name: string, io: Io): void {
  command.configureOutput({
    writeOut: (s) => io.out(lines(s)),
    writeErr: (s) => io.err(lines(s)),
    outputError: (s, write) => {
      const message = lines(s)
        .replace(/^error: /, '')
        .replace(/\n\(Did you mean (.*)\?\)$/, ' (did you mean $1?)')
        .replace(/\.$/, '');
      write(`${name}: ${message}. Run "${name} --help".`);
    },
  });
  for (const sub of command.commands) prefixErrors(sub, `${name} ${sub.name()}`, io);
}

/** Runs the CLI; returns the exit code (the bin script exits with it). */
export async function runCli(
  argv: string[],
  io: Io = { out: (l) => console.log(l), err: (l) => console.error(l), errIsTTY: process.stderr.isTTY === true },
): Promise<number> {
  let result: Promise<number> | undefined;
  const program = buildProgram(io, (code) => {
    result = code;
  });
  if (argv.length === 0) {
    io.out(lines(program.helpInformation()));
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // Help and version asked for are fine; help shown because a command is incomplete is a usage error.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
    return EXIT.usage;
  }
  return result ? await result : EXIT.ok;
}

/**
 * Who the audit log records for a CLI command: the CLI has no sign-in, so it is `cli:<OS user>`,
 * the account that ran it on this machine (and could read the database anyway).
 */
function cliActor(): Actor {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // No account entry (a container run with an arbitrary uid): the uid is what there is to record.
    user = typeof process.getuid === 'function' ? `uid ${process.getuid()}` : 'unknown';
  }
  return { kind: 'system', name: `cli:${user || 'unknown'}` };
}

/**
 * Records an export before anything is printed. Fails closed: when the entry cannot be written,
 * nothing is exported and the command exits 1.
 */
function recordExport(io: Io, command: string, db: Database, entry: Omit<AuditInput, 'actor'>): Promise<boolean> {
  return recordFirst(io, command, 'nothing exported: the export', db, entry);
}

/**
 * Records what a command is about to do before it does it, as the OS user who ran it. Fails
 * closed: when the entry cannot be written, says so (`refusal`: what was not done and what could
 * not be recorded) and returns false.
 */
async function recordFirst(io: Io, command: string, refusal: string, db: Database, entry: Omit<AuditInput, 'actor'>): Promise<boolean> {
  try {
    await createAuditLog(db.connection).append({
      ...entry,
      actor: cliActor(),
      details: { ...entry.details, host: hostname() },
    });
    return true;
  } catch (err) {
    io.err(`roster ${command}: ${refusal} could not be recorded in the audit log (${(err as Error).message})`);
    return false;
  }
}

/**
 * The audit signing key for a command; `undefined` when none is configured (and none may be
 * generated), `null` after printing why a configured one cannot be read.
 */
function auditSigner(io: Io, env: Env, command: string, generate: boolean): ReturnType<typeof loadAuditSigner> | null {
  try {
    return loadAuditSigner(env, { generate });
  } catch (err) {
    if (!(err instanceof AuditKeyError)) throw err;
    io.err(`roster audit ${command}: ${err.message}`);
    return null;
  }
}

/**
 * The keys `roster audit verify` checks checkpoints with: given public-key files, only those and
 * ROSTER_AUDIT_VERIFY_KEYS (an auditor holds no private key); otherwise the signing key too.
 * `null` after printing why a key cannot be read.
 */
function auditKeyring(
  io: Io,
  env: Env,
  files: readonly string[],
): { signer: ReturnType<typeof loadAuditSigner>; publicKeys: CheckpointVerifier[] } | null {
  try {
    const publicKeys = [...files.flatMap((file) => readAuditPublicKeys(file)), ...loadAuditVerifyKeys(env)];
    if (files.length > 0) return { signer: undefined, publicKeys };
    const signer = auditSigner(io, env, 'verify', false);
    return signer === null ? null : { signer, publicKeys };
  } catch (err) {
    if (!(err instanceof AuditKeyError)) throw err;
    io.err(`roster audit verify: ${err.message}`);
    return null;
  }
}

function checkpointsOf(
  db: Database,
  signer: CheckpointSigner | undefined,
  publicKeys: readonly CheckpointVerifier[] = [],
): AuditCheckpoints {
  const audit = createAuditLog(db.connection);
  return new AuditCheckpoints({
    audit,
    chain: audit,
    repo: createCheckpointStore(db.connection),
    signer,
    publicKeys,
    clock: () => new Date(),
  });
}

/** "N entries, checkpoint at seq S (time) verified", and how many entries are newer than it. */
function coverage(report: CheckpointAssessment): string {
  const entries = `${report.lastSeq} ${report.lastSeq === 1 ? 'entry' : 'entries'}`;
  if (!report.latest) return `${entries}, no checkpoint yet`;
  const newer = report.lastSeq - report.covered;
  const tail = newer > 0 ? ` (${newer} newer ${newer === 1 ? 'entry' : 'entries'} not yet checkpointed)` : '';
  return `${entries}, checkpoint at seq ${report.covered} (${report.latest.at.toISOString()}) verified${tail}`;
}

function checkpointSummary(report: CheckpointAssessment) {
  return {
    ok: report.ok,
    verified: report.verified,
    ...(report.latest ? { latest: { seq: report.latest.seq, at: report.latest.at.toISOString(), keyId: report.latest.keyId } } : {}),
    covered: report.covered,
    entries: report.lastSeq,
    problems: report.problems,
  };
}

async function withEnv(io: Io, work: (env: Env) => Promise<number>): Promise<number> {
  const parsedEnv = parseEnv();
  if (!parsedEnv.ok) {
    parsedEnv.problems.forEach(io.err);
    return EXIT.usage;
  }
  return work(parsedEnv.env);
}

function configCheck(io: Io, dirs: { config: string; flows: string; cards: string; evals: string }, json = false): number {
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
    if (json) io.out(JSON.stringify({ ok: false, problems }));
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
    const model: { kind: string; data: unknown } = JSON.parse(readFileSync(path.join(samplesDir, file), 'utf8'));
    for (const platform of ['slack', 'teams'] as const) {
      try {
        for (const v of checkRenderedCard(renderer.renderUnchecked(platform, model)))
          cardProblems.push(`cards/${platform}/${model.kind}.hbs: ${v.path}: ${v.message}`);
      } catch (err) {
        cardProblems.push(`cards/${platform}/${model.kind}.hbs: ${(err as Error).message}`);
      }
    }
  }
  if (json) {
    const counts = {
      people: org!.people.length,
      scopes: org!.scopes.length,
      catalogRoles: org!.catalog.length,
      flows: flows!.size,
      cardKinds: CARD_KINDS.length,
    };
    io.out(JSON.stringify({ ok: cardProblems.length === 0, problems: cardProblems, counts }));
  }
  cardProblems.forEach(io.err);
  if (cardProblems.length > 0) {
    io.err(`config check: ${cardProblems.length} card problem(s)`);
    return EXIT.failed;
  }
  if (!json)
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
    db = await openDatabase({ uri: env.MONGODB_URI, dataDir: env.ROSTER_DATA_DIR, shareRunning: true }, log);
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
