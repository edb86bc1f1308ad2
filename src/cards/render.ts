import { formatPath } from '../config/zod-messages.js';
import { CardRenderError, type CardPlatform } from './errors.js';
import { fitTeamsCard } from './fit.js';
import { localiseCard, type CardTime } from './localise.js';
import { createTemplateSet, DEFAULT_CARDS_DIR, type TemplateSet } from './templates.js';
import { cardDataSchemas, type CardKind, type CardModel } from './view-models.js';

/** A JSON value as cards are made of. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** Where a Slack card goes: a message (chat.postMessage/update), a modal (views.open) or App Home (views.publish). */
export type SlackSurface = 'message' | 'modal' | 'home';

/** The Slack surface of each kind: forms are modals, `home` is the App Home tab, the rest messages. */
export const SLACK_SURFACES = {
  help: 'message',
  catalog: 'message',
  'catalog-entry': 'message',
  'request-form': 'modal',
  'request-status': 'message',
  'approval-request': 'message',
  'deny-reason': 'modal',
  'evaluation-form': 'modal',
  'evaluation-verdict': 'message',
  'agent-profile': 'message',
  'agent-list': 'message',
  'find-form': 'modal',
  home: 'home',
  notice: 'message',
  'grant-notice': 'message',
  'access-review': 'message',
  'access-form': 'modal',
  checkin: 'message',
  alert: 'message',
  prompt: 'modal',
} as const satisfies Readonly<Record<CardKind, SlackSurface>>;

/** A Slack message: pass `blocks` and `text` (the notification fallback) to chat.postMessage or chat.update. */
export interface SlackMessageCard {
  platform: 'slack';
  surface: 'message';
  kind: CardKind;
  /** Block Kit blocks (at most 50). */
  blocks: JsonObject[];
  /** Plain fallback for notifications and screen readers; never empty. */
  text: string;
}

/** A Slack view: pass `view` to views.open/views.update (modal) or views.publish (home). */
export interface SlackViewCard {
  platform: 'slack';
  surface: 'modal' | 'home';
  kind: CardKind;
  /** The view object: `type` `modal` or `home`, `blocks` (at most 100) and, for modals, title, submit, close, callback_id, private_metadata. */
  view: JsonObject & { type: 'modal' | 'home'; blocks: JsonObject[] };
}

/** What {@link renderCard} returns for Slack. */
export type SlackRenderedCard = SlackMessageCard | SlackViewCard;

/** An Adaptive Card object (`type` `AdaptiveCard`, `version` `1.5`, `$schema`). */
export type AdaptiveCardJson = JsonObject & { type: 'AdaptiveCard'; version: string };

/** What {@link renderCard} returns for Teams: send `card` as an `application/vnd.microsoft.card.adaptive` attachment or return it from an Action.Execute handler. */
export interface TeamsRenderedCard {
  platform: 'teams';
  kind: CardKind;
  card: AdaptiveCardJson;
}

/** A rendered card for either platform. */
export type RenderedCard = SlackRenderedCard | TeamsRenderedCard;

/**
 * A card whose data is not yet known to match its kind: what the core's ports carry (`{ kind, data }`,
 * the core imports no view-models). {@link renderCoreCard} renders it, checking it once.
 */
export interface UncheckedCard {
  readonly kind: string;
  readonly data: unknown;
}

/** Renders view-models into platform JSON. */
export interface CardRenderer {
  render(platform: 'slack', model: CardModel, time?: CardTime): SlackRenderedCard;
  render(platform: 'teams', model: CardModel, time?: CardTime): TeamsRenderedCard;
  render(platform: CardPlatform, model: CardModel, time?: CardTime): RenderedCard;
  /** As {@link CardRenderer.render}, for a card the core built: the schema parse that render does anyway is its check. */
  renderUnchecked(platform: 'slack', card: UncheckedCard, time?: CardTime): SlackRenderedCard;
  renderUnchecked(platform: 'teams', card: UncheckedCard, time?: CardTime): TeamsRenderedCard;
  renderUnchecked(platform: CardPlatform, card: UncheckedCard, time?: CardTime): RenderedCard;
}

/** Options of {@link createCardRenderer}. */
export interface CardRendererOptions {
  /** Directory holding `slack/` and `teams/` templates; defaults to the shipped `cards/`. */
  cardsDir?: string;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCardKind(kind: string): kind is CardKind {
  return Object.hasOwn(cardDataSchemas, kind);
}

/** The card's kind and its data parsed with the kind's schema (defaults filled in): the one check before rendering. */
function validData(model: UncheckedCard, platform: CardPlatform): { kind: CardKind; data: unknown } {
  const { kind } = model;
  if (!isCardKind(kind)) throw new CardRenderError('card_model_invalid', String(kind), platform, 'unknown kind');
  const result = cardDataSchemas[kind].safeParse(model.data);
  if (result.success) return { kind, data: result.data };
  const problems = result.error.issues.map((issue) => `data.${formatPath(issue.path)}: ${issue.message}`);
  throw new CardRenderError('card_model_invalid', kind, platform, problems.join('; '));
}

function parseJson(text: string, kind: CardKind, platform: CardPlatform): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CardRenderError('card_json_invalid', kind, platform, `template output is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function toSlack(kind: CardKind, json: unknown): SlackRenderedCard {
  const surface = SLACK_SURFACES[kind];
  if (surface === 'message') {
    if (!isObject(json) || !Array.isArray(json.blocks) || typeof json.text !== 'string') {
      throw new CardRenderError('card_shape_invalid', kind, 'slack', 'a message template must render { "text": string, "blocks": [] }');
    }
    return { platform: 'slack', surface, kind, blocks: json.blocks as JsonObject[], text: json.text };
  }
  if (!isObject(json) || json.type !== surface || !Array.isArray(json.blocks)) {
    throw new CardRenderError(
      'card_shape_invalid',
      kind,
      'slack',
      `a ${surface} template must render a view with "type": "${surface}" and blocks`,
    );
  }
  return { platform: 'slack', surface, kind, view: json as SlackViewCard['view'] };
}

function toTeams(kind: CardKind, json: unknown): TeamsRenderedCard {
  if (!isObject(json) || json.type !== 'AdaptiveCard' || typeof json.version !== 'string') {
    throw new CardRenderError('card_shape_invalid', kind, 'teams', 'a Teams template must render an AdaptiveCard with a version');
  }
  return { platform: 'teams', kind, card: fitTeamsCard(json as AdaptiveCardJson) };
}

/**
 * Creates a renderer over a directory of templates. The model is validated against its kind's
 * schema, rendered by the platform's template (compiled once and cached) and parsed; any
 * failure is a {@link CardRenderError} naming the kind and platform.
 */
export function createCardRenderer(options: CardRendererOptions = {}): CardRenderer {
  const cardsDir = options.cardsDir ?? DEFAULT_CARDS_DIR;
  const sets: Partial<Record<CardPlatform, TemplateSet>> = {};
  const templatesFor = (platform: CardPlatform): TemplateSet => (sets[platform] ??= createTemplateSet(platform, cardsDir));

  function render(platform: 'slack', model: CardModel, time?: CardTime): SlackRenderedCard;
  function render(platform: 'teams', model: CardModel, time?: CardTime): TeamsRenderedCard;
  function render(platform: CardPlatform, model: CardModel, time?: CardTime): RenderedCard;
  function render(platform: CardPlatform, model: CardModel | UncheckedCard, time?: CardTime): RenderedCard {
    const { kind, data } = validData(model, platform);
    const parsed = parseJson(templatesFor(platform).render(kind, data), kind, platform);
    // A Slack modal is for one person whose zone is known: its times are written in that zone.
    const json = time ? localiseCard(platform, parsed, time, { dateTokens: SLACK_SURFACES[kind] !== 'modal' }) : parsed;
    return platform === 'slack' ? toSlack(kind, json) : toTeams(kind, json);
  }

  return { render, renderUnchecked: render };
}

let shipped: CardRenderer | undefined;

/**
 * Renders a card with the shipped templates.
 *
 * - Slack, `surface: 'message'`: `{ platform, surface, kind, blocks, text }` for chat.postMessage / chat.update.
 * - Slack, `surface: 'modal' | 'home'` (`request-form`, `evaluation-form`, `deny-reason`, `home`):
 *   `{ platform, surface, kind, view }` for views.open / views.publish.
 * - Teams: `{ platform, kind, card }`, an Adaptive Card 1.5 object.
 *
 * With `time`, every instant is shown to that reader (see localise.ts); without it, in UTC.
 *
 * @throws CardRenderError when the model is invalid or a template is broken (a bug, never user input).
 */
export function renderCard(platform: 'slack', model: CardModel, time?: CardTime): SlackRenderedCard;
export function renderCard(platform: 'teams', model: CardModel, time?: CardTime): TeamsRenderedCard;
export function renderCard(platform: CardPlatform, model: CardModel, time?: CardTime): RenderedCard;
export function renderCard(platform: CardPlatform, model: CardModel, time?: CardTime): RenderedCard {
  shipped ??= createCardRenderer();
  return shipped.render(platform, model, time);
}

/**
 * Renders a card the core built (`{ kind, data }`, untyped) with the shipped templates. The kind
 * and data are checked once, by the parse {@link renderCard} does anyway, with the same
 * `card_model_invalid` error: no separate check before it (checkedCard) is needed at the edge.
 */
export function renderCoreCard(platform: 'slack', card: UncheckedCard, time?: CardTime): SlackRenderedCard;
export function renderCoreCard(platform: 'teams', card: UncheckedCard, time?: CardTime): TeamsRenderedCard;
export function renderCoreCard(platform: CardPlatform, card: UncheckedCard, time?: CardTime): RenderedCard;
export function renderCoreCard(platform: CardPlatform, card: UncheckedCard, time?: CardTime): RenderedCard {
  shipped ??= createCardRenderer();
  return shipped.renderUnchecked(platform, card, time);
}
