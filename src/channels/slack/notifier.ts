import type { WebClient } from '@slack/web-api';
import type { OrgConfig, Person } from '../../config/schemas.js';
import type { CardTime } from '../../cards/localise.js';
import { readerTime } from '../reader-time.js';
import { slackNotificationCard } from '../../cards/form-launchers.js';
import { renderCoreCard, type SlackMessageCard } from '../../cards/render.js';
import type { CardModel } from '../../cards/view-models.js';
import type { MessageRef, OutgoingCard } from '../../core/notifications.js';
import type { ChannelNotifier } from '../port.js';
import type { SlackIdentity } from './identity.js';

/** Renders a card as a Slack message (forms and home are not sent as messages). */
export function slackMessage(card: OutgoingCard | CardModel, time?: CardTime): SlackMessageCard {
  const rendered = renderCoreCard('slack', card, time);
  if (rendered.surface !== 'message') throw new Error(`${card.kind} is not a Slack message card`);
  return rendered;
}

/**
 * Renders a card the core sends as a Slack message: a form (a modal in Slack, which only a click
 * may open) becomes the message whose button opens it.
 */
export function slackNotification(card: OutgoingCard | CardModel, time?: CardTime): SlackMessageCard {
  const message = slackNotificationCard(card);
  if (!message) throw new Error(`${card.kind} is not a Slack message card and no message opens it`);
  return slackMessage(message, time);
}

/**
 * Direct messages from the app to a person, updated in place with chat.update. Times are Slack
 * date tokens (each client shows its own user's time) with the person's zone as the fallback;
 * the zone is kept in the message reference so that updates read the same.
 */
export class SlackNotifier implements ChannelNotifier {
  readonly channel = 'slack' as const;

  constructor(
    private readonly client: WebClient,
    private readonly identity: SlackIdentity,
    private readonly org: OrgConfig,
  ) {}

  async timeZoneOf(person: Person): Promise<string | undefined> {
    const user = await this.identity.slackIdOf(person);
    return user ? this.identity.timeZoneOf(user) : undefined;
  }

  async canReach(person: Person): Promise<boolean> {
    return Boolean(await this.identity.slackIdOf(person));
  }

  async send(person: Person, card: OutgoingCard): Promise<MessageRef | undefined> {
    const user = await this.identity.slackIdOf(person);
    if (!user) return undefined;
    const time = readerTime(this.org, person, await this.identity.timeZoneOf(user));
    const message = slackNotification(card, time);
    const result = await this.client.chat.postMessage({
      channel: user,
      blocks: wireBlocks(message),
      text: message.text,
      unfurl_links: false,
    });
    if (!result.ok || !result.channel || !result.ts) return undefined;
    return { channel: 'slack', channelId: result.channel, ts: result.ts, timeZone: time.zone };
  }

  async update(ref: MessageRef, card: OutgoingCard): Promise<void> {
    const message = slackNotification(card, readerTime(this.org, undefined, typeof ref.timeZone === 'string' ? ref.timeZone : undefined));
    await this.client.chat.update({
      channel: String(ref.channelId),
      ts: String(ref.ts),
      blocks: wireBlocks(message),
      text: message.text,
    });
  }
}

/**
 * The blocks as the Web API client would put them in its form body: it sends every value that is
 * not a string as its JSON text. Given the text, the request is the same byte for byte, but the
 * client no longer copies the blocks key by key (testing each key against its token pattern) to
 * build the debug line it writes before every call, then serialises them a second time.
 */
function wireBlocks(message: SlackMessageCard): never {
  return JSON.stringify(message.blocks) as never;
}
