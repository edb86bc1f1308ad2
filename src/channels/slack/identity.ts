import type { WebClient } from '@slack/web-api';
import type { OrgConfig, Person } from '../../config/schemas.js';
import { findPersonByEmail, findPersonBySlackId } from '../../config/directory.js';
import type { Logger } from '../../logger.js';

const CACHE_MS = 10 * 60_000;

/**
 * Maps a Slack user to a directory person: by the Slack id in the directory, else by the e-mail
 * Slack reports for the user (`users.info`, cached for ten minutes).
 */
export class SlackIdentity {
  private readonly cache = new Map<string, { email?: string; at: number }>();

  constructor(
    private readonly org: OrgConfig,
    private readonly client: WebClient,
    private readonly log: Logger,
  ) {}

  async person(slackUserId: string | undefined): Promise<Person | undefined> {
    if (!slackUserId || typeof slackUserId !== 'string') return undefined;
    const direct = findPersonBySlackId(this.org, slackUserId);
    if (direct) return direct;
    const cached = this.cache.get(slackUserId);
    let email = cached && Date.now() - cached.at < CACHE_MS ? cached.email : undefined;
    if (!cached || Date.now() - cached.at >= CACHE_MS) {
      try {
        const info = await this.client.users.info({ user: slackUserId });
        email = info.user?.profile?.email ?? undefined;
      } catch (err) {
        this.log.warn({ err, slackUserId }, 'users.info failed; treating the user as unknown');
      }
      this.cache.set(slackUserId, { email, at: Date.now() });
    }
    return email ? findPersonByEmail(this.org, email) : undefined;
  }

  /** The Slack id to reach a person at, from the directory or by e-mail look-up (cached). */
  async slackIdOf(person: Person): Promise<string | undefined> {
    if (person.slackUserId) return person.slackUserId;
    const key = `email:${person.email}`;
    const cached = this.cache.get(key);
    if (cached && Date.now() - cached.at < CACHE_MS) return cached.email;
    let id: string | undefined;
    try {
      const found = await this.client.users.lookupByEmail({ email: person.email });
      id = found.user?.id ?? undefined;
    } catch {
      id = undefined;
    }
    this.cache.set(key, { email: id, at: Date.now() });
    return id;
  }
}
