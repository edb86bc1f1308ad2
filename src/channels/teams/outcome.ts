import type { TurnContext } from '@microsoft/agents-hosting';
import type { Person } from '../../config/schemas.js';
import type { CardTime } from '../../cards/localise.js';
import type { CardModel } from '../../cards/view-models.js';
import type { Logger } from '../../logger.js';
import type { ActionResult } from '../action-table.js';
import type { ChatService } from '../chat.js';
import { cardMessage, readerTimeOf } from './cards.js';
import { isPersonal } from './identity.js';

/*
 * How Teams shows an action's result (see ActionResult). The invoke response is the one card the
 * clicker sees in place of the clicked one (REPLACE_FOR_INTERACTOR, the SDK default): a prompt or
 * form, else the card, decision, page, answer or receipt. Follow-ups and new messages are
 * activities of their own. A click on the home card gives way to the home card, fresh, as Slack
 * publishes App Home again; a prompt or form is still shown in its place.
 */

/** What a click is answered with: a card in place of the clicked one, or a text when nothing replaces it. */
export async function teamsAnswer(
  context: TurnContext,
  result: ActionResult,
  deps: { chat: ChatService; log: Logger; sharedTime: CardTime; complete: (card: CardModel) => Promise<CardModel> },
  clicked: { data: Record<string, unknown>; home?: Person },
): Promise<CardModel | string> {
  if (result.decided && !clicked.home) await updateSharedCopy(context, await deps.complete(result.decided), deps.sharedTime, deps.log);
  for (const message of [result.followUp, result.message]) {
    if (message) await context.sendActivity(cardMessage(message, readerTimeOf(context)));
  }
  const changed = result.card ?? result.decided;
  const shown =
    result.prompt ??
    result.form ??
    (clicked.home && changed ? await deps.chat.home(clicked.home) : (changed ?? result.found ?? result.answer ?? result.receipt));
  if (shown) return shown;
  // Nothing replaces the clicked card (a decision log stays as it is): the answer is the message above.
  const said = result.followUp ?? result.message;
  return said && 'title' in said.data ? String(said.data.title) : 'Done.';
}

/**
 * An approval card clicked in a group chat or channel is seen by others too: the clicker gets
 * their own view as the invoke response, and the message itself becomes the shared, read-only
 * view (its refresh still gives each approver their own). In a 1:1 chat there is nobody else,
 * and the flow engine updates every card it sent; a click on the home card leaves that message
 * the home card.
 */
async function updateSharedCopy(context: TurnContext, card: CardModel, time: CardTime, log: Logger): Promise<void> {
  const messageId = context.activity.replyToId;
  if (!messageId || isPersonal(context.activity) || card.kind !== 'approval-request') return;
  const { cannotDecideReason: _personal, headline: _asked, ...data } = card.data;
  try {
    // Seen by many, so its times are in the organisation's zone, named.
    const shared = cardMessage({ kind: card.kind, data: { ...data, canDecide: false } }, time);
    shared.id = messageId;
    await context.updateActivity(shared);
  } catch (err) {
    log.warn({ err }, 'could not update the shared copy of an approval card');
  }
}
