import path from 'node:path';
import { ConfigError, formatConfigProblems, loadOrgConfig, validateOrgConfig } from '../../src/config/org-config.js';
import { fixtureDir, repoRoot } from './config-paths.js';

/** The problems loading a fixture produces, asserting it throws a ConfigError. */
function problemsOf(name: string): readonly string[] {
  let thrown: unknown;
  try {
    loadOrgConfig(fixtureDir(name));
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  const error = thrown as ConfigError;
  expect(error.code).toBe('config_invalid');
  expect(error.message).toBe(formatConfigProblems(error.problems));
  return error.problems;
}

describe('loadOrgConfig on broken configurations (test/fixtures/config/<case>)', () => {
  it('reports a YAML syntax error with its line and column', () => {
    const dir = fixtureDir('yaml-syntax-error');
    expect(problemsOf('yaml-syntax-error')).toEqual([
      `${dir}/people.yaml: line 26, column 3: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ]);
  });

  it('reports a schema error with the file, the path and the allowed values', () => {
    const dir = fixtureDir('schema-error');
    expect(problemsOf('schema-error')).toEqual([`${dir}/catalog.yaml: roles[2].riskTier: expected low | medium | high, got "extreme"`]);
  });

  it('reports dangling references: an unknown scope in the catalog and an unknown role in the directory', () => {
    const dir = fixtureDir('dangling-reference');
    expect(problemsOf('dangling-reference')).toEqual([
      `${dir}/people.yaml: people[0].roles[1]: unknown role "cfo" (expected requester, it-admin, security, compliance, dpo, approver:<business-unit>, data-owner:<system> or oncall:<rotation>)`,
      `${dir}/catalog.yaml: roles[1].allowedScopes[2]: unknown scope "crm:delete"`,
    ]);
  });

  it('rejects an unknown field, suggesting the known one', () => {
    const dir = fixtureDir('unknown-field');
    expect(problemsOf('unknown-field')).toEqual([
      `${dir}/catalog.yaml: roles[4]: unknown field "default_scopes" (did you mean "defaultScopes"?)`,
    ]);
  });

  it('reports problems in several files together, still checking references of the files that are valid', () => {
    const dir = fixtureDir('multiple-problems');
    expect(problemsOf('multiple-problems')).toEqual([
      `${dir}/org.yaml: line 12, column 1: All mapping items must start at the same column`,
      `${dir}/people.yaml: people[4].preferredChannel: expected slack | teams, got "email"`,
      `${dir}/people.yaml: people[11].name: required`,
      `${dir}/catalog.yaml: roles[2].defaultScopes[1]: unknown scope "finance:invoice:read" (did you mean "finance:invoices:read"?)`,
      `${dir}/catalog.yaml: roles[2].forbiddenScopes[0].scope: scope "finance:ledger:write" is both allowed (allowedScopes[2]) and forbidden`,
    ]);
  });

  it('reports a missing file', () => {
    const dir = fixtureDir('missing-file');
    expect(problemsOf('missing-file')).toEqual([`${dir}/org.yaml: file not found`]);
  });

  it('reports every file of a directory that does not exist, without throwing from validateOrgConfig', () => {
    const dir = fixtureDir('no-such-case');
    expect(validateOrgConfig(dir)).toEqual({
      ok: false,
      problems: ['org.yaml', 'people.yaml', 'scopes.yaml', 'catalog.yaml'].map((file) => `${dir}/${file}: file not found`),
    });
  });

  it('names files relative to the working directory when given an absolute directory', () => {
    const result = validateOrgConfig(path.join(repoRoot, 'test', 'fixtures', 'config', 'schema-error'));
    expect(result).toEqual({
      ok: false,
      problems: [`${fixtureDir('schema-error')}/catalog.yaml: roles[2].riskTier: expected low | medium | high, got "extreme"`],
    });
  });
});

describe('formatConfigProblems', () => {
  it('prints a count and one indented line per problem', () => {
    expect(formatConfigProblems(['config/org.yaml: file not found', 'config/people.yaml: people[0].name: required'])).toBe(
      'The configuration has 2 problems:\n  - config/org.yaml: file not found\n  - config/people.yaml: people[0].name: required',
    );
    expect(formatConfigProblems(['config/org.yaml: file not found'])).toBe(
      'The configuration has 1 problem:\n  - config/org.yaml: file not found',
    );
    expect(formatConfigProblems([])).toBe('The configuration has no problems.');
  });
});
