import { CardFactory, MessageFactory, type AdaptiveCard } from '@microsoft/agents-hosting';
import type { Activity } from '@microsoft/agents-activity';
import { renderCard } from '../../cards/render.js';
import type { CardModel } from '../../cards/view-models.js';
import type { OutgoingCard } from '../../core/notifications.js';

/** The MIME type of an Adaptive Card attachment and of an Action.Execute card response. */
export const ADAPTIVE_CARD_TYPE = 'application/vnd.microsoft.card.adaptive';

/** Renders a card model with the Teams templates (Adaptive Card 1.5). */
export function adaptiveCard(model: CardModel | OutgoingCard): AdaptiveCard {
  return renderCard('teams', model as CardModel).card as AdaptiveCard;
}

/** A message activity carrying the card as its one attachment. */
export function cardMessage(model: CardModel | OutgoingCard): Activity {
  return MessageFactory.attachment(CardFactory.adaptiveCard(adaptiveCard(model)));
}
