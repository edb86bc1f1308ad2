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

  it('a bad environment variable: exit 2 naming the variable, never echoing its value', async () => {
    const result = await run('config', { PORT: 'not-a-port-s3cr3t' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^environment: PORT: /m);
    expect(result.stderr).not.toContain('s3cr3t');
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
