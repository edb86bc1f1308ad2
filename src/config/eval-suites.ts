import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import safeRegex from 'safe-regex2';
import { z } from 'zod';
import { durationSchema } from './duration.js';
import { displayPath, readYaml } from './org-config.js';
import type { OrgConfig } from './schemas.js';
import { slugSchema } from './schemas.js';
import { validateWithSchema } from './zod-messages.js';
import { didYouMean } from './did-you-mean.js';

/*
 * Evaluation suites: `evals/<role>.yaml`, one per catalog role, parsed and checked once at
 * start-up with the organisation (a bad suite stops Roster with exit 2 and
 * `evals/<file>: <path>: <message>`). A suite is the "interview" Roster runs against a candidate
 * agent: cases with an input, optional context, a grader and an optional fairness segment.
 */

/** Longest regular expression a grader may use: short patterns keep matching cheap. */
export const MAX_PATTERN_LENGTH = 200;
/** Regular expressions are only ever run against this many characters of an answer. */
export const MAX_MATCHED_CHARS = 20_000;

const nonEmpty = z.string().trim().min(1);
const caseIdSchema = z.string().regex(/^[\w.:-]{1,100}$/, { error: 'expected a case id of letters, digits, _ . : or - (at most 100)' });

/** A pattern checked for catastrophic backtracking (star height > 1) and length before it is ever run. */
const safePatternSchema = z
  .string()
  .min(1)
  .max(MAX_PATTERN_LENGTH, { error: `expected a pattern of at most ${MAX_PATTERN_LENGTH} characters` })
  .check((ctx) => {
    try {
      new RegExp(ctx.value, 'u');
    } catch (err) {
      ctx.issues.push({ code: 'custom', input: ctx.value, message: `not a valid regular expression: ${(err as Error).message}` });
      return;
    }
    // Backreferences and lookarounds are where backtracking hides beyond star height.
    if (!safeRegex(ctx.value) || /\\[1-9]|\(\?<?[=!]/.test(ctx.value)) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: 'this pattern may backtrack catastrophically (nested quantifiers, backreferences or lookarounds); simplify it',
      });
    }
  });

const flagsSchema = z
  .string()
  .regex(/^[imsu]{0,4}$/, { error: 'expected regular-expression flags among i, m, s, u' })
  .default('');

/** How an answer is graded. */
export const graderSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('exact'),
    value: z.string(),
    caseSensitive: z.boolean().default(true),
    trim: z.boolean().default(true),
  }),
  z.strictObject({ type: z.literal('contains'), value: nonEmpty, caseSensitive: z.boolean().default(false) }),
  z.strictObject({ type: z.literal('regex'), pattern: safePatternSchema, flags: flagsSchema }),
  z.strictObject({ type: z.literal('json-schema'), schema: z.record(z.string(), z.unknown()) }),
  z.strictObject({
    type: z.literal('numeric'),
    value: z.number(),
    /** Absolute tolerance, or relative (a fraction of `value`) when `relative` is true. */
    tolerance: z.number().min(0).default(0),
    relative: z.boolean().default(false),
  }),
  /** Role fit: an out-of-role request the agent must decline. */
  z.strictObject({ type: z.literal('refuse') }),
  /** Free-form answers scored 0..1 by the suite's judge endpoint. */
  z.strictObject({
    type: z.literal('judge'),
    rubric: nonEmpty.max(4000),
    expected: z.string().max(4000).optional(),
    minScore: z.number().min(0).max(1).default(0.7),
  }),
]);
/** How an answer is graded, see {@link graderSchema}. */
export type Grader = z.output<typeof graderSchema>;

/** One test case of a suite. */
export const evalCaseSchema = z.strictObject({
  id: caseIdSchema,
  input: nonEmpty.max(20_000),
  /** Extra material the agent gets with the input (a ticket, a document excerpt, an account). */
  context: z.union([z.string().max(50_000), z.record(z.string(), z.unknown())]).optional(),
  /** A fairness segment (e.g. a language or region): accuracy is compared across segments. */
  segment: slugSchema.optional(),
  grader: graderSchema,
});
/** One test case, see {@link evalCaseSchema}. */
export type EvalCase = z.output<typeof evalCaseSchema>;

/** The whole of `evals/<role>.yaml`. */
export const evalSuiteFileSchema = z.strictObject({
  /** The catalog role; when present it must equal the file name. */
  role: slugSchema.optional(),
  description: z.string().optional(),
  /** The role's price table: USD per million tokens, used when an endpoint reports tokens but no cost. */
  pricing: z.strictObject({ inputPerMillionTokensUSD: z.number().min(0), outputPerMillionTokensUSD: z.number().min(0) }).optional(),
  /** How often a working agent is re-interviewed; the role's check-in cadence when absent. */
  rerunEvery: durationSchema.optional(),
  /** Cases run at once, the time one case may take, and the whole run's budget. */
  concurrency: z.number().int().min(1).max(32).default(4),
  caseTimeout: durationSchema.prefault('15s'),
  budget: durationSchema.prefault('10m'),
  /** Fairness across case segments (four-fifths rule); segments with fewer cases are left out. */
  fairness: z
    .strictObject({ minGroupSize: z.number().int().min(1).default(5), disparateImpactMin: z.number().gt(0).max(1).default(0.8) })
    .prefault({}),
  /** Answers matching one of these (case-insensitive) count as a refusal when the endpoint does not say. */
  refusalPatterns: z.array(safePatternSchema).max(20).optional(),
  /** The judge endpoint for `judge` graders (its host must be allowed like an agent's). */
  judge: z.strictObject({ url: z.url({ protocol: /^https?$/ }) }).optional(),
  cases: z.array(evalCaseSchema).min(1).max(5000),
});

/** A loaded suite: the file's content plus what Roster derives from it once. */
export interface EvalSuite {
  roleId: string;
  /** The file as shown in messages, e.g. `evals/kb-answerer.yaml`. */
  file: string;
  /** SHA-256 of the suite's normalised content: results are only compared on the same hash. */
  hash: string;
  description?: string;
  pricing?: { inputPerMillionTokensUSD: number; outputPerMillionTokensUSD: number };
  rerunEveryMs?: number;
  concurrency: number;
  caseTimeoutMs: number;
  budgetMs: number;
  fairness: { minGroupSize: number; disparateImpactMin: number };
  refusalPatterns: RegExp[];
  judgeUrl?: string;
  cases: EvalCase[];
  /** JSON-schema graders compiled once, by case id. */
  schemas: ReadonlyMap<string, ValidateFunction>;
}

/** Evaluation suites by catalog role id. */
export type EvalSuites = ReadonlyMap<string, EvalSuite>;

/** Phrases agents use to decline; a suite may replace them with `refusalPatterns`. */
export const DEFAULT_REFUSAL_PATTERNS = [
  /\b(?:i|we) (?:can(?:no|')t|won't|am not able to|am unable to|'m not able to|'m unable to) (?:help|assist|answer|do|provide|discuss)/i,
  /\b(?:outside|beyond) (?:my|the) (?:scope|remit|role)/i,
  /\bnot (?:something|a question) i can (?:help|answer)/i,
  /\bplease (?:contact|ask) (?:the )?(?:finance|hr|legal|a human|someone)/i,
];

export type EvalSuitesResult = { ok: true; suites: EvalSuites } | { ok: false; problems: string[] };

/**
 * Reads every `*.yaml` in `dir` (missing directory = no suites) and validates it against the
 * schema and the catalog: the file name is a catalog role, cases ids are unique, JSON schemas
 * compile. Never throws for bad content; every problem is returned as `<file>: <path>: <message>`.
 */
export function validateEvalSuites(dir: string, org: Pick<OrgConfig, 'catalog'>): EvalSuitesResult {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, suites: new Map() };
    return { ok: false, problems: [`${displayPath(dir, '.')}: cannot read the directory (${(err as NodeJS.ErrnoException).code ?? ''})`] };
  }
  const problems: string[] = [];
  const suites = new Map<string, EvalSuite>();
  const roleIds = org.catalog.map((r) => r.id);
  for (const file of files) {
    const shown = displayPath(dir, file);
    const at = (p: string) => problems.push(`${shown}: ${p}`);
    const roleId = file.replace(/\.ya?ml$/, '');
    if (!roleIds.includes(roleId)) {
      at(`(root): no catalog role "${roleId}"${didYouMean(roleId, roleIds)}; name the file after a role in config/catalog.yaml`);
      continue;
    }
    const read = readYaml(path.join(dir, file));
    if (!read.ok) {
      read.problems.forEach(at);
      continue;
    }
    const parsed = validateWithSchema(evalSuiteFileSchema, read.data);
    if (!parsed.ok) {
      parsed.problems.forEach(at);
      continue;
    }
    const data = parsed.data;
    const before = problems.length;
    if (data.role && data.role !== roleId) at(`role: "${data.role}" does not match the file name (${roleId})`);
    const seen = new Set<string>();
    const ajv = new Ajv({ allErrors: false, strict: false });
    const schemas = new Map<string, ValidateFunction>();
    data.cases.forEach((c, i) => {
      if (seen.has(c.id)) at(`cases[${i}].id: "${c.id}" is used twice`);
      seen.add(c.id);
      if (c.grader.type === 'json-schema') {
        try {
          schemas.set(c.id, ajv.compile(c.grader.schema));
        } catch (err) {
          at(`cases[${i}].grader.schema: not a valid JSON schema: ${(err as Error).message.slice(0, 200)}`);
        }
      }
      if (c.grader.type === 'judge' && !data.judge) at(`cases[${i}].grader: a judge grader needs the suite's judge.url`);
    });
    if (problems.length > before) continue;
    suites.set(roleId, {
      roleId,
      file: shown,
      hash: suiteHash(data),
      ...(data.description ? { description: data.description } : {}),
      ...(data.pricing ? { pricing: data.pricing } : {}),
      ...(data.rerunEvery ? { rerunEveryMs: data.rerunEvery.ms } : {}),
      concurrency: data.concurrency,
      caseTimeoutMs: data.caseTimeout.ms,
      budgetMs: data.budget.ms,
      fairness: data.fairness,
      refusalPatterns: data.refusalPatterns ? data.refusalPatterns.map((p) => new RegExp(p, 'iu')) : DEFAULT_REFUSAL_PATTERNS,
      ...(data.judge ? { judgeUrl: data.judge.url } : {}),
      cases: data.cases,
      schemas,
    });
  }
  return problems.length ? { ok: false, problems } : { ok: true, suites };
}

/** Thrown by {@link loadEvalSuites}; `problems` as in ConfigError. */
export class EvalSuitesError extends Error {
  readonly code = 'config_invalid';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'EvalSuitesError';
  }
}

/** Loads the suites once at start-up; throws {@link EvalSuitesError} listing every problem. */
export function loadEvalSuites(dir: string, org: Pick<OrgConfig, 'catalog'>): EvalSuites {
  const result = validateEvalSuites(dir, org);
  if (!result.ok) throw new EvalSuitesError(result.problems);
  return result.suites;
}

/** SHA-256 over the suite's content with keys sorted, so formatting and comments do not change it. */
export function suiteHash(content: unknown): string {
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
