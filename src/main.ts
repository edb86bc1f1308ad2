import { envProblems, parseEnv } from './config/env.js';
import { EvalSuitesError, loadEvalSuites } from './config/eval-suites.js';
import { deploymentProblems } from './config/deployment.js';
import { ConfigError, loadOrgConfig } from './config/org-config.js';
import { createLogger } from './logger.js';
import { composeRoster } from './compose.js';
import { loadFlowDefinitions } from './flows/steps.js';
import { createSlackChannel } from './channels/slack/index.js';
import { createTeamsChannel } from './channels/teams/index.js';
import { EmbeddedMongoError } from './store/embedded/embedded-mongo.js';
import { SAMPLE_ORG_PROBLEM, usesSampleOrganisation } from './config/sample-org.js';
import { demoTour, seedDemo } from './demo/seed-demo.js';
import { createProgress } from './progress.js';
import { loadWebhookConfig } from './config/webhooks.js';
import { AuditKeyError } from './config/audit-signing-key.js';
import { resolvePagers } from './config/pager.js';

/** Exit code for a configuration that cannot be used (bad env or config files). */
const EXIT_CONFIG = 2;

/** `npm run demo`: start, then seed the sample organisation's demo and print the guided tour. */
const demo = process.argv.slice(2).includes('--demo');

async function main(): Promise<void> {
  const parsedEnv = parseEnv();
  if (!parsedEnv.ok) {
    for (const line of parsedEnv.problems) process.stderr.write(`${line}\n`);
    process.exit(EXIT_CONFIG);
  }
  const env = parsedEnv.env;
  // A deployment that would leave a door open (anonymous Teams off loopback, test overrides in
  // production, secrets missing in production …) stops here, one line per reason, before anything listens.
  const unsafe = [...envProblems(env), ...deploymentProblems(env)];
  if (unsafe.length > 0) {
    for (const line of unsafe) process.stderr.write(`Roster cannot start: ${line}\n`);
    process.exit(EXIT_CONFIG);
  }
  const log = createLogger({ level: env.LOG_LEVEL, pretty: env.NODE_ENV !== 'production' && process.stdout.isTTY === true });

  // Both the organisation and the flows are checked before anything starts, and every problem is reported.
  const problems: string[] = [];
  const attempt = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (err) {
      if (err instanceof ConfigError || err instanceof EvalSuitesError) {
        problems.push(...err.problems);
        return undefined;
      }
      throw err;
    }
  };
  const org = attempt(() => loadOrgConfig(env.ROSTER_CONFIG_DIR));
  if (org && env.ROSTER_SCIM_TOKEN && !org.directory) {
    problems.push(
      `${env.ROSTER_CONFIG_DIR}/org.yaml: directory: required when ROSTER_SCIM_TOKEN is set (map identity-provider groups to roles and business units)`,
    );
  }
  const webhooks = org
    ? attempt(() =>
        loadWebhookConfig(env.ROSTER_CONFIG_DIR, { env: process.env, production: env.NODE_ENV === 'production', people: org.people }),
      )
    : undefined;
  const pagers = org
    ? attempt(() =>
        resolvePagers(org.rotations, {
          env: process.env,
          production: env.NODE_ENV === 'production',
          file: `${env.ROSTER_CONFIG_DIR}/org.yaml`,
        }),
      )
    : undefined;
  const flows = attempt(() => loadFlowDefinitions(env.ROSTER_FLOWS_DIR));
  const suites = org ? attempt(() => loadEvalSuites(env.ROSTER_EVALS_DIR, org)) : undefined;
  if (org && env.NODE_ENV === 'production' && usesSampleOrganisation(org)) problems.push(SAMPLE_ORG_PROBLEM);
  if (!org || !flows || !suites || problems.length > 0) {
    process.stderr.write(`Roster cannot start: the configuration has ${problems.length} problem(s).\n`);
    for (const line of problems) process.stderr.write(`${line}\n`);
    process.exit(EXIT_CONFIG);
  }

  let roster;
  try {
    roster = await composeRoster({
      env,
      org,
      flows,
      suites,
      log,
      channels: [createSlackChannel, createTeamsChannel],
      ...(webhooks ? { webhooks } : {}),
      ...(pagers?.length ? { pagers } : {}),
    });
  } catch (err) {
    if (err instanceof EmbeddedMongoError || err instanceof AuditKeyError) {
      process.stderr.write(`Roster cannot start: ${err.message}\n`);
      process.exit(1);
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(
        `Roster cannot start: port ${env.PORT} is already in use (another Roster?). Stop that process, or set PORT to a free port.\n`,
      );
      process.exit(1);
    }
    throw err;
  }

  const base = `http://127.0.0.1:${roster.port}`;
  log.info(
    `Roster is running on ${base} (health ${base}/healthz, readiness ${base}/readyz, metrics ${base}/metrics). ` +
      `Slack: POST ${base}/slack/events. Teams: POST ${base}/api/messages (try the Microsoft 365 Agents Playground).`,
  );
  if (process.stdout.isTTY) {
    const channels = roster.channels.map((c) => c.name);
    process.stdout.write(
      [
        '',
        `Roster is running on ${base}`,
        `  Teams, locally: npm run playground -- --as grace.liu@brightwater.example   (then send "catalog")`,
        channels.includes('slack')
          ? '  Slack: connected; type /roster help in your workspace.'
          : '  Slack: not configured; see "Slack" in the README (config/slack/manifest.*.yaml, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET).',
        demo ? '' : '  Demo data: npm run demo (or, while Roster runs, npx roster seed demo).',
        '',
      ].join('\n'),
    );
  }
  if (demo) {
    const seedLog = log.child({ component: 'demo' });
    let progress: ReturnType<typeof createProgress> | undefined;
    const result = await seedDemo(roster.db.connection, org, flows, seedLog, new Date(), (done, total, step) => {
      progress ??= createProgress({ label: 'Seeding the demo', total, unit: 'steps', stream: process.stderr, plain: 'quiet' });
      progress.advance(1, step);
    });
    progress?.finish(
      `Demo seeded: ${result.created} agents created (${result.existing} already there), ${result.events} telemetry events, ${result.checkIns} check-ins, ${result.alerts} alerts.`,
    );
    process.stdout.write(`\n${demoTour()}\n  Playground: npm run playground -- --as liam.oneill@brightwater.example\n\n`);
  }

  let shuttingDown = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      log.error('shutdown took too long; exiting anyway');
      process.exit(0);
    }, env.ROSTER_SHUTDOWN_TIMEOUT_S * 1000);
    deadline.unref();
    roster
      .stop()
      .then(() => {
        log.flush?.();
        process.exit(0);
      })
      .catch((err: unknown) => {
        log.error({ err }, 'error during shutdown');
        process.exit(1);
      });
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

process.on('unhandledRejection', (reason) => {
  process.stderr.write(`Unhandled promise rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`);
});

main().catch((err: unknown) => {
  process.stderr.write(`Roster failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
