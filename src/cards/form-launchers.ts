import { CardRenderError } from './errors.js';
import { SLACK_SURFACES, type UncheckedCard } from './render.js';
import { cardDataSchemas, cardModel, type CardKind, type CardModel, type DataOf } from './view-models.js';

/*
 * A form is a modal in Slack, opened with a trigger id that only a click gives, so it cannot be
 * posted to a person as a message. A form the core sends as a notification is sent to Slack as
 * a message whose button opens it; Teams shows the form itself, an Adaptive Card with inputs.
 */

/** The kinds Slack shows as a modal. */
export type SlackModalKind = { [K in CardKind]: (typeof SLACK_SURFACES)[K] extends 'modal' ? K : never }[CardKind];

/**
 * For each Slack modal kind, the message that opens it, or `undefined` when the kind is only ever
 * opened by a click and never sent (a form sent without a launcher is refused by the notifier).
 * The button's action id is one the Slack adapter handles by opening the same form.
 */
export const SLACK_FORM_LAUNCHERS: { readonly [K in SlackModalKind]: ((data: DataOf<K>) => CardModel) | undefined } = {
  // Sent to the sponsors when a request reaches the evaluation gate (CardPresenter.gateWaiting).
  'evaluation-form': (data) =>
    cardModel('notice', {
      level: 'info',
      title: `Evaluation results needed: ${data.agentName}`,
      text:
        `${data.agentName} (${data.roleTitle}) waits for its evaluation results before the approvals start. ` +
        'Enter them in the form: accuracy, p95 latency, cost per task and the role-fit checklist.',
      actions: [
        {
          action: 'evaluation_open',
          label: 'Enter evaluation results',
          style: 'primary',
          value: { runId: data.runId, agentId: data.agentId },
        },
      ],
    }),
  // Opened by Request on a catalog card.
  'request-form': undefined,
  // Opened by Deny on an approval card.
  'deny-reason': undefined,
  // Opened by `access` with arguments missing.
  'access-form': undefined,
  // Opened by the buttons that need values first.
  prompt: undefined,
  // Opened by Find agents… on App Home.
  'find-form': undefined,
};

function isModalKind(kind: CardKind): kind is SlackModalKind {
  return SLACK_SURFACES[kind] === 'modal';
}

/**
 * What Slack posts for a card sent as a notification: the card itself when Slack shows it as a
 * message, else the message that opens it; `undefined` when neither exists. A card of no known
 * kind is returned as it is, for the renderer to refuse (`card_model_invalid`, unknown kind): the
 * data of a message card is parsed once, when it is rendered, not here too.
 */
export function slackNotificationCard<C extends UncheckedCard>(card: C): C | CardModel | undefined {
  if (!Object.hasOwn(SLACK_SURFACES, card.kind)) return card;
  const kind = card.kind as CardKind;
  if (SLACK_SURFACES[kind] === 'message') return card;
  if (!isModalKind(kind)) return undefined;
  const launcher = SLACK_FORM_LAUNCHERS[kind] as ((data: unknown) => CardModel) | undefined;
  if (!launcher) return undefined;
  const data = cardDataSchemas[kind].safeParse(card.data);
  if (!data.success) throw new CardRenderError('card_model_invalid', kind, 'slack', data.error.message);
  return launcher(data.data);
}
