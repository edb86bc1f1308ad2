import { bindHost, deploymentProblems, isLoopbackAddress, isLoopbackHost } from '../../src/config/deployment.js';
import { envSchema, parseEnv } from '../../src/config/env.js';

const env = (vars: Record<string, string> = {}) => envSchema.parse({ NODE_ENV: 'development', ...vars });
const credentials = {
  connections__serviceConnection__settings__clientId: '0b3f5a8e-7c1d-4e2f-9a6b-1c2d3e4f5a6b',
  connections__serviceConnection__settings__tenantId: '5f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f',
};

describe('deployment safety rules', () => {
  it('recognises loopback addresses and hosts, and nothing else', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a)).toBe(true);
    for (const a of ['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1', '127.0.0.1.evil', undefined]) {
      expect(isLoopbackAddress(a)).toBe(false);
    }
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('localhost.evil.example')).toBe(false);
  });

  it('binds loopback in anonymous Teams mode, whatever NODE_ENV says, and every interface otherwise', () => {
    expect(bindHost(env())).toBe('127.0.0.1');
    expect(bindHost(envSchema.parse({}))).toBe('127.0.0.1');
    expect(bindHost(env(credentials))).toBeUndefined();
    expect(bindHost(env({ ROSTER_TEAMS: 'off' }))).toBeUndefined();
    expect(bindHost(env({ NODE_ENV: 'production' }))).toBeUndefined();
    expect(bindHost(env({ ROSTER_HOST: '10.1.2.3', ...credentials }))).toBe('10.1.2.3');
  });

  it('refuses anonymous Teams off loopback, and accepts the explicit ways out', () => {
    expect(deploymentProblems(env({ ROSTER_HOST: '0.0.0.0' }))).toHaveLength(1);
    expect(deploymentProblems(env({ ROSTER_HOST: '0.0.0.0', ROSTER_TEAMS: 'off' }))).toEqual([]);
    expect(deploymentProblems(env({ ROSTER_HOST: '0.0.0.0', ...credentials }))).toEqual([]);
    expect(deploymentProblems(env({ ROSTER_HOST: '0.0.0.0', NODE_ENV: 'production' }))).toEqual([]);
    expect(deploymentProblems(env({ ROSTER_HOST: 'localhost' }))).toEqual([]);
  });

  it('refuses test overrides in production and keys over plain http off loopback', () => {
    expect(deploymentProblems(env({ ...credentials, NODE_ENV: 'production', ROSTER_TEAMS_ALLOW_LOOPBACK_CONNECTOR: 'true' }))).toHaveLength(
      1,
    );
    expect(deploymentProblems(env({ ...credentials, ROSTER_TEAMS_ALLOW_LOOPBACK_CONNECTOR: 'true' }))).toEqual([]);
    expect(deploymentProblems(env({ ...credentials, ROSTER_TEAMS_CHANNEL_KEYS_URL: 'http://keys.example.com/keys' }))).toHaveLength(1);
    expect(deploymentProblems(env({ ...credentials, ROSTER_TEAMS_CHANNEL_KEYS_URL: 'http://127.0.0.1:9/keys' }))).toEqual([]);
    expect(
      deploymentProblems(env({ ...credentials, NODE_ENV: 'production', ROSTER_TEAMS_CHANNEL_KEYS_URL: 'http://127.0.0.1:9/keys' })),
    ).toHaveLength(1);
  });

  it('accepts NODE_ENV=test only inside the test runner (JEST_WORKER_ID)', () => {
    expect(process.env.JEST_WORKER_ID).toBeTruthy();
    expect(parseEnv({ NODE_ENV: 'test', JEST_WORKER_ID: '1' }).ok).toBe(true);
    expect(parseEnv({ NODE_ENV: 'test' })).toEqual({
      ok: false,
      problems: ['environment: NODE_ENV: "test" is only for the test runner; use development or production'],
    });
    expect(parseEnv({ NODE_ENV: 'test', JEST_WORKER_ID: ' ' }).ok).toBe(false);
    expect(parseEnv({ NODE_ENV: '' })).toMatchObject({ ok: true, env: { NODE_ENV: 'development' } });
  });
});
