import type { App as BoltApp, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { CardModel } from '../../cards/view-models.js';
import type { ChatService } from '../chat.js';
import { ALERT_VERBS, CHECKIN_VERBS, type AlertVerb, type CheckInVerb, type SupervisionChat } from '../chat-supervision.js';
import type { SlackIdentity } from './identity.js';
import { slackMessage } from './notifier.js';

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
  handle(CHECKIN_VERBS, 'checkInId', (person, verb, id) => supervision.checkInAction(person, verb as CheckInVerb, id));
}
