import { createRequire } from 'node:module';
import type * as AdaptiveCards from 'adaptivecards';

/*
 * The official Adaptive Cards library, loaded for offline validation. Its ESM build uses
 * extensionless imports that Node cannot resolve, so the UMD bundle is required instead
 * (PLATFORM-NOTES §9); parsing needs no DOM.
 */

const require = createRequire(import.meta.url);

let library: typeof AdaptiveCards | undefined;

/** The `adaptivecards` module, loaded on first use. */
export function adaptiveCardsLibrary(): typeof AdaptiveCards {
  library ??= require('adaptivecards/dist/adaptivecards.js') as typeof AdaptiveCards;
  return library;
}

/** One problem the library reported while parsing or validating a card. */
export interface AdaptiveCardsEvent {
  /** `parse` or `validation`. */
  phase: 'parse' | 'validation';
  /** The library's event name, e.g. `UnknownElementType`, `DuplicateId`. */
  event: string;
  message: string;
}

/** Parses `json` with the library (targeting Adaptive Cards 1.5) and returns every parse and validation event. */
export function adaptiveCardsEvents(json: object): AdaptiveCardsEvent[] {
  const AC = adaptiveCardsLibrary();
  const card = new AC.AdaptiveCard();
  const context = new AC.SerializationContext(AC.Versions.v1_5);
  card.parse(json, context);
  const events: AdaptiveCardsEvent[] = [];
  for (let i = 0; i < context.eventCount; i++) {
    const event = context.getEventAt(i);
    events.push({ phase: 'parse', event: AC.ValidationEvent[event.event], message: event.message });
  }
  for (const event of card.validateProperties().validationEvents) {
    events.push({ phase: 'validation', event: AC.ValidationEvent[event.event], message: event.message });
  }
  return events;
}
