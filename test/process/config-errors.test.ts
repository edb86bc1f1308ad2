import { rmSync } from 'node:fs';
import path from 'node:path';
import { shippedConfigEdited, shippedConfigWith } from '../helpers/config-copy.js';
import { spawnRoster } from '../helpers/roster-process.js';

/** A broken configuration stops start-up with exit code 2 and one line per problem, before any database work. */
describe('start-up with a broken configuration', () => {
  async function run(configDir: string, extraEnv: Record<string, string> = {}) {
    const proc = spawnRoster({ ROSTER_CONFIG_DIR: configDir, ROSTER_DATA_DIR: '/nonexistent/never-created', ...extraEnv });
    const exit = await proc.exited;
    return { code: exit.code, stderr: proc.stderr(), logs: proc.logs };
  }

  it('a schema error: exit 2 naming the file, the path and what was expected', async () => {
    const result = await run('test/fixtures/config/schema-error');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'test/fixtures/config/schema-error/catalog.yaml: roles[2].riskTier: expected low | medium | high, got "extreme"\n',
    );
    expect(result.logs.some((l) => l.msg === 'embedded database started')).toBe(false);
  }, 30_000);

  it('a YAML syntax error: exit 2 with line and column', async () => {
    const result = await run('test/fixtures/config/yaml-syntax-error');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/test\/fixtures\/config\/yaml-syntax-error\/people\.yaml: line 26, column 3: /);
  }, 30_000);

  it('a dangling cross-reference: exit 2 with every problem on its own line', async () => {
    const result = await run('test/fixtures/config/dangling-reference');
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toContain('test/fixtures/config/dangling-reference/catalog.yaml: roles[1].allowedScopes[2]: unknown scope "crm:delete"');
    expect(
      lines.some((l) => l.startsWith('test/fixtures/config/dangling-reference/people.yaml: people[0].roles[1]: unknown role "cfo"')),
    ).toBe(true);
  }, 30_000);

  it('broken decision boundaries: exit 2 with one `file: path: message` line each for an unknown queue, a threshold on a text field and unknown approvers', async () => {
    // The shipped configuration with only the broken boundaries written in, so the rest stays valid as it changes.
    const modifyAt = ['boundaries', 'actions', 'contracts.modify'];
    const dir = shippedConfigWith('roster-boundary-errors-', {
      'procurement-agent': [
        [
          [...modifyAt, 'approvers'],
          ['sponsor', 'approver:treasury', 'oncall:night-shift', 'chief-buyer'],
        ],
        [[...modifyAt, 'when'], { field: 'supplier', above: 10000 }],
      ],
      'resume-screener': [[['boundaries', 'handoffs', 'candidate-dispute'], 'talent-pool']],
    });
    const result = await run(dir);
    expect(result.code).toBe(2);
    // Roster names files relative to its working directory, the project's.
    const at = `${path.relative(process.cwd(), dir)}/catalog.yaml: roles`;
    const modify = `${at}[6].boundaries.actions.contracts.modify`;
    expect(result.stderr.trim().split('\n')).toEqual([
      'Roster cannot start: the configuration has 5 problem(s).',
      `${modify}.approvers[1]: role "approver:treasury" names unknown business unit "treasury" (known: finance, customer-support, people-ops, engineering, risk-compliance)`,
      `${modify}.approvers[2]: role "oncall:night-shift" names unknown rotation "night-shift" (known: ai-ops)`,
      `${modify}.approvers[3]: unknown approver "chief-buyer": expected sponsor, business-unit-approver or requester, it-admin, security, compliance, dpo, approver:<business-unit>, data-owner:<system> or oncall:<rotation>`,
      `${modify}.when.field: field "supplier" is a string; a threshold needs a number field`,
      `${at}[7].boundaries.handoffs.candidate-dispute: unknown queue "talent-pool" (known: recruiters)`,
    ]);
    expect(result.logs.some((l) => l.msg === 'embedded database started')).toBe(false);
  }, 30_000);

  it('a bad environment variable: exit 2 naming the variable, never echoing its value', async () => {
    const result = await run('config', { PORT: 'not-a-port-s3cr3t' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^environment: PORT: /m);
    expect(result.stderr).not.toContain('s3cr3t');
  }, 30_000);

  it('production with the shipped sample organisation: exit 2 with one line saying to bring its own', async () => {
    const result = await run('config', {
      NODE_ENV: 'production',
      ROSTER_PUBLIC_URL: 'https://roster.example.com',
      ROSTER_CHART_SECRET: 'ab'.repeat(32),
      ROSTER_OAUTH_KEK: Buffer.alloc(32, 7).toString('base64'),
      ROSTER_EVAL_SECRET_KEY: 'ab'.repeat(32),
      ROSTER_AUDIT_SIGNING_KEY: 'cd'.repeat(32),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'config: people.yaml: production refuses the sample organisation (people @brightwater.example): replace config/*.yaml with your own, or point ROSTER_CONFIG_DIR at them\n',
    );
    expect(result.logs.some((l) => l.msg === 'embedded database started')).toBe(false);
  }, 30_000);
});

describe('start-up with a rotation paging through PagerDuty', () => {
  /** The shipped configuration with the ai-ops rotation paging PagerDuty through variables that are not set. */
  function configWithUnsetPagerSecrets(): string {
    return shippedConfigEdited('roster-pager-config-', 'org.yaml', (doc) =>
      doc.setIn(['rotations', 0, 'pager'], {
        provider: 'pagerduty',
        routingKeyEnv: 'ROSTER_TEST_PD_ROUTING_KEY_UNSET',
        webhookSecretEnv: 'ROSTER_TEST_PD_WEBHOOK_SECRET_UNSET',
      }),
    );
  }

  it('a routing key or webhook secret variable that is not set: exit 2, one line each, before any database work', async () => {
    const dir = configWithUnsetPagerSecrets();
    try {
      const proc = spawnRoster({ ROSTER_CONFIG_DIR: dir, ROSTER_DATA_DIR: '/nonexistent/never-created' });
      expect((await proc.exited).code).toBe(2);
      const at = `${dir}/org.yaml: rotations[0] (ai-ops): pager`;
      expect(proc.stderr().trim().split('\n')).toEqual(
        expect.arrayContaining([
          `${at}.routingKeyEnv: the environment variable ROSTER_TEST_PD_ROUTING_KEY_UNSET is not set`,
          `${at}.webhookSecretEnv: the environment variable ROSTER_TEST_PD_WEBHOOK_SECRET_UNSET is not set`,
        ]),
      );
      expect(proc.logs.some((l) => l.msg === 'embedded database started')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('start-up with a broken flow', () => {
  it('exit 2 naming the flow file and the step', async () => {
    const proc = spawnRoster({ ROSTER_FLOWS_DIR: 'test/fixtures/flows/malformed', ROSTER_DATA_DIR: '/nonexistent/never-created' });
    const exit = await proc.exited;
    expect(exit.code).toBe(2);
    expect(proc.stderr()).toContain(
      'test/fixtures/flows/malformed/unknown-names.yaml: steps[1] (onboard).action: unknown action "agent.teleport"\n',
    );
  }, 30_000);
});

describe('start-up with a broken identity-provider mapping', () => {
  it('unknown roles and business units in org.yaml directory: exit 2, one file: path: message line each', async () => {
    const proc = spawnRoster({ ROSTER_CONFIG_DIR: 'test/fixtures/config/bad-directory', ROSTER_DATA_DIR: '/nonexistent/never-created' });
    expect((await proc.exited).code).toBe(2);
    const lines = proc.stderr().trim().split('\n');
    const at = 'test/fixtures/config/bad-directory/org.yaml';
    expect(lines).toEqual(
      expect.arrayContaining([
        `${at}: directory.defaultBusinessUnit: unknown business unit "legal" (known: finance, customer-support, people-ops, engineering, risk-compliance)`,
        `${at}: directory.groups[0].roles[0]: unknown role "it_admin" (did you mean "it-admin"?)`,
        `${at}: directory.groups[1].businessUnit: unknown business unit "legal" (known: finance, customer-support, people-ops, engineering, risk-compliance)`,
        `${at}: directory.groups[2].group: group "roster it admins" is already mapped at directory.groups[0] (names are compared ignoring case)`,
        `${at}: directory.groups[3]: maps the group to nothing: give roles, a businessUnit or both`,
      ]),
    );
  }, 30_000);

  it('SCIM turned on without a directory mapping: exit 2', async () => {
    const proc = spawnRoster({
      ROSTER_CONFIG_DIR: 'test/fixtures/config/no-directory',
      ROSTER_DATA_DIR: '/nonexistent/never-created',
      ROSTER_SCIM_TOKEN: 'x'.repeat(40),
    });
    expect((await proc.exited).code).toBe(2);
    expect(proc.stderr()).toContain('test/fixtures/config/no-directory/org.yaml: directory: required when ROSTER_SCIM_TOKEN is set');
  }, 30_000);
});
