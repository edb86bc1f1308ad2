import { RouteRank, type AdaptiveCard, type AgentApplication, type TurnContext, type TurnState } from '@microsoft/agents-hosting';
import { z } from 'zod';
import { HOME_SURFACE } from '../../cards/ids.js';
import type { CardModel } from '../../cards/view-models.js';
import { actionsOn, type ActionContext, type FormActionId } from '../action-table.js';
import { adaptiveCard, readerTimeOf } from './cards.js';
import type { TeamsRouteDeps } from './conversation.js';
import { actionSchema, TEAMS_FORM_READERS } from './forms.js';
import { teamsAnswer } from './outcome.js';

/**
 * `Action.Execute` (Universal Actions): every button and form of the action table is one verb,
 * its data parsed by the table's schema, and what the action returns is the invoke response,
 * which Teams shows to the person who clicked in place of the card they clicked. Everyone else's
 * copy of an approval changes through the notifier: the flow engine updates every approval card
 * and status card it sent. Unknown people, refusals and failures are answered with a card too:
 * an invoke never fails silently and never returns a 500.
 */
export function registerCardActions(app: AgentApplication<TurnState>, deps: TeamsRouteDeps): void {
  const { chat, identity, log } = deps;
  const complete = async (card: CardModel): Promise<CardModel> => (deps.cardParts ? deps.cardParts.complete(card) : card);
  const ctx: ActionContext = { bus: deps.bus, chat, supervision: deps.supervision, waitsForAnswer: true, formsInCards: true };
  const answer = { chat, log, sharedTime: identity.sharedTime(), complete };

  for (const [verb, entry] of [...actionsOn('teams', 'button'), ...actionsOn('teams', 'form')]) {
    app.adaptiveCards.actionExecute(verb, async (context, _state, action): Promise<AdaptiveCard | string> => {
      const person = await identity.person(context);
      const time = readerTimeOf(context);
      if (!person) return adaptiveCard(chat.unknownPersonCard(), time);
      const parsed = actionSchema.safeParse(action);
      const data = (parsed.success ? parsed.data.data : undefined) ?? {};
      try {
        const raw = entry.kind === 'form' ? TEAMS_FORM_READERS[verb as FormActionId](data) : data;
        const result = await entry.act(ctx, person, raw, verb);
        const shown = await teamsAnswer(context, result, answer, { data, ...(fromHome(data) ? { home: person } : {}) });
        return typeof shown === 'string' ? shown : adaptiveCard(await complete(shown), time);
      } catch (err) {
        return adaptiveCard(chat.errorCard(err, { verb, teamsUser: context.activity.from?.aadObjectId }), time);
      }
    });
  }

  // Typeahead: a choice set with a Data.Query asks for choices as the person types (the directory
  // for people pickers, the agents a form may pick, the access form's pairs). Answered from what
  // this person may pick; a malformed search is refused with 400, an unknown person gets nothing.
  app.addRoute(
    async (context) => context.activity.type === 'invoke' && context.activity.name === SEARCH_INVOKE,
    async (context) => {
      const parsed = searchInvokeSchema.safeParse(context.activity.value);
      if (!parsed.success) {
        await answerInvoke(context, 400, { error: 'bad_search', message: 'A search needs queryText and dataset.' });
        return;
      }
      const person = await identity.person(context);
      let results: Array<{ title: string; value: string }> = [];
      if (person) {
        try {
          const { queryText, dataset, queryOptions } = parsed.data;
          const found = await chat.search(person, dataset, queryText);
          results = found
            .slice(queryOptions.skip, queryOptions.skip + queryOptions.top)
            .map((c) => ({ title: c.detail ? `${c.label} — ${c.detail}` : c.label, value: c.value }));
        } catch (err) {
          log.warn({ err }, 'a Teams picker search failed');
        }
      }
      await answerInvoke(context, 200, { type: SEARCH_RESPONSE_TYPE, value: { results } });
    },
    true,
  );

  // Registered last, so it only answers verbs no handler above knows (an old card, a forged invoke).
  app.adaptiveCards.actionExecute(/.*/, async (context) => {
    const outdated = chat.notice(
      'warning',
      'That button no longer works',
      'This card is out of date. Send "help" to see what Roster can do.',
    );
    return adaptiveCard((await identity.person(context)) ? outdated : chat.unknownPersonCard(), readerTimeOf(context));
  });

  // Any other invoke (a name Roster does not serve, or an adaptiveCard/action that is not an
  // Action.Execute) is the client's mistake: 400 with a reason, where the SDK would answer 501.
  app.addRoute(
    async (context) => context.activity.type === 'invoke',
    async (context) => {
      log.info({ name: context.activity.name }, 'an invoke Roster does not handle was refused');
      await context.sendActivity({
        type: 'invokeResponse',
        value: { status: 400, body: { error: 'unsupported_invoke', message: 'Roster does not handle this kind of request.' } },
      } as Parameters<TurnContext['sendActivity']>[0]);
    },
    true,
    RouteRank.Last,
  );
}

/** The invoke a typeahead choice set sends (Teams' dynamic search, `Data.Query`). */
export const SEARCH_INVOKE = 'application/search';
/** The type of a search invoke's answer. */
const SEARCH_RESPONSE_TYPE = 'application/vnd.microsoft.search.searchResponse';

/** The value of an `application/search` invoke: what was typed, the dataset, the page Teams wants. */
const searchInvokeSchema = z
  .object({
    queryText: z.string().max(1000).default(''),
    dataset: z.string().min(1).max(100),
    queryOptions: z
      .object({ skip: z.number().int().min(0).max(1000).default(0), top: z.number().int().min(1).max(100).default(15) })
      .prefault({}),
  })
  .loose();

/** Answers an invoke with a status and a JSON body. */
async function answerInvoke(context: TurnContext, status: number, body: unknown): Promise<void> {
  await context.sendActivity({ type: 'invokeResponse', value: { status, body } } as Parameters<TurnContext['sendActivity']>[0]);
}

/** Whether a button was clicked on the home card (see {@link HOME_SURFACE}). */
function fromHome(data: Record<string, unknown>): boolean {
  return data.surface === HOME_SURFACE;
}
