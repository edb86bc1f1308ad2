import { randomUUID } from 'node:crypto';
import type { Person } from '../../../src/config/schemas.js';

export const TENANT_ID = '5f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f';
export const BOT = { id: '28:roster-test-bot', name: 'Roster' };

/** A Teams user as activities carry them: channel id, AAD object id and their 1:1 chat with Roster. */
export interface TeamsUser {
  id: string;
  name: string;
  aadObjectId: string;
  conversationId: string;
}

export function teamsUser(person: Pick<Person, 'name' | 'teamsAadObjectId'>): TeamsUser {
  if (!person.teamsAadObjectId) throw new Error(`${person.name} has no Teams id in the directory`);
  return {
    id: `29:${person.teamsAadObjectId}`,
    name: person.name,
    aadObjectId: person.teamsAadObjectId,
    conversationId: `a:personal-${person.teamsAadObjectId}`,
  };
}

export interface PostResult {
  status: number;
  body: unknown;
}

/** The invoke response body of an Action.Execute that returned a card. */
export interface CardInvokeBody {
  statusCode: number;
  type: string;
  value: Record<string, unknown>;
}

/**
 * Posts activities to Roster's `/api/messages` shaped as Teams sends them, with `serviceUrl`
 * pointing at the fake connector.
 */
export class TeamsClient {
  constructor(
    private readonly baseUrl: string,
    readonly serviceUrl: string,
  ) {}

  base(user: TeamsUser, type: string): Record<string, unknown> {
    return {
      type,
      id: `f:${randomUUID()}`,
      timestamp: new Date().toISOString(),
      channelId: 'msteams',
      serviceUrl: this.serviceUrl,
      from: { id: user.id, name: user.name, aadObjectId: user.aadObjectId },
      recipient: { ...BOT },
      conversation: { id: user.conversationId, conversationType: 'personal', tenantId: TENANT_ID },
      channelData: { tenant: { id: TENANT_ID } },
      locale: 'en-US',
    };
  }

  async post(activity: unknown, headers: Record<string, string> = {}): Promise<PostResult> {
    const res = await fetch(`${this.baseUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof activity === 'string' ? activity : JSON.stringify(activity),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body };
  }

  message(user: TeamsUser, text: string, headers?: Record<string, string>): Promise<PostResult> {
    return this.post({ ...this.base(user, 'message'), text, textFormat: 'plain' }, headers);
  }

  /** The bot was installed in the user's personal scope (Teams sends this and a conversationUpdate). */
  install(user: TeamsUser, action: 'add' | 'remove' = 'add'): Promise<PostResult> {
    return this.post({ ...this.base(user, 'installationUpdate'), action });
  }

  /** Members were added to the conversation (the bot, in a 1:1 install). */
  membersAdded(user: TeamsUser, members: Array<{ id: string; aadObjectId?: string; name?: string }> = [BOT]): Promise<PostResult> {
    return this.post({ ...this.base(user, 'conversationUpdate'), membersAdded: members });
  }

  /**
   * A typeahead search: the `application/search` invoke a choice set with a `Data.Query` sends as
   * the person types (`queryText`, `dataset`, `queryOptions`), as Teams documents it.
   */
  search(user: TeamsUser, dataset: string, queryText: string, queryOptions = { skip: 0, top: 15 }): Promise<PostResult> {
    return this.post({ ...this.base(user, 'invoke'), name: 'application/search', value: { queryText, queryOptions, dataset } });
  }

  /** An Action.Execute click: `invoke` named `adaptiveCard/action`; inputs are merged into `data`. */
  async execute(
    user: TeamsUser,
    verb: string,
    data: Record<string, unknown>,
    options: { replyToId?: string; trigger?: 'manual' | 'automatic' } = {},
  ): Promise<PostResult & { card?: Record<string, unknown> }> {
    const result = await this.post({
      ...this.base(user, 'invoke'),
      name: 'adaptiveCard/action',
      ...(options.replyToId ? { replyToId: options.replyToId } : {}),
      value: { action: { type: 'Action.Execute', id: randomUUID(), verb, data }, trigger: options.trigger ?? 'manual' },
    });
    const body = result.body as Partial<CardInvokeBody> | undefined;
    return { ...result, ...(body?.type === 'application/vnd.microsoft.card.adaptive' ? { card: body.value } : {}) };
  }
}
