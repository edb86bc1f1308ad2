import type { TurnContext, ConnectorClient } from '@microsoft/agents-hosting';
import type { Activity, ChannelAccount } from '@microsoft/agents-activity';
import type { OrgConfig, Person } from '../../config/schemas.js';
import { findPersonByEmail, findPersonByTeamsId } from '../../config/directory.js';
import type { ConversationSighting } from '../../store/conversation-store.js';
import type { Logger } from '../../logger.js';
import type { CardTime } from '../../cards/localise.js';
import { canonicalZone, isTimeZone } from '../../core/time.js';
import { readerTime, sharedTime } from '../reader-time.js';

const PERSON_KEY = Symbol('roster.person');

/** True for a 1:1 chat between the bot and one user (the only place Roster sends proactively). */
export function isPersonal(activity: Activity): boolean {
  const type = activity.conversation?.conversationType;
  return type === 'personal' || (type === undefined && activity.conversation?.isGroup !== true);
}

function tenantOf(activity: Activity): string | undefined {
  const fromChannelData = (activity.channelData as { tenant?: { id?: unknown } } | undefined)?.tenant?.id;
  return activity.conversation?.tenantId ?? (typeof fromChannelData === 'string' ? fromChannelData : undefined);
}

/**
 * The time zone the Teams client reports in the activity's `clientInfo` entity (an IANA zone
 * such as `Europe/Berlin`); undefined when absent or not a zone.
 */
export function clientTimeZone(activity: Activity): string | undefined {
  const info = (activity.entities ?? []).find((e) => e?.type === 'clientInfo') as { timezone?: unknown } | undefined;
  return isTimeZone(info?.timezone) ? canonicalZone(info.timezone) : undefined;
}

/**
 * Maps Teams identities to directory people: the sender's AAD object id first; when the
 * directory does not know that id, the member's UPN or e-mail as the Bot Connector reports it
 * (`GET v3/conversations/{id}/members/{userId}`), so directories keyed by UPN work too.
 */
export class TeamsIdentity {
  constructor(
    private readonly org: OrgConfig,
    private readonly log: Logger,
    /** With a provisioned directory: links an AAD object id to the person its verified UPN or e-mail named, once. */
    private readonly link?: (aadObjectId: string, email: string) => Promise<void>,
  ) {}

  /**
   * The person behind the activity's sender, resolved once per turn (a failed look-up fails every
   * caller in the turn, without asking the connector again).
   */
  person(context: TurnContext): Promise<Person | undefined> {
    if (context.turnState.has(PERSON_KEY)) return context.turnState.get<Promise<Person | undefined>>(PERSON_KEY);
    const person = this.resolve(context);
    // Whoever awaits it handles the failure; an unawaited copy must not report it as unhandled.
    void person.catch(() => undefined);
    context.turnState.set(PERSON_KEY, person);
    return person;
  }

  /** How the activity's sender reads times: their Teams client's zone, else the directory's, else the organisation's. */
  readerTime(activity: Activity, sender: Person | undefined): CardTime {
    return readerTime(this.org, sender, clientTimeZone(activity));
  }

  /** How a card many people see reads times: the organisation's zone, named. */
  sharedTime(): CardTime {
    return sharedTime(this.org);
  }

  /** Who the directory says this Teams account is, without asking the connector. */
  fromAccount(account: ChannelAccount | undefined): Person | undefined {
    const aad = account?.aadObjectId;
    return aad ? findPersonByTeamsId(this.org, aad) : undefined;
  }

  /**
   * How to reach the activity's sender, the one account the request authenticates (never the
   * bot). Other accounts an activity names, such as a `conversationUpdate`'s `membersAdded`, are
   * the sender's claims about other people and are never stored: otherwise anyone could redirect
   * someone else's cards. Only a personal conversation is remembered as a conversation.
   */
  sightings(activity: Activity, sender: Person | undefined): ConversationSighting[] {
    const serviceUrl = activity.serviceUrl;
    const botId = activity.recipient?.id;
    const account = activity.from;
    const aad = account?.aadObjectId?.trim().toLowerCase();
    if (!serviceUrl || !botId || !activity.channelId || !account?.id || !aad || account.id === botId) return [];
    const tenantId = tenantOf(activity);
    const person = sender ?? this.fromAccount(account);
    const timeZone = clientTimeZone(activity);
    return [
      {
        botId,
        ...(activity.recipient?.name ? { botName: activity.recipient.name } : {}),
        serviceUrl,
        channelId: activity.channelId,
        ...(tenantId ? { tenantId } : {}),
        aadObjectId: aad,
        userId: account.id,
        ...(account.name ? { userName: account.name } : {}),
        ...(person ? { email: person.email } : {}),
        ...(timeZone ? { timeZone } : {}),
        ...(isPersonal(activity) && activity.conversation?.id ? { conversationId: activity.conversation.id } : {}),
      },
    ];
  }

  private async resolve(context: TurnContext): Promise<Person | undefined> {
    const from = context.activity.from;
    const known = this.fromAccount(from);
    if (known || !from?.id || !context.activity.conversation?.id) return known;
    const connector = context.turnState.get<ConnectorClient | undefined>(context.adapter.ConnectorClientKey);
    if (!connector) return undefined;
    try {
      const member = (await connector.getConversationMember(from.id, context.activity.conversation.id)) as ChannelAccount & {
        userPrincipalName?: string;
        email?: string;
      };
      const upn = typeof member?.userPrincipalName === 'string' ? member.userPrincipalName : undefined;
      const email = typeof member?.email === 'string' ? member.email : undefined;
      const person = (upn ? findPersonByTeamsId(this.org, upn) : undefined) ?? (email ? findPersonByEmail(this.org, email) : undefined);
      const aad = from.aadObjectId?.trim().toLowerCase();
      if (person && aad && this.link && !person.teamsAadObjectId) {
        await this.link(aad, person.email).catch((err: unknown) => this.log.warn({ err }, 'could not link the Teams id'));
        return findPersonByTeamsId(this.org, aad) ?? person;
      }
      return person;
    } catch (err) {
      // Only the connector saying the member is not there means nobody: any other failure (an
      // outage, throttling) is thrown, so the person hears "try again", not "I don't know you".
      if ((err as { status?: unknown }).status === 404) return undefined;
      throw err;
    }
  }
}
