import type { App as BoltApp, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { CardModel } from '../../cards/view-models.js';
import type { ChatService } from '../chat.js';
import { ALERT_VERBS, CHECKIN_VERBS, type AlertVerb, type CheckInVerb, type SupervisionChat } from '../chat-supervision.js';
import type { SlackIdentity } from './identity.js';
import { slackMessage } from './notifier.js';
import { renderCard } from '../../cards/render.js';
import { CARD_ACTIONS } from '../../cards/ids.js';
import type { DataOf } from '../../cards/view-models.js';
import { InvalidInputError } from '../../core/errors.js';
import { AGENT_BUTTON_VERBS, type ActionOutcome } from '../chat-actions.js';
import { readPrompt, viewSubmissionSchema } from './forms.js';

/** A button's ids: the JSON object of its value, its string members that look like ids. */
function idsFrom(value: unknown): Record<string, string> {
  try {
    const parsed = JSON.parse(String(value)) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed).flatMap(([key, v]) =>
        /^[a-zA-Z]{1,40}$/.test(key) && typeof v === 'string' && /^[\w.:-]{1,200}$/.test(v) ? [[key, v]] : [],
      ),
    );
  } catch {
    return {};
  }
}

/** The message a button was clicked on (a DM the bot posted), so a later modal submit can update it. */
function originOf(body: unknown): { channel?: string; ts?: string } {
  const b = body as { container?: { channel_id?: unknown; message_ts?: unknown }; channel?: { id?: unknown }; message?: { ts?: unknown } };
  const channel = b.container?.channel_id ?? b.channel?.id;
  const ts = b.container?.message_ts ?? b.message?.ts;
  const ok = (v: unknown): v is string => typeof v === 'string' && /^[\w.:-]{1,200}$/.test(v);
  return { ...(ok(channel) ? { channel } : {}), ...(ok(ts) ? { ts } : {}) };
}

function idFrom(value: unknown, key: 'alertId' | 'checkInId'): string {
  try {
    const parsed = JSON.parse(String(value)) as Record<string, unknown>;
    return typeof parsed[key] === 'string' ? (parsed[key] as string) : '';
  } catch {
    return '';
  }
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
    const message = slackMessage(card);
    if (respond) {
      await respond({ response_type: 'ephemeral', replace_original: replace, blocks: message.blocks as never, text: message.text });
    } else {
      await client.chat.postMessage({ channel: userId, blocks: message.blocks as never, text: message.text });
    }
  };
  const handle = (
    verbs: readonly string[],
    key: 'alertId' | 'checkInId',
    act: (person: NonNullable<Awaited<ReturnType<SlackIdentity['person']>>>, verb: string, id: string) => Promise<CardModel>,
  ) => {
    for (const verb of verbs) {
      app.action(verb, async ({ ack, body, action, client, respond }) => {
        await ack();
        const userId = body.user.id;
        const person = await identity.person(userId);
        try {
          if (!person) return void (await reply(client, userId, respond, chat.unknownPersonCard(), false));
          const card = await act(person, verb, idFrom('value' in action ? action.value : undefined, key));
          await reply(client, userId, respond, card, card.kind !== 'notice');
        } catch (err) {
          await reply(client, userId, respond, chat.errorCard(err, { slackUserId: userId, verb }), false).catch(() => undefined);
        }
      });
    }
  };
  handle(ALERT_VERBS, 'alertId', (person, verb, id) => supervision.alertAction(person, verb as AlertVerb, id));

  // The agent buttons of alerts, check-ins and notices. A prompt opens as a modal that remembers
  // the clicked message (channel, ts), so its submit can update that message in place.
  const deliver = async (client: WebClient, userId: string, respond: RespondFn | undefined, outcome: ActionOutcome) => {
    if (outcome.card) await reply(client, userId, respond, outcome.card, true);
    if (outcome.followUp) await reply(client, userId, respond, outcome.followUp, false);
  };
  for (const verb of AGENT_BUTTON_VERBS) {
    app.action(verb, async ({ ack, body, action, client, respond }) => {
      await ack();
      const userId = body.user.id;
      const person = await identity.person(userId);
      try {
        if (!person) return void (await reply(client, userId, respond, chat.unknownPersonCard(), false));
        const outcome = await chat.actions.click(person, verb, idsFrom('value' in action ? action.value : undefined));
        if (outcome.prompt && 'trigger_id' in body && body.trigger_id) {
          const origin = originOf(body);
          const data = outcome.prompt.data as DataOf<'prompt'>;
          const model = { kind: 'prompt', data: { ...data, payload: { ...data.payload, ...origin } } } as CardModel;
          const rendered = renderCard('slack', model);
          if (rendered.surface !== 'message') await client.views.open({ trigger_id: body.trigger_id, view: rendered.view as never });
        }
        await deliver(client, userId, respond, outcome);
      } catch (err) {
        await reply(client, userId, respond, chat.errorCard(err, { slackUserId: userId, verb }), false).catch(() => undefined);
      }
    });
  }

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
    const { channel, ts, ...ids } = prompt.ids;
    try {
      if (!prompt.verb) throw new InvalidInputError('This form is out of date. Send "help" to see what Roster can do.');
      const values = { ...prompt.values };
      for (const [name, slackId] of Object.entries(prompt.slackUsers)) {
        values[name as keyof typeof values] = (await identity.person(slackId))?.email ?? `slack:${slackId}`;
      }
      // Checked and done before the acknowledgement: field errors and the next view go in the ack.
      const outcome = await chat.actions.submit(person, prompt.verb, ids, values);
      if (outcome.errors) {
        await ack({ response_action: 'errors', errors: outcome.errors as Record<string, string> });
        return;
      }
      if (outcome.form) {
        const rendered = renderCard('slack', outcome.form);
        await ack({ response_action: 'update', view: (rendered.surface === 'message' ? undefined : rendered.view) as never });
        return;
      }
      await ack();
      if (outcome.card && channel && ts) {
        const message = slackMessage(outcome.card);
        await client.chat
          .update({ channel, ts, blocks: message.blocks as never, text: message.text })
          .catch(() => reply(client, userId, undefined, outcome.card!, false));
      } else if (outcome.card) await reply(client, userId, undefined, outcome.card, false);
      if (outcome.followUp) await reply(client, userId, undefined, outcome.followUp, false);
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
  handle(CHECKIN_VERBS, 'checkInId', (person, verb, id) => supervision.checkInAction(person, verb as CheckInVerb, id));
}
