import { CardRenderError, type CardPlatform } from '../cards/errors.js';
import { formatPath } from '../config/zod-messages.js';
import { cardDataSchemas, cardModel, type CardData, type CardKind, type CardModel, type CardOf } from '../cards/view-models.js';

/*
 * One typed builder per card kind. Every card Roster shows is assembled through one of these:
 * its return type is the kind's view-model, so a field of the wrong kind or a misspelt kind is a
 * type error where the card is written, not a cast that hides it until renderCard refuses it.
 * A builder keeps the data as given (no defaults filled in, nothing stripped): renderCard parses
 * it with the kind's schema, and test/views/card-builders.test.ts proves each builder's output
 * parses and renders the fixtures unchanged.
 */

/** `help`: the commands Roster understands. */
export const helpCard = (data: CardData<'help'>): CardOf<'help'> => cardModel('help', data);
/** `catalog`: the catalog roles a person may request. */
export const catalogCard = (data: CardData<'catalog'>): CardOf<'catalog'> => cardModel('catalog', data);
/** `catalog-entry`: one catalog role in full. */
export const catalogEntryCard = (data: CardData<'catalog-entry'>): CardOf<'catalog-entry'> => cardModel('catalog-entry', data);
/** `request-form`: the agent request form. */
export const requestFormCard = (data: CardData<'request-form'>): CardOf<'request-form'> => cardModel('request-form', data);
/** `request-status`: a requester's status message, updated in place as the run moves. */
export const requestStatusCard = (data: CardData<'request-status'>): CardOf<'request-status'> => cardModel('request-status', data);
/** `approval-request`: one approver's view of an approval step. */
export const approvalRequestCard = (data: CardData<'approval-request'>): CardOf<'approval-request'> => cardModel('approval-request', data);
/** `deny-reason`: the form asking an approver why they deny. */
export const denyReasonCard = (data: CardData<'deny-reason'>): CardOf<'deny-reason'> => cardModel('deny-reason', data);
/** `evaluation-form`: evaluation results for an agent at the evaluation gate. */
export const evaluationFormCard = (data: CardData<'evaluation-form'>): CardOf<'evaluation-form'> => cardModel('evaluation-form', data);
/** `evaluation-verdict`: the result of the evaluation gate. */
export const evaluationVerdictCard = (data: CardData<'evaluation-verdict'>): CardOf<'evaluation-verdict'> =>
  cardModel('evaluation-verdict', data);
/** `agent-profile`: one agent in full. */
export const agentProfileCard = (data: CardData<'agent-profile'>): CardOf<'agent-profile'> => cardModel('agent-profile', data);
/** `agent-list`: agents as a list (a search page included). */
export const agentListCard = (data: CardData<'agent-list'>): CardOf<'agent-list'> => cardModel('agent-list', data);
/** `find-form`: the filters of `find` as a form. */
export const findFormCard = (data: CardData<'find-form'>): CardOf<'find-form'> => cardModel('find-form', data);
/** `home`: a person's dashboard. */
export const homeCard = (data: CardData<'home'>): CardOf<'home'> => cardModel('home', data);
/** `notice`: a short message to a person, with sections and buttons. */
export const noticeCard = (data: CardData<'notice'>): CardOf<'notice'> => cardModel('notice', data);
/** `grant-notice`: one access grant and what happened to it. */
export const grantNoticeCard = (data: CardData<'grant-notice'>): CardOf<'grant-notice'> => cardModel('grant-notice', data);
/** `access-review`: a sponsor's periodic attestation of their agents' grants. */
export const accessReviewCard = (data: CardData<'access-review'>): CardOf<'access-review'> => cardModel('access-review', data);
/** `access-form`: the access request form. */
export const accessFormCard = (data: CardData<'access-form'>): CardOf<'access-form'> => cardModel('access-form', data);
/** `checkin`: a periodic check-in's review. */
export const checkInCard = (data: CardData<'checkin'>): CardOf<'checkin'> => cardModel('checkin', data);
/** `alert`: an alert, for one viewer. */
export const alertCard = (data: CardData<'alert'>): CardOf<'alert'> => cardModel('alert', data);
/** `prompt`: a small form asking for the words a button needs (a reason, a duration, a sponsor). */
export const promptCard = (data: CardData<'prompt'>): CardOf<'prompt'> => cardModel('prompt', data);

/** A builder of one kind. */
export type CardBuilder<K extends CardKind> = (data: CardData<K>) => CardOf<K>;

/**
 * The builder of each kind, exactly one each: the mapped type refuses a kind left out, a kind
 * that does not exist, and a builder of another kind under a kind's name.
 */
export const CARD_BUILDERS: { readonly [K in CardKind]: CardBuilder<K> } = {
  help: helpCard,
  catalog: catalogCard,
  'catalog-entry': catalogEntryCard,
  'request-form': requestFormCard,
  'request-status': requestStatusCard,
  'approval-request': approvalRequestCard,
  'deny-reason': denyReasonCard,
  'evaluation-form': evaluationFormCard,
  'evaluation-verdict': evaluationVerdictCard,
  'agent-profile': agentProfileCard,
  'agent-list': agentListCard,
  'find-form': findFormCard,
  home: homeCard,
  notice: noticeCard,
  'grant-notice': grantNoticeCard,
  'access-review': accessReviewCard,
  'access-form': accessFormCard,
  checkin: checkInCard,
  alert: alertCard,
  prompt: promptCard,
};

function isCardKind(kind: string): kind is CardKind {
  return Object.hasOwn(cardDataSchemas, kind);
}

/** Whether a card the core handed over (kind and data, untyped) is a card of a known kind whose data parses with its schema. */
function isCardModel(card: { kind: string; data: unknown }): card is CardModel {
  return isCardKind(card.kind) && cardDataSchemas[card.kind].safeParse(card.data).success;
}

/**
 * A card the core produced (its ports carry cards untyped, `{ kind, data }`: the core imports no
 * view-models) checked at the edge: the same object, typed, once its data parses with its kind's
 * schema. Nothing is filled in or stripped, so what renders is byte for byte what was built.
 *
 * @param platform where it is about to be rendered; names the platform in the error, as renderCard does.
 * @throws CardRenderError `card_model_invalid` naming the problems (a bug in the code that built the card).
 */
export function checkedCard(card: { kind: string; data: unknown }, platform?: CardPlatform): CardModel {
  if (isCardModel(card)) return card;
  const problems = isCardKind(card.kind)
    ? (cardDataSchemas[card.kind].safeParse(card.data).error?.issues ?? [])
        .map((issue) => `data.${formatPath(issue.path)}: ${issue.message}`)
        .join('; ')
    : 'unknown kind';
  if (platform) throw new CardRenderError('card_model_invalid', card.kind, platform, problems);
  throw new Error(`card "${card.kind}" does not match its view-model: ${problems}`);
}
