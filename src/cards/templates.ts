import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { CardRenderError, type CardPlatform } from './errors.js';
import { helpersFor } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The shipped templates: `cards/` at the project root (from `src/cards` or `dist/cards`). */
export const DEFAULT_CARDS_DIR = path.resolve(here, '../../cards');

/** Path of a kind's template: `<cardsDir>/<platform>/<kind>.hbs`. */
export function templatePath(cardsDir: string, platform: CardPlatform, kind: string): string {
  return path.join(cardsDir, platform, `${kind}.hbs`);
}

/** Renders one platform's templates to JSON text; each template is compiled once, on first use. */
export interface TemplateSet {
  readonly platform: CardPlatform;
  /** The JSON text of the kind's template for `data`. */
  render(kind: string, data: unknown): string;
}

/** The partial directories a platform's templates see: shared ones first, then the platform's own. */
export function partialDirs(cardsDir: string, platform: CardPlatform): string[] {
  return [path.join(cardsDir, 'partials'), path.join(cardsDir, platform, 'partials')];
}

/**
 * Loads one platform's templates from `<cardsDir>/<platform>/`. Its own Handlebars instance
 * holds that platform's helpers only, and as partials (by file name) the shared
 * `partials/*.hbs`, which output literal text only, and the platform's `<platform>/partials/*.hbs`.
 * So a Teams template cannot call a Slack helper by mistake.
 */
export function createTemplateSet(platform: CardPlatform, cardsDir: string = DEFAULT_CARDS_DIR): TemplateSet {
  const handlebars = Handlebars.create();
  handlebars.registerHelper(helpersFor(platform));
  for (const dir of partialDirs(cardsDir, platform).filter((candidate) => existsSync(candidate))) {
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.hbs'))) {
      handlebars.registerPartial(path.basename(file, '.hbs'), readFileSync(path.join(dir, file), 'utf8'));
    }
  }
  const compiled = new Map<string, Handlebars.TemplateDelegate>();

  function compile(kind: string): Handlebars.TemplateDelegate {
    const cached = compiled.get(kind);
    if (cached) return cached;
    const file = templatePath(cardsDir, platform, kind);
    if (!existsSync(file)) throw new CardRenderError('card_template_missing', kind, platform, `no template at ${file}`);
    const template = handlebars.compile(readFileSync(file, 'utf8'), { noEscape: true });
    compiled.set(kind, template);
    return template;
  }

  return {
    platform,
    render(kind, data) {
      const template = compile(kind);
      try {
        return template(data);
      } catch (error) {
        throw new CardRenderError('card_template_failed', kind, platform, (error as Error).message, { cause: error });
      }
    },
  };
}
