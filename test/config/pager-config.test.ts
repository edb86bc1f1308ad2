import { ConfigError } from '../../src/config/org-config.js';
import { resolvePagers } from '../../src/config/pager.js';
import { rotationSchema } from '../../src/config/schemas.js';

const levels = [['liam.oneill@brightwater.example']];
const pd = (extra: Record<string, unknown> = {}) =>
  rotationSchema.parse({ id: 'ai-ops', name: 'AI ops', levels, pager: { provider: 'pagerduty', routingKeyEnv: 'PD_KEY', ...extra } });
const og = (extra: Record<string, unknown> = {}) =>
  rotationSchema.parse({ id: 'ai-ops', name: 'AI ops', levels, pager: { provider: 'opsgenie', apiKeyEnv: 'OG_KEY', ...extra } });

function problems(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('rotation pagers in org.yaml', () => {
  it('parses PagerDuty and Opsgenie pagers and refuses unknown providers, fields and variable names', () => {
    expect(pd().pager).toEqual({ provider: 'pagerduty', routingKeyEnv: 'PD_KEY' });
    expect(og().pager).toEqual({ provider: 'opsgenie', apiKeyEnv: 'OG_KEY', region: 'us' });
    expect(rotationSchema.safeParse({ id: 'x', name: 'X', levels, pager: { provider: 'victorops', routingKeyEnv: 'K' } }).success).toBe(
      false,
    );
    expect(rotationSchema.safeParse({ id: 'x', name: 'X', levels, pager: { provider: 'pagerduty', routingKey: 'abc' } }).success).toBe(
      false,
    );
    expect(rotationSchema.safeParse({ id: 'x', name: 'X', levels, pager: { provider: 'pagerduty', routingKeyEnv: 'lower' } }).success).toBe(
      false,
    );
    expect(
      rotationSchema.safeParse({ id: 'x', name: 'X', levels, pager: { provider: 'opsgenie', apiKeyEnv: 'K', region: 'apac' } }).success,
    ).toBe(false);
  });

  it('resolves secrets from the environment, with the vendor hosts by default', () => {
    expect(
      resolvePagers([pd({ webhookSecretEnv: 'PD_SECRET' })], {
        env: { PD_KEY: ' key ', PD_SECRET: 'a-long-enough-secret' },
        production: true,
      }),
    ).toEqual([
      {
        rotation: 'ai-ops',
        provider: 'pagerduty',
        baseUrl: 'https://events.pagerduty.com',
        key: 'key',
        webhookSecret: 'a-long-enough-secret',
      },
    ]);
    expect(resolvePagers([og({ region: 'eu' })], { env: { OG_KEY: 'k' }, production: true })[0]?.baseUrl).toBe(
      'https://api.eu.opsgenie.com',
    );
    expect(resolvePagers([og()], { env: { OG_KEY: 'k' }, production: true })[0]?.baseUrl).toBe('https://api.opsgenie.com');
  });

  it('refuses a variable that is not set, a short webhook secret, and (in production) any host but the vendor’s, one line each', () => {
    expect(problems(() => resolvePagers([pd({ webhookSecretEnv: 'PD_SECRET' })], { env: {}, production: false }))).toEqual([
      'org.yaml: rotations[0] (ai-ops): pager.routingKeyEnv: the environment variable PD_KEY is not set',
      'org.yaml: rotations[0] (ai-ops): pager.webhookSecretEnv: the environment variable PD_SECRET is not set',
    ]);
    expect(
      problems(() =>
        resolvePagers([og({ webhookSecretEnv: 'OG_SECRET' })], { env: { OG_KEY: 'k', OG_SECRET: 'short' }, production: false }),
      ),
    ).toEqual(['org.yaml: rotations[0] (ai-ops): pager.webhookSecretEnv: the secret in OG_SECRET is too short (at least 16 characters)']);
    expect(problems(() => resolvePagers([pd({ baseUrl: 'http://127.0.0.1:9999' })], { env: { PD_KEY: 'k' }, production: true }))).toEqual([
      'org.yaml: rotations[0] (ai-ops): pager.baseUrl: production sends only to https://events.pagerduty.com or https://events.eu.pagerduty.com',
    ]);
    expect(
      problems(() => resolvePagers([og({ baseUrl: 'https://opsgenie.evil.example' })], { env: { OG_KEY: 'k' }, production: true })),
    ).toHaveLength(1);
    // Outside production a fake may listen on loopback over http, but not on another machine.
    expect(resolvePagers([pd({ baseUrl: 'http://127.0.0.1:9999/' })], { env: { PD_KEY: 'k' }, production: false })[0]?.baseUrl).toBe(
      'http://127.0.0.1:9999',
    );
    expect(
      problems(() => resolvePagers([pd({ baseUrl: 'http://pager.example.com' })], { env: { PD_KEY: 'k' }, production: false })),
    ).toHaveLength(1);
    // The secret's value never appears in a problem.
    expect(
      problems(() =>
        resolvePagers([og({ webhookSecretEnv: 'OG_SECRET' })], { env: { OG_KEY: 'k', OG_SECRET: 'tiny' }, production: false }),
      ).join(),
    ).not.toContain('tiny');
  });
});
