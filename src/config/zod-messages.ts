import { z } from 'zod';
import { didYouMean } from './did-you-mean.js';

/*
 * Turns zod issues into the one-line problem style used for configuration files:
 *   roles[2].riskTier: expected low | medium | high, got "extreme"
 *   settings.rawEventRetentionDays: expected number, got string "thirty"
 *   people[3].name: required
 *   roles[0]: unknown field "default_scopes" (did you mean "defaultScopes"?)
 */

/** Shown as the path of a problem that concerns the whole document. */
export const ROOT_PATH = '(root)';

/** JSON-quotes a string for a message, shortening it past 60 characters. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
}

/**
 * Describes a value with its type for an error message: `string "abc"`, `number 5`,
 * `boolean true`, `null`, `array`, `object`; `nothing` for `undefined`.
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') return `string ${quote(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  return typeof value;
}

/** Like {@link describeValue} but a string is shown quoted without its type: `"extreme"`. */
export function describeGot(value: unknown): string {
  return typeof value === 'string' ? quote(value) : describeValue(value);
}

/**
 * A schema-level zod `error` option for string formats and patterns: a mismatch reads
 * `expected <what>, got "<value>"`; other issues (wrong type, missing) fall through to
 * {@link configErrorMap}.
 */
export function formatMismatch(what: string): (issue: z.core.$ZodRawIssue) => string | undefined {
  return (issue) => (issue.code === 'invalid_format' ? `expected ${what}, got ${describeGot(issue.input)}` : undefined);
}

/** Formats a zod path as `a.b[2].c`; an empty path is {@link ROOT_PATH}. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][\w$-]*$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text === '' ? ROOT_PATH : text;
}

const TYPE_NAMES: Record<string, string> = { int: 'integer', object: 'object', array: 'array' };

function plural(count: number | bigint, word: string): string {
  return `${count} ${word}${count === 1 || count === 1n ? '' : 's'}`;
}

function knownKeys(issue: z.core.$ZodRawIssue): string[] {
  return issue.inst instanceof z.ZodObject ? Object.keys(issue.inst.shape) : [];
}

/**
 * Per-parse zod error map producing the configuration message style. Schema-level `error`
 * options and explicit issue messages take precedence. An `unrecognized_keys` issue yields
 * one line per unknown key, with a suggestion when a known field is a likely typo.
 */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required';
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_value':
      if (issue.input === undefined) return 'required';
      return `expected ${issue.values.map(String).join(' | ')}, got ${describeGot(issue.input)}`;
    case 'unrecognized_keys': {
      const known = knownKeys(issue);
      return issue.keys.map((key) => `unknown field ${JSON.stringify(key)}${didYouMean(key, known)}`).join('\n');
    }
    case 'too_small':
      if (issue.origin === 'array') return `must list at least ${plural(issue.minimum, 'item')}`;
      if (issue.origin === 'string')
        return issue.minimum === 1 ? 'must not be empty' : `must be at least ${plural(issue.minimum, 'character')}`;
      return `must be ${issue.inclusive ? 'at least' : 'greater than'} ${issue.minimum}, got ${describeGot(issue.input)}`;
    case 'too_big':
      if (issue.origin === 'array') return `must list at most ${plural(issue.maximum, 'item')}`;
      if (issue.origin === 'string') return `must be at most ${plural(issue.maximum, 'character')}`;
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}, got ${describeGot(issue.input)}`;
    case 'invalid_format':
      return `expected ${issue.format}, got ${describeGot(issue.input)}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}, got ${describeGot(issue.input)}`;
    case 'invalid_union':
      return `does not match any accepted form, got ${describeValue(issue.input)}`;
    default:
      return undefined;
  }
};

/** Result of {@link validateWithSchema}: the parsed value or `<path>: <message>` problem lines. */
export type SchemaResult<T> = { ok: true; data: T } | { ok: false; problems: string[] };

/**
 * Parses `data` with `schema` using {@link configErrorMap}; on failure returns every issue as a
 * `<path>: <message>` line (a multi-line message becomes several lines with the same path).
 */
export function validateWithSchema<S extends z.ZodType>(schema: S, data: unknown): SchemaResult<z.output<S>> {
  const result = schema.safeParse(data, { error: configErrorMap });
  if (result.success) return { ok: true, data: result.data };
  const problems = result.error.issues.flatMap((issue) => {
    const path = formatPath(issue.path);
    return issue.message.split('\n').map((line) => `${path}: ${line}`);
  });
  return { ok: false, problems };
}
