import { CardFactory, MessageFactory, type AdaptiveCard, type TurnContext } from '@microsoft/agents-hosting';
import type { CardTime } from '../../cards/localise.js';
import type { Activity } from '@microsoft/agents-activity';
import { renderCoreCard } from '../../cards/render.js';
import type { CardModel } from '../../cards/view-models.js';
import type { OutgoingCard } from '../../core/notifications.js';

/** The MIME type of an Adaptive Card attachment and of an Action.Execute card response. */
export const ADAPTIVE_CARD_TYPE = 'application/vnd.microsoft.card.adaptive';

/** Renders a card model with the Teams templates (Adaptive Card 1.5), times in the reader's zone when given. */
export function adaptiveCard(model: CardModel | OutgoingCard, time?: CardTime): AdaptiveCard {
  return renderCoreCard('teams', model, time).card as AdaptiveCard;
}

/** A message activity carrying the card as its one attachment. */
export function cardMessage(model: CardModel | OutgoingCard, time?: CardTime): Activity {
  return MessageFactory.attachment(CardFactory.adaptiveCard(adaptiveCard(model, time)));
}

const READER_TIME = Symbol('roster.readerTime');

/** Remembers for the turn how its sender reads times (set once the sender is known). */
export function rememberReaderTime(context: TurnContext, time: CardTime): void {
  context.turnState.set(READER_TIME, time);
}

/** How the sender of the turn's activity reads times; undefined before it is known (then UTC). */
export function readerTimeOf(context: TurnContext): CardTime | undefined {
  return context.turnState.has(READER_TIME) ? context.turnState.get<CardTime>(READER_TIME) : undefined;
}
