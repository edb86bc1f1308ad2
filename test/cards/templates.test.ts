import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { CARD_KINDS, type CardPlatform } from '../../src/cards/index.js';
import { LOGIC_HELPERS, OUTPUT_HELPERS } from '../../src/cards/helpers.js';
import { DEFAULT_CARDS_DIR, partialDirs, templatePath } from '../../src/cards/templates.js';

/*
 * Templates are compiled without HTML escaping, so safety rests on one rule: every value
 * reaches the output through an output helper of the template's platform. These tests read the
 * templates' syntax trees and fail on a bare {{value}}, a helper of the other platform, or an
 * output helper nested where its escaping would be undone.
 */

const BLOCK_HELPERS = new Set(['if', 'unless', 'each', 'with']);
const platforms: CardPlatform[] = ['slack', 'teams'];

type Node = hbs.AST.Node & Record<string, unknown>;

function helperName(node: Node): string {
  const path = node.path as hbs.AST.PathExpression | undefined;
  return path?.original ?? '';
}

/** Every problem in a template's tree, as "line N: …". */
function unsafeInterpolations(source: string, outputHelpers: readonly string[]): string[] {
  const problems: string[] = [];
  const where = (node: Node) => `line ${node.loc?.start.line ?? '?'}`;
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (!value || typeof value !== 'object') return;
    const node = value as Node;
    if (node.type === 'MustacheStatement' && !outputHelpers.includes(helperName(node))) {
      problems.push(`${where(node)}: {{${helperName(node)} …}} is not an output helper of this platform`);
    }
    if (node.type === 'BlockStatement' && !BLOCK_HELPERS.has(helperName(node)))
      problems.push(`${where(node)}: unknown block helper ${helperName(node)}`);
    if (node.type === 'SubExpression' && !LOGIC_HELPERS.includes(helperName(node))) {
      problems.push(`${where(node)}: (${helperName(node)} …) is not a logic helper`);
    }
    for (const [key, child] of Object.entries(node)) if (key !== 'loc') visit(child);
  };
  visit(Handlebars.parse(source));
  return problems;
}

function partialFiles(platform: CardPlatform): string[] {
  return partialDirs(DEFAULT_CARDS_DIR, platform)
    .filter((dir) => existsSync(dir))
    .flatMap((dir) => readdirSync(dir).map((file) => path.join(dir, file)));
}

describe('card templates', () => {
  it.each(platforms)('every kind has a %s template and every template is a kind', (platform) => {
    for (const kind of CARD_KINDS) expect(existsSync(templatePath(DEFAULT_CARDS_DIR, platform, kind))).toBe(true);
    const files = readdirSync(path.join(DEFAULT_CARDS_DIR, platform)).filter((file) => file.endsWith('.hbs'));
    expect(files.map((file) => file.replace(/\.hbs$/, '')).sort()).toEqual([...CARD_KINDS].sort());
  });

  describe.each(platforms)('%s', (platform) => {
    const files = [...CARD_KINDS.map((kind) => templatePath(DEFAULT_CARDS_DIR, platform, kind)), ...partialFiles(platform)];
    const shared = path.join(DEFAULT_CARDS_DIR, 'partials');

    it.each(files.map((file) => [path.relative(DEFAULT_CARDS_DIR, file), file]))(
      '%s outputs values only through safe helpers',
      (_name, file) => {
        const helpers = file.startsWith(shared) ? [] : OUTPUT_HELPERS[platform];
        expect(unsafeInterpolations(readFileSync(file, 'utf8'), helpers)).toEqual([]);
      },
    );
  });

  it('the lint catches a bare value, a foreign helper and a nested output helper', () => {
    expect(unsafeInterpolations('"{{title}}"', OUTPUT_HELPERS.slack)).toEqual([
      'line 1: {{title …}} is not an output helper of this platform',
    ]);
    expect(unsafeInterpolations('"{{md title}}"', OUTPUT_HELPERS.slack)).toHaveLength(1);
    expect(unsafeInterpolations('"{{mrkdwn (plain title)}}"', OUTPUT_HELPERS.slack)).toEqual(['line 1: (plain …) is not a logic helper']);
    expect(unsafeInterpolations('{{#if (len x)}}"{{mrkdwn x 10}}"{{/if}}', OUTPUT_HELPERS.slack)).toEqual([]);
  });
});
