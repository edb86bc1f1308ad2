import { envSchema, type Env } from '../../src/config/env.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { composeRoster, type Roster, type RosterOptions } from '../../src/compose.js';
import type { ChannelFactory } from '../../src/channels/port.js';
import { loadFlowDefinitions } from '../../src/flows/steps.js';
import { testMongoUri, uniqueDbName } from './db.js';
import { eventually, roundTheClock, SHIPPED_CONFIG, SHIPPED_FLOWS } from './harness.js';
import { silentLogger } from './logger.js';
import type { Logger } from '../../src/logger.js';
import type { EvalSuites } from '../../src/config/eval-suites.js';
import type { WebhookConfig } from '../../src/config/webhooks.js';
import type { OrgConfig, OrgSettings } from '../../src/config/schemas.js';
import { createSlackChannel } from '../../src/channels/slack/index.js';
import { createTeamsChannel } from '../../src/channels/teams/index.js';
import { FakeConnector } from './fake-connector.js';
import { FakeSlack } from './fake-slack.js';
import { TeamsClient } from '../channels/teams/teams-client.js';
import type { ResolvedPager } from '../../src/core/pager.js';

/**
 * What a test may set on the one composition production uses (src/compose.ts): the environment,
 * the organisation, the channels, and the timing and crash knobs RosterOptions has for tests.
 */
export interface TestRosterOptions extends Pick<
  RosterOptions,
  'notifier' | 'faultPoint' | 'outbox' | 'access' | 'alertMinuteMs' | 'retrainingSweepEvery' | 'pagerTransport'
> {
  env?: Record<string, string>;
  channels?: ChannelFactory[];
  flowsDir?: string;
  log?: Logger;
  dbName?: string;
  /** Evaluation suites (none by default) and evaluation timing. */
  suites?: EvalSuites;
  evaluation?: { leaseMs?: number; resumeEvery?: string; progressEveryMs?: number; rerunEvery?: string };
  /** Overrides of `config/org.yaml` settings (e.g. small rate limits). */
  settings?: Partial<OrgSettings>;
  /** A configuration directory other than the shipped one. */
  configDir?: string;
  /** Signed webhooks (config/webhooks.yaml as loaded); none by default. */
  webhooks?: WebhookConfig;
  /** The services' clock. */
  clock?: () => Date;
  /** The key cache's clock in ms (moved past ROSTER_KEY_CACHE_MS instead of waiting). */
  keyCacheClock?: () => number;
  /** The agent API's live-access cache clock (ms); tests move it past ROSTER_ACCESS_CACHE_MS. */
  accessCacheClock?: () => number;
  /** Replaces the shipped organisation's rotations (e.g. to give one a pager). */
  rotations?: OrgConfig['rotations'];
  /** The rotations' pagers as src/config/pager.ts resolves them; none by default. */
  pagers?: ResolvedPager[];
  /** Changes the loaded organisation last (e.g. marks a scope break-glass-eligible). */
  org?: (org: OrgConfig) => OrgConfig;
}

/** The shipped organisation with some settings replaced. */
function withSettings(org: OrgConfig, settings: Partial<OrgSettings> | undefined): OrgConfig {
  return settings ? { ...org, settings: { ...org.settings, ...settings } } : org;
}

/** The organisation with other rotations. */
function withRotations(org: OrgConfig, rotations: OrgConfig['rotations'] | undefined): OrgConfig {
  return rotations ? { ...org, rotations } : org;
}

/** The whole Roster in this process on 127.0.0.1 and a free port, on its own database of the shared test server. */
export async function startTestRoster(options: TestRosterOptions = {}): Promise<Roster & { baseUrl: string; env: Env }> {
  const env = envSchema.parse({ NODE_ENV: 'test', PORT: '0', MONGODB_URI: testMongoUri(), LOG_LEVEL: 'silent', ...options.env });
  const org = withRotations(
    withSettings(roundTheClock(loadOrgConfig(options.configDir ?? SHIPPED_CONFIG)), options.settings),
    options.rotations,
  );
  const roster = await composeRoster({
    env,
    org: options.org ? options.org(org) : org,
    flows: loadFlowDefinitions(options.flowsDir ?? SHIPPED_FLOWS),
    log: options.log ?? silentLogger(),
    channels: options.channels ?? [],
    dbName: options.dbName ?? uniqueDbName('app'),
    processEvery: 100,
    lockLifetimeMs: 4000,
    host: '127.0.0.1',
    ...(options.suites ? { suites: options.suites } : {}),
    ...(options.evaluation ? { evaluation: options.evaluation } : {}),
    ...(options.webhooks ? { webhooks: options.webhooks } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.keyCacheClock ? { keyCacheClock: options.keyCacheClock } : {}),
    ...(options.accessCacheClock ? { accessCacheClock: options.accessCacheClock } : {}),
    ...(options.pagers ? { pagers: options.pagers } : {}),
    ...(options.pagerTransport ? { pagerTransport: options.pagerTransport } : {}),
    ...(options.notifier ? { notifier: options.notifier } : {}),
    ...(options.faultPoint ? { faultPoint: options.faultPoint } : {}),
    ...(options.outbox ? { outbox: options.outbox } : {}),
    ...(options.access ? { access: options.access } : {}),
    ...(options.alertMinuteMs ? { alertMinuteMs: options.alertMinuteMs } : {}),
    ...(options.retrainingSweepEvery ? { retrainingSweepEvery: options.retrainingSweepEvery } : {}),
  });
  return Object.assign(roster, { baseUrl: `http://127.0.0.1:${roster.port}`, env });
}

/** The Roster {@link startTestRoster} starts. */
export type TestRoster = Awaited<ReturnType<typeof startTestRoster>>;

/**
 * Starts stopping `app` and resolves once its shutdown has begun (it takes no more requests), with
 * `stopping` (resolves when stop() does) and whether stop() has resolved yet.
 */
export async function beginStopping(app: TestRoster): Promise<{ stopping: Promise<void>; stopped(): boolean }> {
  let stopped = false;
  const stopping = app.stop().then(() => void (stopped = true));
  await eventually(() =>
    fetch(`${app.baseUrl}/health`).then(
      () => false,
      () => true,
    ),
  );
  return { stopping, stopped: () => stopped };
}

/** A test Roster with the Teams channel, a fake Bot Connector and a Teams client to talk to it. */
export interface TeamsTestRoster {
  roster: Awaited<ReturnType<typeof startTestRoster>>;
  connector: FakeConnector;
  client: TeamsClient;
  /** Stops Roster, then the fake connector. */
  stop(): Promise<void>;
}

/** Starts the fake Bot Connector and a Roster with the Teams channel (plus `options`). */
export async function startTeamsTestRoster(options: TestRosterOptions = {}): Promise<TeamsTestRoster> {
  const connector = await FakeConnector.start();
  const roster = await startTestRoster({ channels: [createTeamsChannel], ...options });
  return {
    roster,
    connector,
    client: new TeamsClient(roster.baseUrl, connector.serviceUrl),
    async stop() {
      await roster.stop();
      await connector.close();
    },
  };
}

/**
 * A Teams test Roster for the tests of the enclosing `describe`: started before them, stopped
 * after them. Read its fields inside the tests (they are set once `beforeAll` has run).
 */
export function teamsTestRosterPerSuite(options: TestRosterOptions = {}): TeamsTestRoster {
  const suite = {} as TeamsTestRoster;
  beforeAll(async () => {
    Object.assign(suite, await startTeamsTestRoster(options));
  });
  afterAll(async () => {
    await suite.stop?.();
  });
  return suite;
}

/** A test Roster with the Slack channel and the fake Slack Web API it talks to. */
export interface SlackTestRoster {
  roster: TestRoster;
  slack: FakeSlack;
}

/**
 * The fake Slack Web API and a Roster with the Slack channel (plus `options`; `options.env` is
 * added to the fake Slack's) for the tests of the enclosing `describe`: started before them,
 * stopped after them. Read its fields inside the tests or later hooks (set once `beforeAll` ran).
 */
export function slackTestRosterPerSuite(options: TestRosterOptions = {}): SlackTestRoster {
  const suite = {} as SlackTestRoster;
  beforeAll(async () => {
    suite.slack = new FakeSlack();
    await suite.slack.start();
    suite.roster = await startTestRoster({
      ...options,
      env: { ...suite.slack.rosterEnv(), ...options.env },
      channels: [createSlackChannel],
    });
  });
  afterAll(async () => {
    await suite.roster?.stop();
    await suite.slack?.stop();
  });
  return suite;
}

/** A test Roster on both platforms: the Slack Web API and the Bot Connector faked on loopback, a Teams client to talk to it. */
export interface BothPlatformsTestRoster {
  roster: TestRoster;
  slack: FakeSlack;
  connector: FakeConnector;
  teams: TeamsClient;
  /** Stops Roster, then the fakes. */
  stop(): Promise<void>;
}

/**
 * Starts the fake Slack Web API, the fake Bot Connector and a Roster with the Slack and Teams
 * channels (plus `options`; `options.env` is added to the fake Slack's). Nobody has installed
 * Roster in Teams yet: a test installs it for whom it messages.
 */
export async function onBothPlatforms(options: TestRosterOptions = {}): Promise<BothPlatformsTestRoster> {
  const slack = new FakeSlack();
  await slack.start();
  const connector = await FakeConnector.start();
  const fakes = async () => {
    await slack.stop();
    await connector.close();
  };
  let roster: TestRoster;
  try {
    roster = await startTestRoster({
      ...options,
      env: { ...slack.rosterEnv(), ...options.env },
      channels: [createSlackChannel, createTeamsChannel],
    });
  } catch (error) {
    await fakes();
    throw error;
  }
  return {
    roster,
    slack,
    connector,
    teams: new TeamsClient(roster.baseUrl, connector.serviceUrl),
    async stop() {
      await roster.stop();
      await fakes();
    },
  };
}
