import type { CloudAdapter, TurnContext } from '@microsoft/agents-hosting';
import type { ConversationParameters, ConversationReference } from '@microsoft/agents-activity';
import { z } from 'zod';
import type { OrgConfig, Person } from '../../config/schemas.js';
import { readerTime } from '../reader-time.js';
import type { MessageRef, OutgoingCard } from '../../core/notifications.js';
import type { Logger } from '../../logger.js';
import type { ConversationStore, TeamsConversationRef } from '../../store/conversation-store.js';
import type { ChannelNotifier } from '../port.js';
import { cardMessage } from './cards.js';
import type { TeamsCardParts } from './refresh.js';
import { connectorRetryVerdict, withRetry } from '../retry.js';

type TurnLogic = (context: TurnContext) => Promise<void>;

/**
 * Runs `logic` in a proactive turn and carries its error out of the turn: the adapter's
 * turn-error handler would swallow it, and the card would count as sent. A throttled or failing
 * Bot Connector call (429, 5xx, network) is thrown so that the retry sees it; a refusal (403 from
 * an uninstalled app, 404, 413) is thrown to the caller with `refusals: 'throw'`, else logged.
 */
async function proactive(
  run: (logic: TurnLogic) => Promise<void>,
  logic: TurnLogic,
  log: Logger,
  what: string,
  refusals: 'throw' | 'log' = 'log',
): Promise<void> {
  let failure: { err: unknown } | undefined;
  await run(async (context) => {
    try {
      await logic(context);
    } catch (err) {
      failure = { err };
    }
  });
  if (!failure) return;
  if (refusals === 'throw' || connectorRetryVerdict(failure.err).retry) throw failure.err;
  log.warn({ what, status: (failure.err as { status?: unknown }).status }, 'the Bot Connector refused a Teams message');
}

/** Who proactive messages are sent as: the app id with credentials, an identity without audience in anonymous mode. */
export type BotIdentity = Parameters<CloudAdapter['continueConversation']>[0];

/** A sent Teams message, as the core stores it to update the card later. */
export interface TeamsMessageRef extends MessageRef {
  channel: 'teams';
  conversationId: string;
  activityId: string;
  serviceUrl: string;
  channelId?: string;
  /** The bot's channel id, which the SDK needs as the sender of the update. */
  botId?: string;
  /** The zone the card was shown in, so that updates read the same. */
  timeZone?: string;
}

const teamsMessageRefSchema = z.object({
  channel: z.literal('teams'),
  conversationId: z.string().min(1),
  activityId: z.string().min(1),
  serviceUrl: z.string().min(1),
  channelId: z.string().optional(),
  botId: z.string().optional(),
  timeZone: z.string().optional(),
});

/** How long a reference `canReach` read stands for the `send` right after it. */
const REACHED_FOR_MS = 1_000;

/** The audience of Bot Connector tokens (Azure Bot Service). */
const BOT_CONNECTOR_AUDIENCE = 'https://api.botframework.com';

/**
 * Proactive Teams messages through the Agents SDK: `adapter.continueConversation` with the stored
 * reference sends a card (`POST v3/conversations/{id}/activities`) or replaces one
 * (`PUT …/activities/{activityId}`). When Roster only knows a user from a team or group chat it
 * first creates the 1:1 conversation (`POST v3/conversations`) and remembers it. With
 * credentials the SDK fetches a Bot Connector token for the app id; in anonymous local mode
 * the identity has no audience, so no token is sent (as the Agents Playground expects).
 */
export class TeamsNotifier implements ChannelNotifier {
  readonly channel = 'teams' as const;
  /** The reference `canReach` found for a person, for the `send` that follows it. */
  private readonly reached = new WeakMap<Person, { ref: TeamsConversationRef; at: number }>();
  /** Reads of a person's reference under way (by e-mail): cards to one person sent at once read it once, not once each. */
  private readonly reading = new Map<string, Promise<TeamsConversationRef | undefined>>();

  constructor(
    private readonly adapter: CloudAdapter,
    private readonly store: ConversationStore,
    private readonly botIdentity: BotIdentity,
    private readonly log: Logger,
    private readonly org: OrgConfig,
    /** Fills the Teams-only parts of a card (the refresh's Teams user ids); none when absent. */
    private readonly parts?: TeamsCardParts,
  ) {}

  async canReach(person: Person): Promise<boolean> {
    const ref = await this.referenceFor(person);
    // The router sends right after asking: that send uses this reference instead of reading it again.
    if (ref) this.reached.set(person, { ref, at: Date.now() });
    return Boolean(ref);
  }

  /** Asked for every reminder that can wait: the store keeps each person's answer for a while. */
  async timeZoneOf(person: Person): Promise<string | undefined> {
    return this.store.timeZoneOf(person);
  }

  async send(person: Person, card: OutgoingCard): Promise<TeamsMessageRef | undefined> {
    const reached = this.reached.get(person);
    this.reached.delete(person);
    const ref = reached && Date.now() - reached.at < REACHED_FOR_MS ? reached.ref : await this.referenceFor(person);
    if (!ref) return undefined;
    const time = readerTime(this.org, person, ref.timeZone);
    const activity = cardMessage(this.parts ? await this.parts.complete(card, [ref]) : card, time);
    let conversationId = ref.conversationId;
    let activityId: string | undefined;
    // 429 and 5xx from the Bot Connector are retried after its Retry-After (the ConnectorClient does not retry).
    const retry = { log: this.log, what: `teams send ${card.kind}` };
    if (conversationId) {
      const known = conversationId;
      await withRetry(
        () =>
          proactive(
            (logic) => this.adapter.continueConversation(this.botIdentity, reference(ref, known), logic),
            async (context) => {
              activityId = await sendAsNewMessage(context, activity);
            },
            this.log,
            retry.what,
            'throw',
          ),
        connectorRetryVerdict,
        retry,
      );
    } else {
      await withRetry(
        () =>
          proactive(
            (logic) =>
              this.adapter.createConversationAsync(
                typeof this.botIdentity === 'string' ? this.botIdentity : '',
                ref.channelId,
                ref.serviceUrl,
                BOT_CONNECTOR_AUDIENCE,
                personalConversation(ref),
                logic,
              ),
            async (context) => {
              conversationId = context.activity.conversation?.id;
              if (conversationId) activityId = await sendAsNewMessage(context, activity);
            },
            this.log,
            retry.what,
          ),
        connectorRetryVerdict,
        retry,
      );
      if (conversationId) await this.store.setPersonalConversation(ref.aadObjectId, conversationId);
    }
    if (!conversationId || !activityId) {
      this.log.warn({ kind: card.kind, person: person.email }, 'the Bot Connector accepted a Teams card without returning its id');
      return undefined;
    }
    return {
      channel: 'teams',
      conversationId,
      activityId,
      serviceUrl: ref.serviceUrl,
      channelId: ref.channelId,
      botId: ref.botId,
      timeZone: time.zone,
    };
  }

  async update(ref: MessageRef, card: OutgoingCard): Promise<void> {
    const parsed = teamsMessageRefSchema.safeParse(ref);
    if (!parsed.success) {
      this.log.warn({ kind: card.kind }, 'a Teams card update had an unusable message reference and was skipped');
      return;
    }
    const { conversationId, activityId, serviceUrl, channelId, botId, timeZone } = parsed.data;
    const completed = this.parts ? await this.parts.complete(card) : card;
    const update = { ...cardMessage(completed, readerTime(this.org, undefined, timeZone)), id: activityId } as Parameters<
      TurnContext['updateActivity']
    >[0];
    const target = {
      serviceUrl,
      channelId: channelId ?? 'msteams',
      conversation: { id: conversationId },
      agent: { id: botId ?? 'roster' },
    } as ConversationReference;
    const what = `teams update ${card.kind}`;
    await withRetry(
      () =>
        proactive(
          (logic) => this.adapter.continueConversation(this.botIdentity, target, logic),
          async (context) => {
            await context.updateActivity(update);
          },
          this.log,
          what,
        ),
      connectorRetryVerdict,
      { log: this.log, what },
    );
  }

  /** The person's stored reference; callers asking while a read is under way share its answer. */
  private referenceFor(person: Person): Promise<TeamsConversationRef | undefined> {
    const reading = this.reading.get(person.email);
    if (reading) return reading;
    const read = (async () =>
      (person.teamsAadObjectId ? await this.store.get(person.teamsAadObjectId) : undefined) ??
      (await this.store.getByEmail(person.email)))().finally(() => this.reading.delete(person.email));
    this.reading.set(person.email, read);
    return read;
  }
}

function reference(ref: TeamsConversationRef, conversationId: string): ConversationReference {
  return {
    channelId: ref.channelId,
    serviceUrl: ref.serviceUrl,
    conversation: { id: conversationId, conversationType: 'personal', ...(ref.tenantId ? { tenantId: ref.tenantId } : {}) },
    agent: { id: ref.botId, ...(ref.botName ? { name: ref.botName } : {}) },
    user: { id: ref.userId, aadObjectId: ref.aadObjectId, ...(ref.userName ? { name: ref.userName } : {}) },
  } as ConversationReference;
}

function personalConversation(ref: TeamsConversationRef): ConversationParameters {
  const bot = { id: ref.botId, ...(ref.botName ? { name: ref.botName } : {}) };
  // The SDK names the bot `agent`; the Bot Connector wire format calls it `bot`.
  return {
    isGroup: false,
    agent: bot,
    bot,
    members: [{ id: ref.userId }],
    ...(ref.tenantId ? { tenantId: ref.tenantId, channelData: { tenant: { id: ref.tenantId } } } : { channelData: {} }),
  } as unknown as ConversationParameters;
}

/**
 * Sends one activity as a new message, not as a reply: a continued conversation's synthetic
 * activity id would otherwise become the `replyToId` (a thread reply in a channel).
 */
async function sendAsNewMessage(context: TurnContext, activity: ReturnType<typeof cardMessage>): Promise<string | undefined> {
  context.onSendActivities(async (_context, activities, next) => {
    for (const a of activities) delete a.replyToId;
    return next();
  });
  const response = await context.sendActivity(activity);
  return response?.id || undefined;
}
