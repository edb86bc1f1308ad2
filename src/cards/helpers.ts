import type { HelperDelegate, HelperOptions } from 'handlebars';
import type { CardPlatform } from './errors.js';
import { cleanText, escapeSlack, escapeTeamsMarkdown, fitText, jsonStringContent, singleLine } from './text.js';

/*
 * Handlebars helpers for the card templates. Templates are compiled with `noEscape`, so every
 * value must reach the output through one of the OUTPUT helpers below, which make it safe:
 *
 *   {{json x}}               any value as a complete JSON value (ids, numbers, booleans)
 *   {{inputValue x 3000}}    user text as a complete JSON string, for form inputs' initial values
 *   Slack, inside a JSON string:
 *   {{mrkdwn x 2900}}        mrkdwn text: `&`, `<`, `>` escaped so nothing typed can ping or link
 *   {{plain x 75}}           plain_text on one line, escaped the same way
 *   {{mention person}}       `<@U…>` for a trusted Slack id, otherwise the escaped name
 *   {{mentions people 10}}   several people, comma separated, "and N more" past the limit
 *   {{payload runId=… stepId=…}}  a complete JSON string holding a JSON object (button values)
 *   Teams, inside a JSON string:
 *   {{md x 2000}}            TextBlock markdown text; links typed by people are neutralised
 *   {{names people 10}}      several people's names, as {{mentions}}
 *   {{object runId=… stepId=…}}   a complete JSON object (Action.Execute data)
 *
 * The number is the maximum length; longer text is cut with a visible "…". The LOGIC helpers
 * (eq, not, and, or, present, len, take, more, chunk, pick, find, join, concat)
 * only feed #if/#each or the output helpers; on their own they never reach the output.
 */

/** Names of the helpers that may produce output, per platform. */
export const OUTPUT_HELPERS: Readonly<Record<CardPlatform, readonly string[]>> = {
  slack: ['json', 'inputValue', 'mrkdwn', 'plain', 'mention', 'mentions', 'payload'],
  teams: ['json', 'inputValue', 'md', 'names', 'object'],
};

/** Names of the helpers used only as sub-expressions or block parameters. */
export const LOGIC_HELPERS: readonly string[] = [
  'either',
  'eq',
  'not',
  'and',
  'or',
  'present',
  'len',
  'take',
  'more',
  'chunk',
  'pick',
  'find',
  'join',
  'concat',
];

type Helpers = Record<string, HelperDelegate>;

/** Person-shaped values as the helpers read them. */
interface PersonLike {
  name?: unknown;
  slackUserId?: unknown;
}

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,30}$/;

/** A helper's positional arguments, without the options object Handlebars passes last. */
function positional(args: unknown[]): unknown[] {
  return args.slice(0, -1);
}

function maxOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Joins people's display strings with ", ", listing at most `max` then "and N more". */
function joinPeople(people: unknown, max: number | undefined, show: (person: PersonLike) => string): string {
  const list = listOf(people) as PersonLike[];
  const limit = max ?? list.length;
  const shown = list.slice(0, limit).map(show);
  const hidden = list.length - shown.length;
  return hidden > 0 ? `${shown.join(', ')} and ${hidden} more` : shown.join(', ');
}

function slackText(value: unknown, max: number | undefined): string {
  return jsonStringContent(fitText(cleanText(value), max, escapeSlack));
}

function slackMention(person: PersonLike): string {
  const id = person.slackUserId;
  if (typeof id === 'string' && SLACK_USER_ID.test(id)) return `<@${id}>`;
  return fitText(singleLine(cleanText(person.name)), 100, escapeSlack);
}

function teamsName(person: PersonLike): string {
  return fitText(singleLine(cleanText(person.name)), 100, escapeTeamsMarkdown);
}

/** An optional object argument merged with the hash arguments, keys sorted (the hash wins). */
function merged(args: unknown[]): Record<string, unknown> {
  const options = args.at(-1) as HelperOptions;
  const base = positional(args)[0];
  const record = base && typeof base === 'object' && !Array.isArray(base) ? (base as Record<string, unknown>) : {};
  const all = { ...record, ...(options.hash as Record<string, unknown>) };
  return Object.fromEntries(Object.keys(all).sort().map((key) => [key, all[key]]));
}

const logicHelpers: Helpers = {
  eq: (a: unknown, b: unknown) => a === b,
  not: (value: unknown) => !value,
  and: (...args: unknown[]) => positional(args).every(Boolean),
  or: (...args: unknown[]) => positional(args).some(Boolean),
  /** Whether a value is given: `0`, `false` and `''` are present, `null` and `undefined` are not. */
  present: (value: unknown) => value !== undefined && value !== null,
  len: (list: unknown) => listOf(list).length,
  /** The first `n` items of a list. */
  take: (list: unknown, n: unknown) => listOf(list).slice(0, Number(n)),
  /** How many items a list has beyond the first `n` (0 when none). */
  more: (list: unknown, n: unknown) => Math.max(0, listOf(list).length - Number(n)),
  /** A list in groups of `n`: `[[{ index, value }, …], …]`, `index` counting in the whole list. */
  chunk: (list: unknown, n: unknown) => {
    const size = Math.max(1, Number(n));
    const items = listOf(list).map((value, index) => ({ index, value }));
    const groups: (typeof items)[] = [];
    for (let start = 0; start < items.length; start += size) groups.push(items.slice(start, start + size));
    return groups;
  },
  /** The `{ index, value }` entries (from {@link chunk}) whose index is in `indexes`. */
  pick: (entries: unknown, indexes: unknown) => {
    const wanted = listOf(indexes);
    return listOf(entries).filter((entry) => wanted.includes((entry as { index?: unknown })?.index));
  },
  /** `a` when `condition` holds, else `b` (e.g. a shorter list when App Home also shows search results). */
  either: (condition: unknown, a: unknown, b: unknown) => (condition ? a : b),
  /** The first item of `list` whose `key` equals `value`. */
  find: (list: unknown, key: unknown, value: unknown) =>
    value === undefined ? undefined : listOf(list).find((item) => (item as Record<string, unknown>)?.[String(key)] === value),
  /** A list's items as text, joined with `separator`. */
  join: (list: unknown, separator: unknown) => listOf(list).map(String).join(String(separator)),
  /** Its arguments as one string. */
  concat: (...args: unknown[]) => positional(args).map(String).join(''),
};

const sharedOutputHelpers: Helpers = {
  json: (value: unknown) => JSON.stringify(value ?? null),
  inputValue: (...args: unknown[]) => {
    const values = positional(args);
    return JSON.stringify(fitText(cleanText(values[0]), maxOf(values[1])));
  },
};

const slackHelpers: Helpers = {
  mrkdwn: (...args: unknown[]) => {
    const values = positional(args);
    return slackText(values[0], maxOf(values[1]));
  },
  plain: (...args: unknown[]) => {
    const values = positional(args);
    return jsonStringContent(fitText(singleLine(cleanText(values[0])), maxOf(values[1]), escapeSlack));
  },
  mention: (person: unknown) => jsonStringContent(slackMention((person ?? {}) as PersonLike)),
  mentions: (...args: unknown[]) => {
    const values = positional(args);
    return jsonStringContent(joinPeople(values[0], maxOf(values[1]), slackMention));
  },
  /** `{{payload a=x b=y}}` or `{{payload object c=z}}`: a JSON string holding JSON (button values, private_metadata). */
  payload: (...args: unknown[]) => JSON.stringify(JSON.stringify(merged(args))),
};

const teamsHelpers: Helpers = {
  md: (...args: unknown[]) => {
    const values = positional(args);
    return jsonStringContent(fitText(cleanText(values[0]), maxOf(values[1]), escapeTeamsMarkdown));
  },
  names: (...args: unknown[]) => {
    const values = positional(args);
    return jsonStringContent(joinPeople(values[0], maxOf(values[1]), teamsName));
  },
  /** `{{object a=x b=y}}` or `{{object object c=z}}`: a JSON object (Action.Execute data). */
  object: (...args: unknown[]) => JSON.stringify(merged(args)),
};

/** The helpers a platform's templates may use. */
export function helpersFor(platform: CardPlatform): Helpers {
  return { ...logicHelpers, ...sharedOutputHelpers, ...(platform === 'slack' ? slackHelpers : teamsHelpers) };
}
