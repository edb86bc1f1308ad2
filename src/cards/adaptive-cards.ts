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

/**
 * Elements Teams renders beyond the core schema, which the library does not know. Teams
 * supports `Chart.Line` (and the other `Chart.*` elements) in Adaptive Cards 1.5 sent by bots:
 * https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/charts-in-adaptive-cards
 * (its fields, `title`, `colorSet`, `data: [{ legend, values: [{ x, y }] }]`, follow the Teams
 * SDK's `ILineChart`). Their shape is checked by `checkTeamsCard`; here they only need to parse.
 */
export const TEAMS_EXTENSION_ELEMENTS = ['Chart.Line'] as const;

let registry: AdaptiveCards.CardObjectRegistry<AdaptiveCards.CardElement> | undefined;

function teamsElementRegistry(AC: typeof AdaptiveCards): AdaptiveCards.CardObjectRegistry<AdaptiveCards.CardElement> {
  if (registry) return registry;
  const elements = new AC.CardObjectRegistry<AdaptiveCards.CardElement>();
  AC.GlobalRegistry.populateWithDefaultElements(elements);
  for (const type of TEAMS_EXTENSION_ELEMENTS) {
    // Parsed for validation only: rendering happens in Teams, never here.
    class TeamsExtension extends AC.CardElement {
      getJsonTypeName(): string {
        return type;
      }
      protected internalRender(): undefined {
        return undefined;
      }
    }
    elements.register(type, TeamsExtension, AC.Versions.v1_5);
  }
  registry = elements;
  return elements;
}

/** Parses `json` with the library (targeting Adaptive Cards 1.5) and returns every parse and validation event. */
export function adaptiveCardsEvents(json: object): AdaptiveCardsEvent[] {
  const AC = adaptiveCardsLibrary();
  const card = new AC.AdaptiveCard();
  const context = new AC.SerializationContext(AC.Versions.v1_5);
  context.setElementRegistry(teamsElementRegistry(AC));
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
