import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CardModel, JsonValue, RenderedCard } from '../../src/cards/index.js';

/*
 * Shared by the card tests: the fixtures, hostile text and ways to read what a person would
 * see in a rendered card.
 */

const here = path.dirname(fileURLToPath(import.meta.url));

/** `test/fixtures/cards`. */
export const FIXTURES_DIR = path.resolve(here, '../fixtures/cards');

/** One fixture file: `<kind>.<variant>.json` holding a {@link CardModel}. */
export interface Fixture {
  file: string;
  kind: string;
  variant: string;
  model: CardModel;
}

/** Every fixture, sorted by file name. */
export function loadFixtures(): Fixture[] {
  return readdirSync(FIXTURES_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const [kind = '', variant = ''] = file.replace(/\.json$/, '').split('.');
      return { file, kind, variant, model: JSON.parse(readFileSync(path.join(FIXTURES_DIR, file), 'utf8')) as CardModel };
    });
}

/** Text a person might type that has broken chat cards before, one per concern. */
export const HOSTILE_TEXTS: Readonly<Record<string, string>> = {
  quotes: '"quote" \\ back\\slash \\" \\n \\u0041',
  newlines: 'line one\nline two\r\nline three\rline four\n\n',
  handlebars: '{{handlebars}} {{{triple}}} {{#each x}}{{/each}} {{> partial}}',
  braces: '}} ]} "} }}}',
  emoji: 'emoji 🚀👩🏽‍💻 :tada: 🇧🇪',
  mentions: '<!channel> <@U123ABC> <!here> <!subteam^S123|@team> <#C123>',
  link: '<https://evil.example|click> <http://evil.example> [click](https://evil.example)',
  entities: '&amp; &lt;b&gt; & < > &#60;',
  long: 'A long text 🚀 & <!here> '.repeat(200).slice(0, 5000),
  control: 'ctrl\u0000\u0001\u0007\u001b[31mred\u007f\u0085\u2028\u2029\t!',
};

/** All the hostile concerns in one string, short enough to fit most fields. */
export const HOSTILE_MIX =
  'Hi "q" \\ {{x}} }} 🚀👩🏽‍💻 <!channel> <@U123ABC> <https://evil.example|click> [a](https://evil.example) &amp;\nend';

const ENUM_KEYS = new Set([
  'kind',
  'state',
  'riskTier',
  'status',
  'tone',
  'level',
  'decision',
  'verdict',
  'recommendation',
  'severity',
  'choice',
  'action',
  'style',
  'promptVerb',
  'name',
  'submitLabel',
  'source',
  // A picker's search dataset (`agents:note`, `people`): an id of what is searched, never shown.
  'search',
]);
/** Objects and lists whose strings are ids or enum values, never text: button payloads and button lists. */
const ID_HOLDERS = new Set(['payload', 'agentActions']);

/** Path of a value inside a model: keys and array indexes. */
export type LeafPath = (string | number)[];

/** Whether the string at `leafPath` is text a person sees, as opposed to an id or an enum value. */
export function isUserText(leafPath: LeafPath): boolean {
  const key = leafPath[leafPath.length - 1];
  const parent = leafPath[leafPath.length - 2];
  const grandparent = leafPath[leafPath.length - 3];
  if (key === undefined) return false;
  if (typeof parent === 'string' && ID_HOLDERS.has(parent)) return false;
  if (typeof key === 'number') return typeof parent === 'string' && !/Ids$/.test(parent);
  // A notice button's `value` holds its ids; a choice's `value` is an id.
  if (leafPath.some((k, i) => ['actions', 'options'].includes(String(k)) && typeof leafPath[i + 1] === 'number' && leafPath[i + 2] === 'value'))
    return false;
  if (ENUM_KEYS.has(key) || /Id$|Ids$/.test(key)) return false;
  if (key === 'value' && grandparent === 'businessUnits') return false;
  // A find result's filters as words, written by Roster from parsed filters: its paging buttons carry it.
  if (key === 'query' && parent === 'search') return false;
  if (key === 'businessUnit' && parent === 'values') return false;
  return true;
}

/** The paths of every user-text string in a value. */
export function userTextPaths(value: unknown, at: LeafPath = []): LeafPath[] {
  if (typeof value === 'string') return isUserText(at) ? [at] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => userTextPaths(item, [...at, i]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, child]) => userTextPaths(child, [...at, key]));
  return [];
}

/** A deep copy of `model` with the strings at `paths` (all user text by default) replaced by `text`. */
export function withText(model: CardModel, text: string, paths: LeafPath[] = userTextPaths(model.data, ['data'])): CardModel {
  const copy = structuredClone(model) as unknown as Record<string | number, unknown>;
  for (const leafPath of paths) {
    let parent = copy;
    for (const key of leafPath.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
    parent[leafPath[leafPath.length - 1] as string | number] = text;
  }
  return copy as unknown as CardModel;
}

/** The value at a path. */
export function valueAt(root: unknown, leafPath: LeafPath): unknown {
  return leafPath.reduce<unknown>((node, key) => (node as Record<string | number, unknown> | undefined)?.[key], root);
}

/** Every string in a JSON tree with the key it sits under and the `type` of the object holding it. */
export function stringsIn(value: JsonValue, key = '', ownerType = ''): { key: string; ownerType: string; text: string }[] {
  if (typeof value === 'string') return [{ key, ownerType, text: value }];
  if (Array.isArray(value)) return value.flatMap((item) => stringsIn(item, key, ownerType));
  if (value && typeof value === 'object') {
    const type = typeof value.type === 'string' ? value.type : ownerType;
    return Object.entries(value).flatMap(([childKey, child]) => stringsIn(child, childKey, type));
  }
  return [];
}

/** Slack text-object strings, the ones Slack parses for mentions and links. */
export function slackParsedStrings(card: RenderedCard): string[] {
  if (card.platform !== 'slack') return [];
  const root = card.surface === 'message' ? ({ text: card.text, blocks: card.blocks } as JsonValue) : (card.view as JsonValue);
  return stringsIn(root)
    .filter((entry) => entry.key === 'text')
    .map((entry) => entry.text);
}

/** Teams strings rendered as TextBlock markdown (everything but the raw values of inputs). */
export function teamsMarkdownStrings(card: RenderedCard): string[] {
  if (card.platform !== 'teams') return [];
  return stringsIn(card.card)
    .filter((entry) => !(entry.key === 'value' && entry.ownerType.startsWith('Input.')))
    .map((entry) => entry.text);
}

function decodeSlack(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * What a person reads in a card, as one string: Slack text objects with entities decoded, form
 * values as typed; Teams texts without the invisible characters that neutralise markdown links.
 */
export function visibleText(card: RenderedCard): string {
  if (card.platform === 'teams') {
    return stringsIn(card.card)
      // A Chart.Line's legend and x-axis labels are read on the chart itself.
      .filter((entry) => ['text', 'title', 'value', 'label', 'placeholder', 'errorMessage', 'legend', 'x'].includes(entry.key))
      .map((entry) => entry.text.replace(/\u200B/g, ''))
      .join('\n');
  }
  const root = card.surface === 'message' ? ({ text: card.text, blocks: card.blocks } as JsonValue) : (card.view as JsonValue);
  return stringsIn(root)
    .filter((entry) => entry.key === 'text' || entry.key === 'initial_value')
    .map((entry) => (entry.key === 'text' ? decodeSlack(entry.text) : entry.text))
    .join('\n');
}

/** Text as compared: control characters dropped, every run of whitespace one space. */
export function normalize(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- people cannot see control characters, so they do not count.
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g, '')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

/**
 * Whether `shown` contains `typed` intact: the whole text, or (when a limit cut it) its first
 * 20 characters and a visible "…".
 */
export function containsIntact(shown: string, typed: string): boolean {
  const haystack = normalize(shown);
  const needle = normalize(typed);
  if (haystack.includes(needle)) return true;
  const prefix = [...needle].slice(0, 20).join('').trim();
  return needle.length > 20 && haystack.includes(prefix) && haystack.includes('…');
}
