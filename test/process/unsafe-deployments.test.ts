import { testMongoUri, uniqueDbName } from '../helpers/db.js';
import { spawnRoster, type RosterProcess } from '../helpers/roster-process.js';

const TENANT_ID = '5f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f';
const teamsCredentials = {
  connections__serviceConnection__settings__clientId: '0b3f5a8e-7c1d-4e2f-9a6b-1c2d3e4f5a6b',
  connections__serviceConnection__settings__clientSecret: 'not-a-real-secret',
  connections__serviceConnection__settings__tenantId: TENANT_ID,
};

/**
 * `npm start` with a configuration that would leave a door open stops before listening: exit 2
 * and one line saying why (and no database work). Nothing here ever listens off loopback.
 */
describe('start-up refuses unsafe deployments', () => {
  async function refused(env: Record<string, string>): Promise<string> {
    const proc = spawnRoster({ ROSTER_DATA_DIR: '/nonexistent/never-created', ...env });
    const exit = await proc.exited;
    expect(exit.code).toBe(2);
    expect(proc.logs.some((l) => l.msg === 'HTTP server listening' || l.msg === 'embedded database started')).toBe(false);
    const lines = proc.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    return lines[0]!;
  }

  it('anonymous Teams (no credentials) asked to listen off loopback', async () => {
    const line = await refused({ ROSTER_HOST: '0.0.0.0' });
    expect(line).toMatch(/^Roster cannot start: Teams has no credentials .* anonymous local mode, which only listens on loopback/);
    expect(line).toContain('ROSTER_TEAMS=off');
    // A forgotten NODE_ENV changes nothing: the same refusal with it unset.
    expect(await refused({ ROSTER_HOST: '0.0.0.0', NODE_ENV: '' })).toBe(line);
  }, 60_000);

  it('NODE_ENV=test outside the test runner', async () => {
    const line = await refused({ JEST_WORKER_ID: '' });
    expect(line).toBe('environment: NODE_ENV: "test" is only for the test runner; use development or production');
  }, 60_000);

  it('the loopback connector override in production, and Teams credentials without a tenant', async () => {
    const production = {
      NODE_ENV: 'production',
      ROSTER_OAUTH_KEK: Buffer.alloc(32, 7).toString('base64'),
      ROSTER_EVAL_SECRET_KEY: Buffer.alloc(32, 9).toString('base64'),
      ROSTER_PUBLIC_URL: 'https://roster.example.com',
      ROSTER_CHART_SECRET: 'ab'.repeat(32),
      ROSTER_AUDIT_SIGNING_KEY: Buffer.alloc(32, 5).toString('base64'),
    };
    expect(await refused({ ...teamsCredentials, ...production, ROSTER_TEAMS_ALLOW_LOOPBACK_CONNECTOR: 'true' })).toContain(
      'ROSTER_TEAMS_ALLOW_LOOPBACK_CONNECTOR is for tests and development only',
    );
    expect(await refused({ ...teamsCredentials, connections__serviceConnection__settings__tenantId: '' })).toContain(
      'Teams has a client id but no tenant to accept people from',
    );
  }, 60_000);
});

describe('a default start (no Teams credentials)', () => {
  let proc: RosterProcess;
  let port: number;
  let metricsPort: number;
  beforeAll(async () => {
    const uri = new URL(testMongoUri());
    uri.pathname = `/${uniqueDbName('unsafe')}`;
    proc = spawnRoster({
      MONGODB_URI: uri.toString(),
      ROSTER_DATA_DIR: '/nonexistent/never-created',
      ROSTER_METRICS_PORT: '0',
      ROSTER_METRICS_TOKEN: 'metrics-token-0123456789',
    });
    const listening = await proc.waitForLog((l) => l.msg === 'HTTP server listening', 60_000);
    expect(listening.host).toBe('127.0.0.1');
    port = Number(listening.port);
    metricsPort = Number(listening.metricsPort);
  }, 90_000);
  afterAll(async () => {
    if (proc?.child.exitCode === null) {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  });

  it('listens on 127.0.0.1 only and answers anonymous Teams traffic only from this machine', async () => {
    const activity = {
      type: 'message',
      id: 'f:1',
      channelId: 'msteams',
      serviceUrl: 'http://127.0.0.1:9/teams/',
      from: { id: '29:x', aadObjectId: 'x' },
      recipient: { id: '28:roster' },
      conversation: { id: 'a:x', conversationType: 'personal' },
      text: 'help',
    };
    const res = await fetch(`http://127.0.0.1:${port}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.7' },
      body: JSON.stringify(activity),
    });
    expect(res.status).toBe(401);
  });

  it('serves /metrics on ROSTER_METRICS_PORT with the bearer token only, and not on the public port', async () => {
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(401);
    const wrong = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers: { authorization: 'Bearer metrics-token-wrong-0000' } });
    expect(wrong.status).toBe(401);
    const scraped = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, {
      headers: { authorization: 'Bearer metrics-token-0123456789' },
    });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('roster_http_request_duration_seconds_bucket{');
  });
});
