import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { checkCrossReferences, FILE_ORDER, type ConfigFileKey, type ParsedConfigFiles } from './cross-references.js';
import {
  catalogFileSchema,
  orgFileSchema,
  peopleFileSchema,
  scopesFileSchema,
  type CatalogFile,
  type OrgConfig,
  type OrgFile,
  type PeopleFile,
  type ScopesFile,
} from './schemas.js';
import { validateWithSchema } from './zod-messages.js';

export type {
  BusinessUnit,
  CatalogRole,
  Channel,
  DataClass,
  DriftMetric,
  DirectorySettings,
  DriftPolicy,
  Escalation,
  EvaluationThresholds,
  ForbiddenScope,
  GroupMapping,
  OrgConfig,
  OrgSettings,
  Person,
  Regulation,
  RiskLevel,
  Rotation,
  Scope,
} from './schemas.js';

/** File name of each configuration file inside the configuration directory. */
export const CONFIG_FILES: Readonly<Record<ConfigFileKey, string>> = {
  org: 'org.yaml',
  people: 'people.yaml',
  scopes: 'scopes.yaml',
  catalog: 'catalog.yaml',
};

/**
 * Thrown by {@link loadOrgConfig} when the configuration cannot be used. `problems` lists every
 * problem found, one line each, as `<file>: <path>: <message>`, for example
 * `config/catalog.yaml: roles[2].riskTier: expected low | medium | high, got "extreme"`.
 */
export class ConfigError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'config_invalid';
  /** Every problem, in file order (org, people, scopes, catalog). */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(formatConfigProblems(problems));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Formats problem lines for a terminal or log: a count, then one indented line per problem.
 * An empty list reads `The configuration has no problems.`
 */
export function formatConfigProblems(problems: readonly string[]): string {
  if (problems.length === 0) return 'The configuration has no problems.';
  const heading = `The configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'}:`;
  return [heading, ...problems.map((problem) => `  - ${problem}`)].join('\n');
}

/** Result of {@link validateOrgConfig}. */
export type OrgConfigResult = { ok: true; config: OrgConfig } | { ok: false; problems: string[] };

/** The path of a file as shown in problems: relative to the working directory, with `/`. */
export function displayPath(dir: string, file: string): string {
  const relative = path.relative(process.cwd(), path.resolve(dir, file));
  return relative.split(path.sep).join('/');
}

/** Reads and YAML-parses one file; on failure returns problem details (without the file prefix). Shared with the flow loader. */
export function readYaml(filePath: string): { ok: true; data: unknown } | { ok: false; problems: string[] } {
  let text: string;
  try {
    text = readFileSync(filePath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, problems: [code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? (error as Error).message})`] };
  }
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const [error] = document.errors;
  if (error !== undefined) {
    // Only the first syntax error is reported: the parser's later errors are nearly always
    // consequences of it (one missing bracket yields a dozen), and the file cannot be validated.
    const position = error.linePos?.[0];
    const message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    return { ok: false, problems: [position ? `line ${position.line}, column ${position.col}: ${message}` : message] };
  }
  const data: unknown = document.toJS();
  if (data === null || data === undefined) return { ok: false, problems: ['file is empty'] };
  return { ok: true, data };
}

/**
 * Reads, parses and validates the four configuration files in `dir` (`org.yaml`,
 * `people.yaml`, `scopes.yaml`, `catalog.yaml`) and checks the references between them.
 * Never throws for bad configuration: every problem in every file is returned, grouped by file
 * (org, people, scopes, catalog). Per file that is either its first YAML syntax error, or all
 * its schema problems, or (when it is valid on its own) its cross-reference problems ordered by
 * path. Cross-reference checks that need a file which failed are skipped, so a broken file
 * does not hide problems in the others.
 */
export function validateOrgConfig(dir: string): OrgConfigResult {
  const problems = new Map<ConfigFileKey, string[]>(FILE_ORDER.map((key) => [key, []]));
  const parsed: ParsedConfigFiles = {};

  const load = <T>(
    key: ConfigFileKey,
    validate: (data: unknown) => { ok: true; data: T } | { ok: false; problems: string[] },
  ): T | undefined => {
    const read = readYaml(path.join(dir, CONFIG_FILES[key]));
    const result = read.ok ? validate(read.data) : read;
    if (result.ok) return result.data;
    problems.get(key)?.push(...result.problems);
    return undefined;
  };
  parsed.org = load<OrgFile>('org', (data) => validateWithSchema(orgFileSchema, data));
  parsed.people = load<PeopleFile>('people', (data) => validateWithSchema(peopleFileSchema, data));
  parsed.scopes = load<ScopesFile>('scopes', (data) => validateWithSchema(scopesFileSchema, data));
  parsed.catalog = load<CatalogFile>('catalog', (data) => validateWithSchema(catalogFileSchema, data));

  for (const problem of checkCrossReferences(parsed)) {
    problems.get(problem.file)?.push(`${problem.path}: ${problem.message}`);
  }

  const lines = FILE_ORDER.flatMap((key) => (problems.get(key) ?? []).map((detail) => `${displayPath(dir, CONFIG_FILES[key])}: ${detail}`));
  if (lines.length > 0 || !parsed.org || !parsed.people || !parsed.scopes || !parsed.catalog) return { ok: false, problems: lines };
  return {
    ok: true,
    config: {
      businessUnits: parsed.org.businessUnits,
      rotations: parsed.org.rotations,
      settings: parsed.org.settings,
      ...(parsed.org.directory ? { directory: parsed.org.directory } : {}),
      people: parsed.people.people,
      scopes: parsed.scopes.scopes,
      catalog: parsed.catalog.roles,
    },
  };
}

/**
 * Loads the organisation configuration from `dir` (usually `ROSTER_CONFIG_DIR`, default
 * `./config`), once, at start-up. Problems are reported with file names relative to the
 * working directory, e.g. `config/org.yaml: file not found`.
 *
 * @throws ConfigError listing every problem found when the configuration is invalid.
 */
export function loadOrgConfig(dir: string): OrgConfig {
  const result = validateOrgConfig(dir);
  if (!result.ok) throw new ConfigError(result.problems);
  return result.config;
}
