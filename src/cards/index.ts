/*
 * Cards for Slack (Block Kit) and Teams (Adaptive Cards 1.5) from one platform-free view-model:
 * renderCard() turns a CardModel into platform JSON with the Handlebars templates in cards/**,
 * checkSlackCard()/checkTeamsCard() hold the result to the platforms' rules, and the ids
 * module names every action, verb and form field the adapters handle.
 */
export { checkRenderedCard, checkSlackCard, checkTeamsCard, SLACK_LIMITS, TEAMS_LIMITS, type CardViolation } from './checks.js';
export { CardRenderError, type CardErrorCode, type CardPlatform } from './errors.js';
export {
  CARD_ACTIONS,
  DENY_REASON_INPUT,
  EVALUATION_FORM_INPUTS,
  REQUEST_FORM_INPUTS,
  HOME_SURFACE,
  ACCESS_FORM_INPUTS,
  ROLE_FIT_BLOCK_PREFIX,
  type CardAction,
} from './ids.js';
export {
  createCardRenderer,
  renderCard,
  SLACK_SURFACES,
  type AdaptiveCardJson,
  type CardRenderer,
  type CardRendererOptions,
  type JsonObject,
  type JsonValue,
  type RenderedCard,
  type SlackMessageCard,
  type SlackRenderedCard,
  type SlackSurface,
  type SlackViewCard,
  type TeamsRenderedCard,
} from './render.js';
export * from './view-models.js';
