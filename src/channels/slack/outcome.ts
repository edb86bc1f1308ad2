import type { Person } from '../../config/schemas.js';
import { cardIdSchema } from '../../cards/view-models.js';
import type { ActionResult } from '../action-table.js';
import type { ChatService } from '../chat.js';
import { clickedOnHome, FROM_HOME_KEY } from './home.js';
import type { SlackReplies, SlackReplyTo } from './replies.js';

/*
 * How Slack shows an action's result (see ActionResult): a form opens as a modal (only a click's
 * trigger id can open one), the clicked message is replaced through the click's response_url,
 * answers and follow-ups are private, a request started is a direct message, and a click on App
 * Home publishes Home again. A decision's card and a sent form's receipt are not shown here: the
 * flow engine updates every approver's message, and the flow posts the request's status card.
 */

/** The message a button was clicked on (a DM the bot posted), so a later modal submit can update it. */
function originOf(body: unknown): { channel?: string; ts?: string } {
  const b = body as { container?: { channel_id?: unknown; message_ts?: unknown }; channel?: { id?: unknown }; message?: { ts?: unknown } };
  const channel = b.container?.channel_id ?? b.channel?.id;
  const ts = b.container?.message_ts ?? b.message?.ts;
  const ok = (v: unknown): v is string => cardIdSchema.safeParse(v).success;
  return { ...(ok(channel) ? { channel } : {}), ...(ok(ts) ? { ts } : {}) };
}

/** The click's trigger id, with which a modal may be opened for the next three seconds. */
function triggerOf(body: unknown): string | undefined {
  const trigger = (body as { trigger_id?: unknown }).trigger_id;
  return typeof trigger === 'string' && trigger ? trigger : undefined;
}

/** Shows the result of a click (`body` is Slack's block_actions payload). */
export async function showClickResult(
  replies: SlackReplies,
  to: SlackReplyTo & { body: unknown; person: Person },
  result: ActionResult,
): Promise<void> {
  const onHome = clickedOnHome(to.body);
  const modal = result.prompt ?? result.form;
  const trigger = triggerOf(to.body);
  if (modal && trigger) {
    // A prompt remembers the clicked message, so its submit updates it in place; a form opened on
    // App Home remembers that, so its submit publishes Home again.
    const remember = { ...(result.prompt ? originOf(to.body) : {}), ...(onHome ? { [FROM_HOME_KEY]: '1' } : {}) };
    await replies.openModal(to, trigger, modal, remember);
  }
  if (result.answer) await replies.privately(to, result.answer);
  if (result.found && !onHome) await replies.replace(to, result.found);
  if (result.card) await replies.replace(to, result.card);
  if (result.followUp) await replies.privately(to, result.followUp);
  if (result.message) await replies.privately({ client: to.client, userId: to.userId }, result.message);
  // Home shows only as last published: a click there changes what it lists.
  if (onHome && !modal) await replies.home(to, to.person, result.found);
}

/** Where a submitted modal came from, as it remembered in its private_metadata. */
export interface SlackFormOrigin {
  channel?: string;
  ts?: string;
  fromHome?: boolean;
}

/**
 * Shows the result of a modal submitted and acknowledged (the modal is closed: field errors and a
 * next view went in the acknowledgement when there were any, unless the work outlasted it, so a
 * next view that comes here is one the acknowledgement could not carry).
 */
export async function showSubmitResult(
  replies: SlackReplies,
  chat: ChatService,
  to: SlackReplyTo & { person: Person; origin: SlackFormOrigin; refused?: string },
  result: ActionResult,
): Promise<void> {
  const problems = Object.values(result.errors ?? {}).filter((e): e is string => Boolean(e));
  if (problems.length > 0) {
    // Refused after the acknowledgement closed the form: the person reads why in a message.
    return replies.privately(to, chat.notice('warning', to.refused ?? 'That was not done', problems.join(' ')));
  }
  // A next form the acknowledgement could not carry (the work outlasted it, e.g. the shadow
  // alert's "Register agent" prompt leading to the request form): a modal opens only from a
  // click, so the person is pointed back to the button.
  if (result.prompt ?? result.form) {
    await replies.privately(
      to,
      chat.notice('info', 'One more step', 'Roster took too long to show the next form. Click the button again to go on from there.'),
    );
  }
  const { channel, ts } = to.origin;
  if (result.card) await (channel && ts ? replies.update(to, { channel, ts }, result.card) : replies.privately(to, result.card));
  if (result.answer) await replies.privately(to, result.answer);
  if (result.followUp) await replies.privately(to, result.followUp);
  if (result.message) await replies.privately(to, result.message);
  if (result.found || to.origin.fromHome) await replies.home(to, to.person, result.found);
}
