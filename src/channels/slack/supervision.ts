import type { App as BoltApp, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { CardModel } from '../../cards/view-models.js';
import type { ChatService } from '../chat.js';
import { ALERT_VERBS, CHECKIN_VERBS, type AlertVerb, type CheckInVerb, type SupervisionChat } from '../chat-supervision.js';
import type { SlackIdentity } from './identity.js';
import { slackMessage } from './notifier.js';
import { renderCard } from '../../cards/render.js';
import { localiseFieldErrors } from '../../cards/localise.js';
import { CARD_ACTIONS } from '../../cards/ids.js';
import { cardIdSchema, type DataOf } from '../../cards/view-models.js';
import { InvalidInputError } from '../../core/errors.js';
import { AGENT_BUTTON_VERBS, buttonIds, type ActionOutcome, type AgentButtonVerb } from '../chat-actions.js';
import type { Person } from '../../config/schemas.js';
import { readPrompt, viewSubmissionSchema } from './forms.js';
import { clickedOnHome, FROM_HOME_KEY, publishHome } from './home.js';

/** A button's ids from its value, a JSON object. */
function idsFrom(value: unknown): Record<string, string> {
  try {
    return buttonIds(JSON.parse(String(value)));
  } catch {
    return {};
  }
}

/** The message a button was clicked on (a DM the bot posted), so a later modal submit can update it. */
function originOf(body: unknown): { channel?: string; ts?: string } {
  const b = body as { container?: { channel_id?: unknown; message_ts?: unknown }; channel?: { id?: unknown }; message?: { ts?: unknown } };
  const channel = b.container?.channel_id ?? b.channel?.id;
  const ts = b.container?.message_ts ?? b.message?.ts;
  const ok = (v: unknown): v is string => cardIdSchema.safeParse(v).success;
  return { ...(ok(channel) ? { channel } : {}), ...(ok(ts) ? { ts } : {}) };
}

/**
 * Alert and check-in buttons. The clicked message is replaced with the clicker's fresh card; a
 * refusal or failure is a private message and leaves the card as it was.
 */
export function registerSupervisionListeners(
  app: BoltApp,
  deps: { chat: ChatService; supervision: SupervisionChat; identity: SlackIdentity },
): void {
  const { chat, supervision, identity } = deps;
  const reply = async (client: WebClient, userId: string, respond: RespondFn | undefined, card: CardModel, replace: boolean) => {
    const message = slackMessage(card, await identity.readerTime(userId));
    if (respond) {
      await respond({ response_type: 'ephemeral', replace_original: replace, blocks: message.blocks as never, text: message.text });
    } else {
      await client.chat.postMessage({ channel: userId, blocks: message.blocks as never, text: message.text });
    }
  };
  /**
   * One listener per verb: acknowledge, identify, act, then replace the clicked card and/or post
   * a private follow-up. A prompt opens as a modal that remembers the clicked message (channel,
   * ts), so its submit can update that message in place.
   */
  const onClick = (
    verbs: readonly string[],
    act: (person: Person, verb: string, ids: Record<string, string>) => Promise<ActionOutcome>,
  ) => {
    for (const verb of verbs) {
      app.action(verb, async ({ body, action, client, respond }) => {
        const userId = body.user.id;
        const person = await identity.person(userId);
        try {
          if (!person) return void (await reply(client, userId, respond, chat.unknownPersonCard(), false));
          const outcome = await act(person, verb, idsFrom('value' in action ? action.value : undefined));
          const onHome = clickedOnHome(body);
          if (outcome.prompt && 'trigger_id' in body && body.trigger_id) {
            const data = outcome.prompt.data as DataOf<'prompt'>;
            const origin = { ...originOf(body), ...(onHome ? { [FROM_HOME_KEY]: '1' } : {}) };
            const model = { kind: 'prompt', data: { ...data, payload: { ...data.payload, ...origin } } } as CardModel;
            const rendered = renderCard('slack', model, await identity.readerTime(userId));
            if (rendered.surface !== 'message') await client.views.open({ trigger_id: body.trigger_id, view: rendered.view as never });
          }
          if (outcome.card) await reply(client, userId, respond, outcome.card, true);
          if (outcome.followUp) await reply(client, userId, respond, outcome.followUp, false);
          if (onHome && !outcome.prompt) await publishHome(chat, client, userId, person, await identity.readerTime(userId));
        } catch (err) {
          await reply(client, userId, respond, chat.errorCard(err, { slackUserId: userId, verb }), false).catch(() => undefined);
        }
      });
    }
  };
  onClick(ALERT_VERBS, (person, verb, ids) => supervision.alertClick(person, verb as AlertVerb, ids.alertId ?? ''));
  onClick(CHECKIN_VERBS, async (person, verb, ids) => ({
    card: await supervision.checkInAction(person, verb as CheckInVerb, ids.checkInId ?? ''),
  }));
  onClick(AGENT_BUTTON_VERBS, (person, verb, ids) => chat.actions.click(person, verb as AgentButtonVerb, ids));

  app.view(CARD_ACTIONS.promptSubmit, async ({ ack, body, client }) => {
    const parsed = viewSubmissionSchema.safeParse(body);
    const userId = parsed.success ? parsed.data.user.id : '';
    const person = parsed.success ? await identity.person(userId) : undefined;
    if (!parsed.success || !person) {
      await ack();
      if (userId) await reply(client, userId, undefined, chat.unknownPersonCard(), false).catch(() => undefined);
      return;
    }
    const prompt = readPrompt(parsed.data.view.state.values, parsed.data.view.private_metadata);
    const { channel, ts, [FROM_HOME_KEY]: fromHome, ...ids } = prompt.ids;
    try {
      if (!prompt.verb) throw new InvalidInputError('This form is out of date. Send "help" to see what Roster can do.');
      const values = { ...prompt.values };
      for (const [name, slackId] of Object.entries(prompt.slackUsers)) {
        values[name as keyof typeof values] = (await identity.person(slackId))?.email ?? `slack:${slackId}`;
      }
      // Checked and done before the acknowledgement: field errors and the next view go in the ack.
      const outcome = await chat.actions.submit(person, prompt.verb, ids, values);
      // The errors and the next view are shown to the submitter: their times in the submitter's zone.
      if (outcome.errors) {
        await ack({
          response_action: 'errors',
          errors: localiseFieldErrors(outcome.errors as Record<string, string>, await identity.readerTime(userId)),
        });
        return;
      }
      if (outcome.form) {
        const rendered = renderCard('slack', outcome.form, await identity.readerTime(userId));
        await ack({ response_action: 'update', view: (rendered.surface === 'message' ? undefined : rendered.view) as never });
        return;
      }
      await ack();
      if (outcome.card && channel && ts) {
        const message = slackMessage(outcome.card, await identity.readerTime(userId));
        await client.chat
          .update({ channel, ts, blocks: message.blocks as never, text: message.text })
          .catch(() => reply(client, userId, undefined, outcome.card!, false));
      } else if (outcome.card) await reply(client, userId, undefined, outcome.card, false);
      if (outcome.followUp) await reply(client, userId, undefined, outcome.followUp, false);
      if (fromHome) await publishHome(chat, client, userId, person, await identity.readerTime(userId));
    } catch (err) {
      await ack().catch(() => undefined);
      await reply(
        client,
        userId,
        undefined,
        chat.errorCard(err, { slackUserId: userId, verb: prompt.verb ?? 'prompt_submit' }),
        false,
      ).catch(() => undefined);
    }
  });
}
