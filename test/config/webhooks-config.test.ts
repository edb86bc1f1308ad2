import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/config/org-config.js';
import { SHIPPED_CONFIG, people } from '../helpers/harness.js';
import { spawnRoster } from '../helpers/roster-process.js';
import { newWebhookSecret, webhookConfigFor } from '../helpers/webhook-receiver.js';

/*
 * config/webhooks.yaml is checked once at start-up: an insecure or unusable subscription stops
 * Roster with one line per problem, naming the file, the subscription and what to fix, and never
 * echoing a secret.
 */

const yaml = (sub: Record<string, string>) =>
  [
    'enabled: true',
    'subscriptions:',
    '  - id: siem',
    `    url: ${sub.url ?? 'https://hooks.example.com/roster'}`,
    `    events: ${sub.events ?? '[grant.revoked, agent.suspended]'}`,
    `    secretEnv: ${sub.secretEnv ?? 'ROSTER_WEBHOOK_SECRET_SIEM'}`,
    `    owner: ${sub.owner ?? people.aisha}`,
    '',
  ].join('\n');

function problemsOf(text: string, env: Record<string, string>, production = true): string[] {
  try {
    webhookConfigFor(text, env, { production, people: [{ email: people.aisha }] });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('config/webhooks.yaml', () => {
  const secret = newWebhookSecret();
  const env = { ROSTER_WEBHOOK_SECRET_SIEM: secret };

  it('loads a valid subscription with its secret from the environment', () => {
    const config = webhookConfigFor(yaml({}), env, { production: true, people: [{ email: people.aisha }] });
    expect(config).toMatchObject({
      retryWindowMs: 24 * 3_600_000,
      allowLoopbackHttp: false,
      subscriptions: [
        { id: 'siem', url: 'https://hooks.example.com/roster', events: ['grant.revoked', 'agent.suspended'], secret, owner: people.aisha },
      ],
    });
  });

  it('is off unless enabled (the example file ships disabled)', () => {
    expect(webhookConfigFor('enabled: false\nsubscriptions: []\n', {})).toBeUndefined();
    const example = readFileSync(path.join(SHIPPED_CONFIG, 'webhooks.example.yaml'), 'utf8');
    expect(webhookConfigFor(example, {})).toBeUndefined();
    // Switched on, the example is valid once its secret is set.
    const on = example.replace(/^enabled: false$/m, 'enabled: true');
    expect(webhookConfigFor(on, { ROSTER_WEBHOOK_SECRET_SIEM: secret }, { production: true })?.subscriptions).toHaveLength(1);
  });

  it.each([
    [
      'a missing secret variable',
      yaml({}),
      {},
      /subscriptions\[0\] \(siem\): secretEnv: the environment variable ROSTER_WEBHOOK_SECRET_SIEM is not set$/,
    ],
    [
      'a secret shorter than the standard requires',
      yaml({}),
      { ROSTER_WEBHOOK_SECRET_SIEM: `whsec_${Buffer.alloc(16, 1).toString('base64')}` },
      /secretEnv: the secret in ROSTER_WEBHOOK_SECRET_SIEM is too short: 16 bytes after whsec_, at least 24 are required$/,
    ],
    ['a secret without whsec_', yaml({}), { ROSTER_WEBHOOK_SECRET_SIEM: 'hunter2-hunter2-hunter2-hunter2' }, /must start with whsec_/],
    ['plain http in production', yaml({ url: 'http://127.0.0.1:9/hooks' }), env, /url must use https/],
    [
      'a private address',
      yaml({ url: 'https://10.1.2.3/hooks' }),
      env,
      /url points at an internal address \(10\.1\.2\.3\); list it under allowPrivateHosts/,
    ],
    ['a link-local address', yaml({ url: 'https://169.254.169.254/latest' }), env, /url points at an internal address/],
    ['credentials in the URL', yaml({ url: 'https://user:pw@hooks.example.com/x' }), env, /url must not carry credentials/],
    ['an unknown event type', yaml({ events: '[grant.revokd]' }), env, /subscriptions\[0\]\.events\[0\]/],
    [
      'an owner outside the directory',
      yaml({ owner: 'nobody@elsewhere.example' }),
      env,
      /owner: nobody@elsewhere\.example is not in the directory/,
    ],
  ])('refuses %s with one line', (_name, text, envVars, line) => {
    const problems = problemsOf(text, envVars);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(line);
    expect(problems[0]).toMatch(/webhooks\.yaml: /);
    for (const value of Object.values(envVars)) expect(problems[0]).not.toContain(value);
  });

  it('allows http to 127.0.0.1 outside production only, and a private host IT listed', () => {
    expect(problemsOf(yaml({ url: 'http://127.0.0.1:8080/hooks' }), env, false)).toEqual([]);
    const listed = yaml({ url: 'https://10.1.2.3/hooks' }).replace('enabled: true', 'enabled: true\nallowPrivateHosts: [10.1.2.3]');
    expect(problemsOf(listed, env)).toEqual([]);
  });

  it('the real process refuses to start on an insecure webhooks.yaml, with a one-line reason and no secret', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'roster-config-'));
    cpSync(SHIPPED_CONFIG, dir, { recursive: true });
    writeFileSync(path.join(dir, 'webhooks.yaml'), yaml({}));
    const short = `whsec_${Buffer.alloc(8, 7).toString('base64')}`;
    const proc = spawnRoster({ ROSTER_CONFIG_DIR: dir, ROSTER_WEBHOOK_SECRET_SIEM: short, ROSTER_DATA_DIR: '/nonexistent/never-created' });
    const exit = await proc.exited;
    expect(exit.code).toBe(2);
    const lines = proc.stderr().trim().split('\n');
    expect(lines[0]).toBe('Roster cannot start: the configuration has 1 problem(s).');
    expect(lines[1]).toMatch(
      /webhooks\.yaml: subscriptions\[0\] \(siem\): secretEnv: the secret in ROSTER_WEBHOOK_SECRET_SIEM is too short/,
    );
    expect(proc.stderr()).not.toContain(short);
    expect(proc.logs.some((l) => l.msg === 'embedded database started')).toBe(false);
  }, 30_000);
});
