import { createSlackChannel } from '../../src/channels/slack/index.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import type { Person } from '../../src/config/schemas.js';
import type { AuditEntry } from '../../src/core/audit.js';
import { startTeamsTestRoster, startTestRoster, type TestRosterOptions } from './app.js';
import { cardButtons, cardText, cardVerbs } from '../channels/teams/card-reading.js';
import { teamsUser, type TeamsClient } from '../channels/teams/teams-client.js';
import { FakeConnector } from './fake-connector.js';
import { FakeSlack, type SlackCall } from './fake-slack.js';
import { eventually, SHIPPED_CONFIG } from './harness.js';
import { actionElements } from './slack-blocks.js';
import { buttonClick, interaction, postSlack, slashCommand, viewSubmission } from './slack-requests.js';
import { asAgentId } from './ids.js';

/*
 * A person clicking cards on either platform through Roster's real endpoint: signed Slack
 * interactions and modal submits to /slack/events (the Slack Web API faked on loopback), Teams
 * `adaptiveCard/action` invokes to /api/messages (the Bot Connector faked on loopback). Both
 * answer with what the person then sees, so one scenario can be written once and run on both.
 */

/** A card or form as the person sees it: its words and the ids of its buttons (Slack action_ids, Teams verbs). */
export interface SeenCard {
  text: string;
  verbs: string[];
  /** The platform's own JSON: Block Kit blocks, a Slack modal view, or an Adaptive Card. */
  raw: Record<string, unknown>;
  /** Teams: the activity id the card was posted as (the `replyToId` of a click on it). */
  activityId?: string;
}

/** What a click or a submit showed the person. */
export interface Seen {
  /** What replaced the clicked card (Slack: response_url with replace_original; Teams: the invoke response). */
  card?: SeenCard;
  /** A form opened to ask for values (Slack: a modal; Teams: the card shown in place of the clicked one). */
  prompt?: SeenCard;
  /** Messages sent to the person after the click (Slack: private responses and DMs; Teams: activities in their chat). */
  followUps: SeenCard[];
  /** Roster's cards in the person's chat updated in place after the click. */
  updates: SeenCard[];
  /** Slack: field errors in a modal submit's acknowledgement. */
  errors?: Record<string, string>;
}

/** Every word a person reads in what they saw. */
export const everything = (seen: Seen): string =>
  [seen.card, seen.prompt, ...seen.followUps, ...seen.updates].map((c) => c?.text ?? '').join('\n');

/** Clicks and submits, written once for both platforms. */
export interface Clicker {
  readonly platform: 'Slack' | 'Teams';
  /** The newest card Roster sent to `email` that offers `verb` (any, when empty) and whose words include `text`. */
  delivered(email: string, verb: string, text: string, timeoutMs?: number): Promise<SeenCard>;
  /** Waits until a message Roster sent or updated in `email`'s chat includes `text`; the newest such card. */
  sawText(email: string, text: string, timeoutMs?: number): Promise<SeenCard>;
  /**
   * Clicks `verb` on `card` as `email` (the button whose ids include `where`, when the card has
   * several) and waits until `until` holds for what the person sees (by default: anything at all).
   */
  click(email: string, card: SeenCard, verb: string, options?: ClickOptions): Promise<Seen>;
  /** Types `text` to Roster (Slack: `/roster <text>`; Teams: a message in the 1:1 chat) and waits until `until` holds. */
  say(email: string, text: string, until?: (seen: Seen) => boolean): Promise<Seen>;
  /**
   * Fills `form` (a prompt, a deny-reason form, the evaluation form) with `values` by input name (a person input takes
   * an e-mail; `*` checks every option of a checkbox or choice input) and submits it as `email`.
   */
  submit(email: string, form: SeenCard, values: Record<string, string>, until?: (seen: Seen) => boolean): Promise<Seen>;
}

export interface ClickOptions {
  until?: (seen: Seen) => boolean;
  /** Ids the button carries (its Slack value, its Teams data), to pick one of several with the same verb. */
  where?: Record<string, string>;
}

/** The ids a button carries: its Slack value (JSON) or its Teams data. */
export function buttonData(card: SeenCard, verb: string, where: Record<string, string> = {}): Record<string, unknown> {
  const all: Array<Record<string, unknown>> = Array.isArray(card.raw.blocks)
    ? actionElements(card.raw.blocks)
        .filter((e) => e.action_id === verb)
        .map((e) => {
          try {
            const value = JSON.parse(String(e.value)) as unknown;
            return value && typeof value === 'object' ? (value as Record<string, unknown>) : { value };
          } catch {
            return { value: e.value };
          }
        })
    : cardButtons(card.raw)
        .filter((b) => b.verb === verb)
        .map((b) => b.data ?? {});
  const found = all.find((data) => Object.entries(where).every(([k, v]) => data[k] === v));
  if (!found) throw new Error(`no ${verb} button with ${JSON.stringify(where)} on the card: ${card.verbs.join(', ')}`);
  return found;
}

const anything = (seen: Seen) => Boolean(seen.card || seen.prompt || seen.followUps.length || seen.updates.length || seen.errors);

/** The words of Block Kit blocks or a modal view: every `text` string in it. */
export function slackText(node: unknown): string {
  const parts: string[] = [];
  const walk = (n: unknown) => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n && typeof n === 'object') {
      for (const [key, value] of Object.entries(n as Record<string, unknown>)) {
        if (key === 'text' && typeof value === 'string') parts.push(value);
        else walk(value);
      }
    }
  };
  walk(node);
  return parts.join('\n');
}

const sameJson = (text: string, json: string): boolean => {
  try {
    return JSON.stringify(JSON.parse(text)) === json;
  } catch {
    return JSON.stringify({ value: text }) === json;
  }
};

/** A modal: the words of its title, blocks and submit button; the ids of its inputs. */
const slackView = (view: Record<string, unknown>): SeenCard => ({
  text: slackText(view),
  verbs: actionElements(view.blocks).map((e) => String(e.action_id)),
  raw: view,
});

const metadataOf = (value: unknown): Record<string, string> => {
  try {
    const parsed = JSON.parse(String(value)) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
};

const slackCard = (blocks: unknown, raw: Record<string, unknown> = { blocks }): SeenCard => ({
  text: slackText(blocks),
  verbs: actionElements(blocks).map((e) => String(e.action_id)),
  raw,
});

/** Clicks in Slack: signed `block_actions` and `view_submission` payloads posted to Bolt's receiver. */
export class SlackClicker implements Clicker {
  readonly platform = 'Slack' as const;
  private seq = 0;

  constructor(
    private readonly slack: FakeSlack,
    private readonly baseUrl: string,
    private readonly person: (email: string) => Person | undefined,
  ) {}

  userId(email: string): string {
    const id = this.person(email)?.slackUserId;
    if (!id) throw new Error(`${email} has no Slack user id in the directory`);
    return id;
  }

  async delivered(email: string, verb: string, text: string, timeoutMs = 20_000): Promise<SeenCard> {
    const userId = this.userId(email);
    const call = await this.slack.waitFor(
      'chat.postMessage',
      (a) =>
        a.channel === userId && (!verb || actionElements(a.blocks).some((e) => e.action_id === verb)) && slackText(a.blocks).includes(text),
      timeoutMs,
    );
    return slackCard(call.args.blocks);
  }

  async sawText(email: string, text: string, timeoutMs = 20_000): Promise<SeenCard> {
    const userId = this.userId(email);
    const dm = `D${userId.slice(1)}`;
    const call = await eventually(
      () =>
        this.slack.calls
          .filter(
            (c) =>
              (c.method === 'chat.postMessage' || c.method === 'chat.update') &&
              (c.args.channel === userId || c.args.channel === dm) &&
              slackText(c.args.blocks).includes(text),
          )
          .at(-1),
      timeoutMs,
    );
    return slackCard(call.args.blocks);
  }

  async click(email: string, card: SeenCard, verb: string, { until = anything, where }: ClickOptions = {}): Promise<Seen> {
    const userId = this.userId(email);
    // The value is sent back exactly as the card carries it.
    const value = JSON.stringify(buttonData(card, verb, where));
    const element = actionElements(card.raw.blocks).find((e) => e.action_id === verb && sameJson(String(e.value), value));
    if (!element) throw new Error(`no ${verb} button on the Slack card: ${card.verbs.join(', ')}`);
    const n = ++this.seq;
    const responseId = `click-${n}`;
    // Each click comes from its own message, so a modal's submit updates that one in place.
    const messageTs = `1700${String(n).padStart(6, '0')}.000100`;
    const mark = this.slack.calls.length;
    const res = await postSlack(
      this.baseUrl,
      interaction(buttonClick(userId, verb, String(element.value), this.slack.responseUrl(responseId), { message_ts: messageTs })),
    );
    if (res.status !== 200) throw new Error(`Slack answered ${res.status} to ${verb}: ${res.text}`);
    return eventually(() => {
      const seen = this.seenSince(userId, mark, responseId);
      return until(seen) && seen;
    }, 20_000);
  }

  async say(email: string, text: string, until = anything): Promise<Seen> {
    const userId = this.userId(email);
    const responseId = `say-${++this.seq}`;
    const mark = this.slack.calls.length;
    const res = await postSlack(this.baseUrl, slashCommand(userId, text, this.slack.responseUrl(responseId)));
    if (res.status !== 200) throw new Error(`Slack answered ${res.status} to /roster ${text}: ${res.text}`);
    return eventually(() => {
      const seen = this.seenSince(userId, mark, responseId);
      return until(seen) && seen;
    }, 20_000);
  }

  async submit(email: string, form: SeenCard, values: Record<string, string>, until = anything): Promise<Seen> {
    const userId = this.userId(email);
    const blocks = (form.raw.blocks ?? []) as Array<{
      block_id?: string;
      element?: { type?: string; action_id?: string; options?: Array<{ value: string }> };
    }>;
    const state: Record<string, Record<string, unknown>> = {};
    for (const [name, value] of Object.entries(values)) {
      const element = blocks.find((b) => b.block_id === name)?.element;
      const type = element?.type;
      if (!element || !type) throw new Error(`no input "${name}" on the Slack modal`);
      const checked = value === '*' ? (element.options ?? []).map((o) => o.value) : value.split(',');
      state[name] = {
        [element.action_id ?? name]:
          type === 'users_select'
            ? { type, selected_user: this.userId(value) }
            : type === 'static_select'
              ? { type, selected_option: { value } }
              : type === 'checkboxes'
                ? { type, selected_options: checked.map((v) => ({ value: v })) }
                : { type, value },
      };
    }
    const mark = this.slack.calls.length;
    const res = await postSlack(this.baseUrl, interaction(viewSubmission(userId, form.raw, state)));
    if (res.status !== 200) throw new Error(`Slack answered ${res.status} to a modal submit: ${res.text}`);
    const ack = res.text ? (JSON.parse(res.text) as { response_action?: string; errors?: Record<string, string> }) : {};
    if (ack.response_action === 'errors') return { followUps: [], updates: [], errors: ack.errors ?? {} };
    // A prompt opened from a message remembers it (channel, ts): the submit updates that message in place.
    const origin = metadataOf(form.raw.private_metadata).ts;
    return eventually(() => {
      const seen = this.seenSince(userId, mark, undefined, origin);
      return until(seen) && seen;
    }, 20_000);
  }

  private seenSince(userId: string, mark: number, responseId?: string, originTs?: string): Seen {
    const dm = `D${userId.slice(1)}`;
    const later = this.slack.calls.slice(mark);
    const responses = responseId ? this.slack.responses.filter((r) => r.id === responseId) : [];
    const replaced =
      responses.filter((r) => r.body.replace_original === true).at(-1)?.body.blocks ??
      (originTs ? later.filter((c) => c.method === 'chat.update' && c.args.ts === originTs).at(-1)?.args.blocks : undefined);
    const opened = later.filter((c) => c.method === 'views.open').at(-1);
    const toUser = (c: SlackCall) => c.args.channel === userId || c.args.channel === dm;
    return {
      ...(replaced ? { card: slackCard(replaced) } : {}),
      ...(opened ? { prompt: slackView(opened.args.view as Record<string, unknown>) } : {}),
      followUps: [
        ...responses.filter((r) => r.body.replace_original !== true).map((r) => slackCard(r.body.blocks)),
        ...later.filter((c) => c.method === 'chat.postMessage' && toUser(c)).map((c) => slackCard(c.args.blocks)),
      ],
      updates: later.filter((c) => c.method === 'chat.update' && toUser(c)).map((c) => slackCard(c.args.blocks)),
    };
  }
}

const teamsCard = (card: Record<string, unknown> | undefined, activityId?: string): SeenCard | undefined =>
  card
    ? {
        text: [cardText(card), ...cardButtons(card).map((b) => b.title)].join('\n'),
        verbs: cardVerbs(card),
        raw: card,
        ...(activityId ? { activityId } : {}),
      }
    : undefined;

/** The verbs that send a form: a card offering only these asks the person for values. */
const FORM_VERBS = new Set(['prompt_submit', 'approval_deny', 'agent_request_submit', 'evaluation_submit', 'access_request_submit']);

const isForm = (card: SeenCard): boolean => card.verbs.length > 0 && card.verbs.every((v) => FORM_VERBS.has(v));

/** Every choice of the card's choice input `id`, comma-separated (how Teams sends a multi-select). */
function allChoices(card: Record<string, unknown>, id: string): string {
  let found: string | undefined;
  const walk = (n: unknown) => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n && typeof n === 'object') {
      const node = n as { type?: unknown; id?: unknown; choices?: Array<{ value: string }> };
      if (node.type === 'Input.ChoiceSet' && node.id === id) found = (node.choices ?? []).map((c) => c.value).join(',');
      Object.values(node).forEach(walk);
    }
  };
  walk(card);
  if (found === undefined) throw new Error(`no choice input "${id}" on the Teams card`);
  return found;
}

/** Clicks in Teams: `invoke` activities named `adaptiveCard/action` posted to the Agents SDK's /api/messages. */
export class TeamsClicker implements Clicker {
  readonly platform = 'Teams' as const;

  constructor(
    private readonly client: TeamsClient,
    private readonly connector: FakeConnector,
    private readonly person: (email: string) => Person | undefined,
  ) {}

  user(email: string) {
    const person = this.person(email);
    if (!person) throw new Error(`${email} is not in the directory`);
    return teamsUser(person);
  }

  async delivered(email: string, verb: string, text: string, timeoutMs = 20_000): Promise<SeenCard> {
    const { conversationId } = this.user(email);
    return eventually(() => {
      for (const post of this.connector.history.filter((c) => c.method === 'POST' && c.conversationId === conversationId).reverse()) {
        const card = teamsCard(FakeConnector.card(post), post.createdId);
        if (card && (!verb || card.verbs.includes(verb)) && card.text.includes(text)) return card;
      }
      return undefined;
    }, timeoutMs);
  }

  async sawText(email: string, text: string, timeoutMs = 20_000): Promise<SeenCard> {
    const { conversationId } = this.user(email);
    return eventually(() => {
      for (const call of this.connector.history.filter((c) => c.conversationId === conversationId).reverse()) {
        const card = teamsCard(FakeConnector.card(call), call.createdId ?? call.activityId);
        if (card && card.text.includes(text)) return card;
      }
      return undefined;
    }, timeoutMs);
  }

  async click(email: string, card: SeenCard, verb: string, { until = anything, where }: ClickOptions = {}): Promise<Seen> {
    return this.execute(email, verb, { ...buttonData(card, verb, where) }, card.activityId, until);
  }

  async say(email: string, text: string, until = anything): Promise<Seen> {
    const user = this.user(email);
    const mark = this.connector.history.length;
    const result = await this.client.message(user, text);
    if (result.status >= 300) throw new Error(`Teams answered ${result.status} to "${text}": ${JSON.stringify(result.body)}`);
    return eventually(() => {
      const seen: Seen = { followUps: [], updates: [] };
      for (const call of this.connector.history.slice(mark).filter((c) => c.conversationId === user.conversationId)) {
        const card = teamsCard(FakeConnector.card(call), call.createdId);
        if (!card) continue;
        if (call.method === 'PUT') seen.updates.push(card);
        else if (isForm(card)) seen.prompt = card;
        else seen.followUps.push(card);
      }
      return until(seen) && seen;
    }, 20_000);
  }

  async submit(email: string, form: SeenCard, values: Record<string, string>, until = anything): Promise<Seen> {
    const submit = cardButtons(form.raw).find((b) => b.type === 'Action.Execute');
    if (!submit?.verb) throw new Error(`no submit button on the Teams form: ${form.text}`);
    const data: Record<string, unknown> = { ...submit.data };
    // The deny form names its reason input in the data it sends back.
    for (const [name, value] of Object.entries(values)) {
      data[name === 'reason' && data.reasonInputId ? String(data.reasonInputId) : name] =
        value === '*' ? allChoices(form.raw, name) : value;
    }
    return this.execute(email, submit.verb, data, form.activityId, until);
  }

  private async execute(
    email: string,
    verb: string,
    data: Record<string, unknown>,
    replyToId: string | undefined,
    until: (seen: Seen) => boolean,
  ): Promise<Seen> {
    const user = this.user(email);
    const mark = this.connector.history.length;
    const result = await this.client.execute(user, verb, data, replyToId ? { replyToId } : {});
    if (result.status !== 200) throw new Error(`Teams answered ${result.status} to ${verb}: ${JSON.stringify(result.body)}`);
    const shown = teamsCard(result.card);
    const asForm = Boolean(shown && isForm(shown));
    return eventually(() => {
      const later = this.connector.history.slice(mark).filter((c) => c.conversationId === user.conversationId);
      const seen: Seen = {
        ...(shown && !asForm ? { card: shown } : {}),
        ...(shown && asForm ? { prompt: shown } : {}),
        followUps: later.filter((c) => c.method === 'POST').flatMap((c) => teamsCard(FakeConnector.card(c), c.createdId) ?? []),
        updates: later.filter((c) => c.method === 'PUT').flatMap((c) => teamsCard(FakeConnector.card(c)) ?? []),
      };
      // A string answer (a note that nothing replaces the card) is shown as a message.
      if (!shown && typeof result.body === 'object' && result.body && typeof (result.body as { value?: unknown }).value === 'string') {
        seen.followUps.push({ text: String((result.body as { value: string }).value), verbs: [], raw: {} });
      }
      return until(seen) && seen;
    }, 20_000);
  }
}

/** A Roster serving one platform, and a clicker for it: one scenario is written once and run on each. */
export interface ClickingRoster {
  roster: Awaited<ReturnType<typeof startTestRoster>>;
  clicker: Clicker;
  stop(): Promise<void>;
}

/** Roster on Slack (Bolt's receiver, the Web API faked on loopback), clicked with a {@link SlackClicker}. */
export async function clickingOnSlack(options: TestRosterOptions = {}): Promise<ClickingRoster> {
  const slack = new FakeSlack();
  await slack.start();
  const roster = await startTestRoster({ ...options, env: { ...options.env, ...slack.rosterEnv() }, channels: [createSlackChannel] });
  return {
    roster,
    clicker: new SlackClicker(slack, roster.baseUrl, (email) => roster.chat.person(email)),
    async stop() {
      await roster.stop();
      await slack.stop();
    },
  };
}

/**
 * Roster on Teams (the Agents SDK, the Bot Connector faked on loopback), clicked with a
 * {@link TeamsClicker}. `installed` have installed Roster, so it may message them (it keeps each
 * conversation reference): by default everyone in the shipped directory with a Teams id.
 */
export async function clickingOnTeams(options: TestRosterOptions = {}, installed?: readonly string[]): Promise<ClickingRoster> {
  const { roster, connector, client, stop } = await startTeamsTestRoster(options);
  const clicker = new TeamsClicker(client, connector, (email) => roster.chat.person(email));
  const people = installed ?? loadOrgConfig(SHIPPED_CONFIG).people.flatMap((p) => (p.teamsAadObjectId ? [p.email] : []));
  for (const email of people) await client.install(clicker.user(email));
  return { roster, clicker, stop };
}

/** An audit entry as `action:email` (the email of the person who acted; empty for Roster or an agent). */
const actionBy = (e: AuditEntry): string => `${e.action}:${e.actor.kind === 'person' ? e.actor.email : ''}`;

/**
 * The agent's audit trail, one `line` per entry, once it holds every one of `wanted`: the outbox
 * appends an entry after the state it records is stored, some after the click has been answered.
 */
export function trailWith(
  roster: ClickingRoster['roster'],
  agentId: string,
  wanted: readonly string[],
  line: (e: AuditEntry) => string = actionBy,
): Promise<string[]> {
  return eventually(async () => {
    const trail = (await roster.services.audit.export({ agentId: asAgentId(agentId) })).map(line);
    return wanted.every((w) => trail.includes(w)) && trail;
  });
}
