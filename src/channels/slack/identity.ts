import type { WebClient } from '@slack/web-api';
import type { OrgConfig, Person } from '../../config/schemas.js';
import { findPersonByEmail, findPersonBySlackId } from '../../config/directory.js';
import type { Logger } from '../../logger.js';
import { ReadThroughCache } from '../../core/read-through-cache.js';
import { canonicalZone, isTimeZone } from '../../core/time.js';
import type { CardTime } from '../../cards/localise.js';
import { readerTime } from '../reader-time.js';

const CACHE_MS = 10 * 60_000;

/** Remembers a chat id found through a verified e-mail, so later look-ups go by the id (SCIM directory). */
export type IdentityLinker = (chatId: string, email: string) => Promise<void>;

/**
 * Maps a Slack user to a directory person: by the Slack id in the directory, else by the e-mail
 * Slack reports for the user (`users.info`, cached for ten minutes). With a provisioned
 * directory, an e-mail match (when Slack has confirmed the address) links the Slack id to the
 * person once, for good.
 */
export class SlackIdentity {
  /** `users.info` answers by user: cards to one person sent at once ask Slack once, not once each. */
  private readonly users = new ReadThroughCache<string, { email?: string; tz?: string }>({ ttlMs: CACHE_MS });
  /** `users.lookupByEmail` answers (a Slack id, or none) by e-mail. */
  private readonly idsByEmail = new ReadThroughCache<string, string | undefined>({ ttlMs: CACHE_MS });

  constructor(
    private readonly org: OrgConfig,
    private readonly client: WebClient,
    private readonly log: Logger,
    private readonly link?: IdentityLinker,
  ) {}

  async person(slackUserId: string | undefined): Promise<Person | undefined> {
    if (!slackUserId || typeof slackUserId !== 'string') return undefined;
    const direct = findPersonBySlackId(this.org, slackUserId);
    if (direct) return direct;
    const { email } = await this.info(slackUserId);
    const person = email ? findPersonByEmail(this.org, email) : undefined;
    if (person && this.link && !person.slackUserId) {
      await this.link(slackUserId, person.email).catch((err: unknown) =>
        this.log.warn({ err, slackUserId }, 'could not link the Slack id'),
      );
      return findPersonBySlackId(this.org, slackUserId) ?? person;
    }
    return person;
  }

  /**
   * The user's time zone as Slack reports it (`users.info` `tz`, an IANA zone, cached with the
   * e-mail for ten minutes); undefined when Slack does not say.
   */
  async timeZoneOf(slackUserId: string | undefined): Promise<string | undefined> {
    if (!slackUserId || typeof slackUserId !== 'string') return undefined;
    // A zone is a nicety: a failed look-up leaves the directory's or the organisation's zone.
    return (await this.info(slackUserId).catch(() => undefined))?.tz;
  }

  /** How a Slack user reads times: Slack's `tz` for them, else the directory's, else the organisation's zone. */
  async readerTime(slackUserId: string): Promise<CardTime> {
    return readerTime(this.org, findPersonBySlackId(this.org, slackUserId), await this.timeZoneOf(slackUserId));
  }

  /**
   * What `users.info` says about a user (cached for ten minutes); callers asking while a call is
   * under way share its answer. Slack answering that there is no such user says nothing about
   * them; any other failure (an outage, a rate limit past the client's retries) is thrown and not
   * remembered, so the person hears "try again", not "I don't know you", and is known when Slack answers.
   */
  private info(slackUserId: string): Promise<{ email?: string; tz?: string }> {
    return this.users.get(slackUserId, async () => {
      try {
        const info = await this.client.users.info({ user: slackUserId });
        // An address Slack has not confirmed proves nothing about who this is.
        const email = info.user?.is_email_confirmed === false ? undefined : (info.user?.profile?.email ?? undefined);
        const tz = isTimeZone(info.user?.tz) ? canonicalZone(info.user.tz) : undefined;
        return { ...(email ? { email } : {}), ...(tz ? { tz } : {}) };
      } catch (err) {
        if (slackErrorCode(err) === 'user_not_found') return {};
        throw err;
      }
    });
  }

  /**
   * The Slack id to reach a person at, from the directory or by e-mail look-up (cached). Slack
   * answering that no user has the address finds none; any other failure (an outage, a rate limit
   * past the client's retries) is thrown and not remembered: a card sent meanwhile then fails and
   * its outbox sends it again, where finding none would record it as delivered to nobody.
   */
  async slackIdOf(person: Person): Promise<string | undefined> {
    if (person.slackUserId) return person.slackUserId;
    return this.idsByEmail.get(person.email, async () => {
      try {
        return (await this.client.users.lookupByEmail({ email: person.email })).user?.id ?? undefined;
      } catch (err) {
        if (slackErrorCode(err) === 'users_not_found') return undefined;
        throw err;
      }
    });
  }
}

/**
 * The Slack workspace(s) Roster serves: the one its bot token belongs to (`auth.test`, asked once)
 * plus `SLACK_ALLOWED_TEAM_IDS` (other workspaces of an Enterprise Grid organisation).
 */
export class SlackWorkspace {
  private own?: Promise<Set<string>>;

  constructor(
    private readonly client: WebClient,
    private readonly extra: readonly string[],
    private readonly log: Logger,
  ) {}

  /** Roster's team ids; a failed `auth.test` is asked again on the next call. */
  teamIds(): Promise<Set<string>> {
    this.own ??= this.client.auth.test().then(
      (res) => {
        const ids = new Set(this.extra.map((id) => id.toUpperCase()));
        if (typeof res.team_id === 'string' && res.team_id) ids.add(res.team_id.toUpperCase());
        this.log.info({ teams: [...ids] }, 'Slack serves these workspaces only');
        return ids;
      },
      (err: unknown) => {
        this.own = undefined;
        throw err;
      },
    );
    return this.own;
  }

  /**
   * The team ids a delivery names that are not Roster's: the workspace it came from and, for a
   * person in a shared (Slack Connect) channel, the person's own team. Empty for Roster's people
   * and for deliveries that name no team (URL verification).
   */
  async outsiderTeams(body: Record<string, unknown>): Promise<string[]> {
    const named = teamsNamedBy(body);
    if (named.length === 0) return [];
    const ours = await this.teamIds();
    return [...new Set(named.filter((id) => !ours.has(id.toUpperCase())))];
  }
}

/** Every team id a Slack payload carries about where it comes from and who acts. */
function teamsNamedBy(body: Record<string, unknown>): string[] {
  const text = (v: unknown) => (typeof v === 'string' && v ? [v] : []);
  const obj = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
  const event = obj(body.event);
  return [
    ...text(body.team_id),
    ...text(obj(body.team).id),
    ...text(body.user_team),
    ...text(obj(body.user).team_id),
    ...text(event.user_team),
    ...text(event.source_team),
    ...text(obj(event.user_profile).team),
  ];
}

/** The `error` of a Web API call Slack answered with `ok: false` (e.g. `user_not_found`); undefined for any other failure. */
function slackErrorCode(err: unknown): unknown {
  return (err as { data?: { error?: unknown } } | undefined)?.data?.error;
}
