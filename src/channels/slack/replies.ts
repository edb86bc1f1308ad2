import type { RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Person } from '../../config/schemas.js';
import { localiseFieldErrors } from '../../cards/localise.js';
import { renderCard } from '../../cards/render.js';
import type { CardModel } from '../../cards/view-models.js';
import type { Logger } from '../../logger.js';
import type { ChatService } from '../chat.js';
import { metadata } from './forms.js';
import { publishHome } from './home.js';
import type { SlackIdentity } from './identity.js';
import { slackMessage } from './notifier.js';

/** Who a listener answers: the Web API client of the delivery, the person's Slack id, and the click's response_url. */
export interface SlackReplyTo {
  client: WebClient;
  userId: string;
  respond?: RespondFn;
}

/**
 * The ways Roster answers a person in Slack, in their time zone: a private reply, the clicked
 * message replaced, a modal, App Home published again. Every listener answers through these.
 */
export class SlackReplies {
  constructor(
    private readonly chat: ChatService,
    private readonly identity: SlackIdentity,
    private readonly log: Logger,
  ) {}

  /**
   * A card only the person sees: ephemeral where Slack gave a response_url, else a message in
   * `channel` (their DM with the app unless a DM's own channel is given).
   */
  async privately(to: SlackReplyTo, card: CardModel, channel = to.userId): Promise<void> {
    const message = slackMessage(card, await this.identity.readerTime(to.userId));
    if (to.respond) {
      try {
        await to.respond({ response_type: 'ephemeral', replace_original: false, blocks: message.blocks as never, text: message.text });
        return;
      } catch (err) {
        this.log.warn({ err }, 'response_url failed; sending a direct message instead');
      }
    }
    await to.client.chat.postMessage({ channel, blocks: message.blocks as never, text: message.text });
  }

  /**
   * The clicked message, replaced by `card` for the clicker only (through the click's
   * response_url, ephemeral: it may hold what only they may see, such as a new key; without a
   * response_url, the card comes as a direct message). A failure leaves the message as it was.
   */
  async replace(to: SlackReplyTo, card: CardModel): Promise<void> {
    const message = slackMessage(card, await this.identity.readerTime(to.userId));
    try {
      if (to.respond) {
        await to.respond({ response_type: 'ephemeral', replace_original: true, blocks: message.blocks as never, text: message.text });
      } else await to.client.chat.postMessage({ channel: to.userId, blocks: message.blocks as never, text: message.text });
    } catch (err) {
      this.log.warn({ err, kind: card.kind }, 'could not replace the clicked card');
    }
  }

  /** A message Roster posted, updated in place; when that fails, the card comes as a direct message. */
  async update(to: SlackReplyTo, where: { channel: string; ts: string }, card: CardModel): Promise<void> {
    const message = slackMessage(card, await this.identity.readerTime(to.userId));
    await to.client.chat
      .update({ ...where, blocks: message.blocks as never, text: message.text })
      .catch(() => this.privately({ client: to.client, userId: to.userId }, card));
  }

  /**
   * Opens a form as a modal for the person, its times in their zone; `remember` joins its
   * private_metadata, for its submit to read back.
   */
  async openModal(to: SlackReplyTo, triggerId: string, card: CardModel, remember: Record<string, string> = {}): Promise<void> {
    const rendered = renderCard('slack', card, await this.identity.readerTime(to.userId));
    if (rendered.surface === 'message') throw new Error(`${card.kind} is not a modal`);
    const view = rendered.view as { private_metadata?: string };
    if (Object.keys(remember).length > 0) view.private_metadata = JSON.stringify({ ...metadata(view.private_metadata ?? ''), ...remember });
    await to.client.views.open({ trigger_id: triggerId, view: view as never });
  }

  /** The next view of a submitted modal, for its acknowledgement (`response_action: update`), its times in the submitter's zone. */
  async nextView(userId: string, card: CardModel): Promise<{ response_action: 'update'; view: never } | undefined> {
    const rendered = renderCard('slack', card, await this.identity.readerTime(userId));
    return rendered.surface === 'message' ? undefined : { response_action: 'update', view: rendered.view as never };
  }

  /** A modal submit's field errors, for its acknowledgement, their times in the submitter's zone. */
  async fieldErrors(
    userId: string,
    errors: Readonly<Record<string, string>>,
  ): Promise<{ response_action: 'errors'; errors: Record<string, string> }> {
    return { response_action: 'errors', errors: localiseFieldErrors(errors, await this.identity.readerTime(userId)) };
  }

  /** The person's App Home published again, with a page of `find` results at the top when given. */
  async home(to: SlackReplyTo, person: Person | undefined, found?: CardModel): Promise<void> {
    await publishHome(this.chat, to.client, to.userId, person, await this.identity.readerTime(to.userId), found);
  }

  /**
   * Runs a listener body for a known person; unknown people and failures get a friendly private
   * card (in `channel`, a DM's own, when given).
   */
  async asPerson(
    to: SlackReplyTo & { channel?: string; verb?: string },
    work: (person: Person) => Promise<void>,
    known?: Person,
  ): Promise<void> {
    const tell = (card: CardModel) => this.privately(to, card, to.channel);
    try {
      // Inside: a failed look-up of who the person is is a failure to tell them about.
      const person = known ?? (await this.identity.person(to.userId));
      if (!person) return void (await tell(this.chat.unknownPersonCard()));
      await work(person);
    } catch (err) {
      await tell(this.chat.errorCard(err, { slackUserId: to.userId, ...(to.verb ? { verb: to.verb } : {}) })).catch((e: unknown) =>
        this.log.error({ err: e }, 'could not tell the person about an error'),
      );
    }
  }
}
