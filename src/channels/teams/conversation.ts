import { ActivityTypes } from '@microsoft/agents-activity';
import type { AgentApplication, TurnContext, TurnState } from '@microsoft/agents-hosting';
import type { Connection } from 'mongoose';
import type { CardModel } from '../../cards/view-models.js';
import type { Logger } from '../../logger.js';
import type { ConversationStore } from '../../store/conversation-store.js';
import { answerWithin, DatabaseUnavailableError } from '../../store/database.js';
import { answersPrivately, parseChatCommand, type ChatService } from '../chat.js';
import type { Person } from '../../config/schemas.js';
import type { CommandBus } from '../../commands/index.js';
import type { AlertCheckInChat } from '../chat-alerts-checkins.js';
import { ADAPTIVE_CARD_TYPE, adaptiveCard, cardMessage, readerTimeOf, rememberReaderTime } from './cards.js';
import { isPersonal, type TeamsIdentity } from './identity.js';
import type { TeamsCardParts } from './refresh.js';

export interface TeamsRouteDeps {
  /** Where every card action's command goes (the same bus as Slack's). */
  bus: CommandBus;
  chat: ChatService;
  /** Alert and check-in buttons. */
  supervision: AlertCheckInChat;
  identity: TeamsIdentity;
  store: ConversationStore;
  log: Logger;
  /** Roster's database connection: when it is known to be down, activities are answered at once. */
  connection?: Connection;
  /** Fills the Teams-only parts of a card (an approval card's refresh user ids). */
  cardParts?: TeamsCardParts;
  /**
   * Sends a card to the person's 1:1 chat with Roster (creating it when Roster only knows them
   * from a team or group chat); resolves undefined when it could not. Without it, answers asked
   * for in a channel stay there.
   */
  privately?: (person: Person, card: CardModel) => Promise<unknown>;
}

/** Replies in the conversation the activity came from. */
export async function replyWithCard(context: TurnContext, card: CardModel): Promise<void> {
  await context.sendActivity(cardMessage(card, readerTimeOf(context)));
}

/** Answers an invoke (a card button) with a card, shown in place of the one clicked. */
export async function replyToInvoke(context: TurnContext, card: CardModel): Promise<void> {
  await context.sendActivity({
    type: ActivityTypes.InvokeResponse,
    value: { status: 200, body: { statusCode: 200, type: ADAPTIVE_CARD_TYPE, value: adaptiveCard(card, readerTimeOf(context)) } },
  } as Parameters<typeof context.sendActivity>[0]);
}

/** How long an activity waits for its conversation reference to be stored. */
const STORE_ANSWER_MS = 2000;

/**
 * Plain messages, installation and membership: the same words as Slack's `/roster` (unknown text
 * gets help), a welcome card when Roster is added to a personal chat, and a conversation
 * reference remembered for every user Roster hears from, so it can message them proactively.
 */
export function registerConversation(app: AgentApplication<TurnState>, deps: TeamsRouteDeps): void {
  const { chat, identity, store, log } = deps;

  app.onTurn('beforeTurn', async (context) => {
    const activity = context.activity;
    if (activity.type === ActivityTypes.InstallationUpdate && /^remove/i.test(String(activity.action ?? ''))) {
      if (isPersonal(activity) && activity.from?.aadObjectId) await store.remove(activity.from.aadObjectId);
      return true;
    }
    if (
      ![ActivityTypes.Message, ActivityTypes.Invoke, ActivityTypes.ConversationUpdate, ActivityTypes.InstallationUpdate].includes(
        activity.type as ActivityTypes,
      )
    ) {
      return true;
    }
    // A picker's search as the person types: read-only and frequent, so it has its own rate limit
    // (too fast: no choices, 429) and stores nothing (the person's conversation is known already).
    if (activity.type === ActivityTypes.Invoke && activity.name === 'application/search') {
      if (!chat.searchTooFast(`teams:${String(activity.from?.aadObjectId ?? activity.from?.id ?? 'unknown').slice(0, 200)}`)) return true;
      await context.sendActivity({
        type: ActivityTypes.InvokeResponse,
        value: { status: 429, body: { error: 'rate_limited', message: 'Too many searches: slow down a little.' } },
      } as Parameters<typeof context.sendActivity>[0]);
      return false;
    }
    if (activity.type === ActivityTypes.Message || activity.type === ActivityTypes.Invoke) {
      // Per-person rate limit, checked before any look-up: a friendly "slow down" instead of acting.
      const slowDown = chat.slowDown(`teams:${String(activity.from?.aadObjectId ?? activity.from?.id ?? 'unknown').slice(0, 200)}`);
      if (slowDown) {
        if (activity.type === ActivityTypes.Invoke) await replyToInvoke(context, slowDown);
        else await replyWithCard(context, slowDown);
        return false;
      }
    }
    // A failed look-up still lets the sighting be saved (without an e-mail); the handler, asking
    // again, hears the failure and answers with the error card.
    const person = await identity.person(context).catch(() => undefined);
    rememberReaderTime(context, identity.readerTime(activity, person));
    try {
      // Bounded: with the database down or hanging, the person hears so at once instead of after
      // the driver's time-outs (tens of seconds), past what Teams waits for an answer.
      await answerWithin(deps.connection, STORE_ANSWER_MS, async () => {
        for (const sighting of identity.sightings(activity, person)) await store.save(sighting);
      });
    } catch (err) {
      if (!(err instanceof DatabaseUnavailableError)) throw err;
      log.error({ err, type: activity.type }, 'the database does not answer: a Teams activity was not handled');
      const card = chat.notice('warning', DatabaseUnavailableError.userTitle, DatabaseUnavailableError.userMessage);
      if (activity.type === ActivityTypes.Invoke) await replyToInvoke(context, card);
      else if (activity.type === ActivityTypes.Message) await replyWithCard(context, card);
      return false;
    }
    return true;
  });

  app.onActivity(ActivityTypes.Message, async (context) => {
    const person = await identity.person(context);
    if (!person) {
      await replyWithCard(context, chat.unknownPersonCard());
      return;
    }
    const parsed = parseChatCommand(context.activity.text ?? '');
    // In a channel or group chat, everyone reads the answer: what shows agents or the person's
    // own work goes to their 1:1 chat with Roster, with a pointer where they asked.
    const inPrivate = !isPersonal(context.activity) && answersPrivately(parsed) && deps.privately;
    let card: CardModel;
    try {
      card = (await chat.run(person, parsed)).card;
    } catch (err) {
      card = chat.errorCard(err, { teamsUser: context.activity.from?.aadObjectId });
    }
    if (!inPrivate) return void (await replyWithCard(context, card));
    const sent = await inPrivate(person, card).catch((err: unknown) => {
      log.warn({ err }, 'could not answer a Teams channel question in the 1:1 chat');
      return undefined;
    });
    await replyWithCard(
      context,
      sent
        ? chat.notice(
            'info',
            'Answered in your chat with Roster',
            `${person.name.split(' ')[0]}, I sent the answer to our 1:1 chat, so only you see it.`,
          )
        : chat.notice(
            'warning',
            "I couldn't message you privately",
            'Answers about agents and your own work go to your 1:1 chat with Roster, and I could not reach it. Open a chat with Roster (Apps → Roster → Open) and send the same words there.',
          ),
    );
  });

  app.onConversationUpdate('membersAdded', async (context) => {
    const activity = context.activity;
    const botAdded = (activity.membersAdded ?? []).some((m) => m.id === activity.recipient?.id);
    if (!botAdded || !isPersonal(activity)) return;
    const person = await identity.person(context);
    await replyWithCard(
      context,
      person ? chat.help(person, `Hi ${person.name.split(' ')[0]}, I'm Roster. Here is what I can do:`) : chat.unknownPersonCard(),
    );
  });

  app.onActivity(ActivityTypes.InstallationUpdate, async (context) => {
    log.info(
      { action: context.activity.action, conversationType: context.activity.conversation?.conversationType },
      'Teams installation update',
    );
  });
}
