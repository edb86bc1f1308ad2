/** Where a card was being rendered for. */
export type CardPlatform = 'slack' | 'teams';

/**
 * Why a card could not be rendered. Each is a bug in Roster (a template or the code building the
 * view-model), never something the person did, so it maps to a generic "something went wrong"
 * at the edge and a log line naming the kind and platform.
 * - `card_model_invalid`: the view-model does not match its kind's schema.
 * - `card_template_missing`: no template file for the kind and platform.
 * - `card_template_failed`: the template threw while rendering (e.g. an unknown helper).
 * - `card_json_invalid`: the template rendered text that is not JSON.
 * - `card_shape_invalid`: the JSON is not a message, view or Adaptive Card.
 */
export type CardErrorCode =
  'card_model_invalid' | 'card_template_missing' | 'card_template_failed' | 'card_json_invalid' | 'card_shape_invalid';

/** A card failed to render; `kind` and `platform` say which template. */
export class CardRenderError extends Error {
  readonly code: CardErrorCode;
  readonly kind: string;
  readonly platform: CardPlatform;

  constructor(code: CardErrorCode, kind: string, platform: CardPlatform, detail: string, options?: { cause?: unknown }) {
    super(`${platform} card "${kind}": ${detail}`, options);
    this.name = 'CardRenderError';
    this.code = code;
    this.kind = kind;
    this.platform = platform;
  }
}
