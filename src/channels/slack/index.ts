import bolt from '@slack/bolt';
import express from 'express';
import PQueue from 'p-queue';
import { z } from 'zod';
import type { AllMiddlewareArgs, App as BoltApp, Logger as BoltLogger, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Person } from '../../config/schemas.js';
import { renderCard } from '../../cards/render.js';
import { localiseFieldErrors } from '../../cards/localise.js';
import { slackNotificationCard } from '../../cards/form-launchers.js';
import { ACCESS_DATASET, ACCESS_FORM_INPUTS, AGENT_PICKER_INPUT, CARD_ACTIONS, DENY_REASON_INPUT } from '../../cards/ids.js';
import type { CardModel } from '../../cards/view-models.js';
import { scrubSecrets, type Logger } from '../../logger.js';
import { DENY_REASON_NEEDED } from '../../core/commands.js';
import { parseChatCommand, type ChatReply, type ChatService, type FindFormValues } from '../chat.js';
import { AccessChat } from '../chat-access.js';
import { agentDataset, pickPurposeOf } from '../chat-actions.js';
import type { Channel, ChannelDeps } from '../port.js';
import { DatabaseUnavailableError } from '../../store/database.js';
import { RecentDeliveries, SlackDeliveries } from './deliveries.js';
import {
  evaluationErrorsToBlocks,
  findErrorToBlocks,
  readFindForm,
  readEvaluationForm,
  readRequestForm,
  requestErrorsToBlocks,
  viewSubmissionSchema,
  metadata,
} from './forms.js';
import { SlackIdentity, SlackWorkspace } from './identity.js';
import { SlackNotifier, slackMessage } from './notifier.js';
import { clickedOnHome, FROM_HOME_KEY, publishHome as publishHomeOf, publishHomeCard } from './home.js';
import { registerSupervisionListeners } from './supervision.js';
import { SupervisionChat } from '../chat-supervision.js';
import { SLACK_RETRY_CONFIG } from '../retry.js';

const { App, ExpressReceiver, LogLevel } = bolt;

/**
 * Debug lines of Slack's libraries that carry a whole request, response or incoming payload: a
 * message Roster sends may hold a secret shown once (an agent's telemetry key), and what a person
 * submits may hold one they typed (an evaluation endpoint's secret), so neither may reach the log.
 * The Web API client's request body and result; Socket Mode's raw incoming message (and the one
 * it cannot parse) and its acknowledgement's data; Bolt's acknowledgement body; Bolt's dump of a
 * whole incoming body (developer mode: a line that is JSON).
 */
const PAYLOAD_LINE =
  /^(http (request body|request result|response body)\b|Received a message on the WebSocket|Unable to parse an incoming WebSocket message|Calling ack\(\)|ack\(\) (call begins|response stored|response sent) \(body|[{[])/;

/**
 * Bolt's logger interface on top of pino, so Bolt's own lines land in Roster's log with redaction:
 * lines carrying a payload are dropped (debug only: errors and warnings never carry one) and every
 * other line is scrubbed of anything that looks like a credential, as logged errors are.
 */
export function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const line = (m: unknown[]) => scrubSecrets(m.map(String).join(' '));
  return {
    debug: (...m: unknown[]) => {
      const text = m.map(String).join(' ');
      if (!PAYLOAD_LINE.test(text)) log.debug(scrubSecrets(text));
    },
    info: (...m: unknown[]) => log.info(line(m)),
    warn: (...m: unknown[]) => log.warn(line(m)),
    error: (...m: unknown[]) => log.error(line(m)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

/** `{"runId","stepId"}` from a button value written by our own templates; anything else is empty. */
function buttonIds(value: unknown): { runId?: string; stepId?: string; agentId?: string } {
  try {
    const parsed = JSON.parse(String(value)) as Record<string, unknown>;
    const pick = (k: string) => (typeof parsed[k] === 'string' ? (parsed[k] as string) : undefined);
    return { runId: pick('runId'), stepId: pick('stepId'), agentId: pick('agentId') };
  } catch {
    return {};
  }
}

/**
 * A direct message a person sent to the app (the Messages tab), as the Events API delivers it
 * (`message.im`): a plain message of a person, not the bot's own, an edit, a deletion or a join.
 */
const directMessageSchema = z.object({
  type: z.literal('message'),
  channel_type: z.literal('im'),
  channel: z.string().regex(/^D[A-Z0-9]{2,30}$/),
  user: z.string().regex(/^[UW][A-Z0-9]{2,30}$/),
  text: z.string().max(40_000).default(''),
  subtype: z.undefined().optional(),
  bot_id: z.undefined().optional(),
});

/** The direct message in an event delivery, when it is one Roster answers. */
function directMessageOf(body: Record<string, unknown>): z.output<typeof directMessageSchema> | undefined {
  if (body.type !== 'event_callback') return undefined;
  const parsed = directMessageSchema.safeParse(body.event);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Who acted: a slash command's `user_id`, an interaction's `user.id`, or the sender of a direct
 * message (other events, such as opening App Home, are nobody's action).
 */
function slackUserOf(body: Record<string, unknown>): string | undefined {
  const user = body.user as { id?: unknown } | undefined;
  const id = body.user_id ?? user?.id ?? directMessageOf(body)?.user;
  return typeof id === 'string' && id ? id : undefined;
}

const CARD_ACTION_IDS = new Set<string>(Object.values(CARD_ACTIONS));

/** The external selects Roster answers as the person types: a form's agent picker and the access form's target. */
const SUGGESTION_ACTION_IDS: ReadonlySet<string> = new Set([AGENT_PICKER_INPUT, ACCESS_FORM_INPUTS.target.slack]);

/** A `block_suggestion` (an external select asking for options), as Roster reads it. */
const blockSuggestionSchema = z
  .object({
    type: z.literal('block_suggestion'),
    user: z.object({ id: z.string().regex(/^[UW][A-Z0-9]{2,30}$/) }).loose(),
    action_id: z.string().max(255),
    value: z.string().max(2000).default(''),
    view: z.object({ callback_id: z.string().max(255), private_metadata: z.string().max(3000).default('') }).loose(),
  })
  .loose();

/** The dataset an external select searches: the access form's pairs, or the agents of a prompt's picker. */
function suggestionDataset(suggestion: z.output<typeof blockSuggestionSchema>): string | undefined {
  const { callback_id: callbackId, private_metadata: meta } = suggestion.view;
  if (suggestion.action_id === ACCESS_FORM_INPUTS.target.slack && callbackId === CARD_ACTIONS.accessRequestSubmit) return ACCESS_DATASET;
  if (suggestion.action_id !== AGENT_PICKER_INPUT || callbackId !== CARD_ACTIONS.promptSubmit) return undefined;
  const purpose = pickPurposeOf(metadata(meta).promptVerb ?? '');
  return purpose ? agentDataset(purpose) : undefined;
}

/** Slack's option text and description hold 75 characters. */
function optionText(text: string): { type: 'plain_text'; text: string } {
  const line = text.replace(/\s+/g, ' ').trim();
  return { type: 'plain_text', text: line.length > 75 ? `${line.slice(0, 74)}…` : line || '—' };
}

/**
 * Whether a listener handles this delivery: clicks carry a known action_id, modal submits a
 * known callback_id; commands, events and everything else go on to Bolt.
 */
function routable(body: Record<string, unknown>): boolean {
  if (typeof body.command === 'string') return body.command === '/roster';
  switch (body.type) {
    case 'block_actions': {
      const actions = Array.isArray(body.actions) ? (body.actions as Array<{ action_id?: unknown }>) : [];
      return actions.some((a) => typeof a?.action_id === 'string' && CARD_ACTION_IDS.has(a.action_id));
    }
    case 'view_submission': {
      const view = body.view as { callback_id?: unknown } | undefined;
      return typeof view?.callback_id === 'string' && CARD_ACTION_IDS.has(view.callback_id);
    }
    case 'event_callback':
    case 'url_verification':
    case 'app_rate_limited':
      return true;
    default:
      // Shortcuts, view_closed, block_suggestion, legacy interactive messages, shapes Slack never
      // sends: nothing listens.
      return false;
  }
}

const findPageSchema = z.object({ q: z.string().max(500).default(''), page: z.coerce.number().int().min(1).max(1000).default(1) });

/** `{"q","page"}` from a `find` paging button; anything else is the first page of everything. */
function findPageOf(value: unknown): { q: string; page: number } {
  try {
    const parsed = findPageSchema.safeParse(JSON.parse(String(value)));
    return parsed.success ? parsed.data : { q: '', page: 1 };
  } catch {
    return { q: '', page: 1 };
  }
}

/**
 * A form asked for in a direct message: Slack opens a modal only from a click or a command, so
 * the answer is the message with the button that opens it (the role's catalog entry for a
 * request, the launcher a sent form has), else a pointer to the same words as `/roster`.
 */
function formInDirectMessage(chat: ChatService, person: Person, card: CardModel, words: string): CardModel {
  if (card.kind === 'request-form') return chat.catalog(person, 'Open the request form:', card.data.roleId);
  const launcher = slackNotificationCard(card);
  if (launcher) return launcher;
  return chat.notice(
    'info',
    'This one opens a form',
    `Slack opens forms from a command or a button, not from a message: type \`/roster ${words.trim().slice(0, 200)}\` and the form opens.`,
  );
}

/** `{"grantId"}` from a grant card's button value. */
function grantIdOf(value: unknown): string {
  try {
    const parsed = JSON.parse(String(value)) as Record<string, unknown>;
    return typeof parsed.grantId === 'string' ? parsed.grantId : '';
  } catch {
    return '';
  }
}

/** `{"grantId","reviewId"}` from an access review card's button value. */
function reviewIdsOf(value: unknown): { grantId: string; reviewId: string } {
  try {
    const parsed = JSON.parse(String(value)) as Record<string, unknown>;
    return { grantId: String(parsed.grantId ?? ''), reviewId: String(parsed.reviewId ?? '') };
  } catch {
    return { grantId: '', reviewId: '' };
  }
}

/**
 * The Slack app (Bolt 5): `/roster` commands, buttons, modals and App Home, on the shared HTTP
 * server at POST /slack/events, or over Socket Mode when SLACK_APP_TOKEN is set. Every listener
 * acknowledges first and works after; business rules are the command API's.
 */
export async function createSlackChannel(deps: ChannelDeps): Promise<Channel | undefined> {
  const { env, org, chat, connection } = deps;
  const log = deps.log.child({ channel: 'slack' });
  const token = env.SLACK_BOT_TOKEN;
  const socketMode = Boolean(env.SLACK_APP_TOKEN);
  if (!token || (!socketMode && !env.SLACK_SIGNING_SECRET)) {
    log.info('Slack is not configured (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, or SLACK_APP_TOKEN for Socket Mode)');
    return undefined;
  }
  const clientOptions = { retryConfig: SLACK_RETRY_CONFIG, ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL } : {}) };
  const logger = boltLogger(log);
  let receiver: InstanceType<typeof ExpressReceiver> | undefined;
  let app: BoltApp;
  if (socketMode) {
    app = new App({ token, appToken: env.SLACK_APP_TOKEN, socketMode: true, clientOptions, logger, deferInitialization: true });
  } else {
    receiver = new ExpressReceiver({
      signingSecret: env.SLACK_SIGNING_SECRET!,
      endpoints: '/slack/events',
      logger,
      processBeforeResponse: false,
      // A signed delivery Bolt cannot route (a malformed shape) is the client's error: 400, and
      // Slack is asked not to retry it. Bolt's default answers 500.
      processEventErrorHandler: async ({ error, response }) => {
        if (response.headersSent) return false;
        log.warn({ err: error }, 'a Slack delivery could not be processed');
        response.writeHead(400, { 'X-Slack-No-Retry': '1' });
        response.end();
        return false;
      },
    });
    app = new App({ token, receiver, clientOptions, logger, deferInitialization: true });
  }
  await app.init();

  const workspace = new SlackWorkspace(app.client, env.SLACK_ALLOWED_TEAM_IDS, log);
  await workspace.teamIds().catch(() => undefined);
  const directory = deps.services.directory;
  const identity = new SlackIdentity(org, app.client, log, directory ? (id, email) => directory.link('slack', id, email) : undefined);
  const notifier = new SlackNotifier(app.client, identity, org);
  const deliveries = new SlackDeliveries(connection);
  const work = new PQueue({ concurrency: env.ROSTER_CLICK_CONCURRENCY });
  register(app, { chat, identity, deliveries, log, workspace, work });
  registerSupervisionListeners(app, {
    chat,
    identity,
    supervision: new SupervisionChat(org, deps.services.supervision, deps.services.agents, deps.services.engine),
  });

  return {
    name: 'slack',
    notifier,
    ...(receiver ? { mount: { path: '/', handler: withFreshTimestamps(receiver.router, log) } } : {}),
    async start() {
      if (socketMode) await app.start();
    },
    idle: () => work.onIdle(),
    async stop() {
      // Clicks still waiting when the shutdown grace ran out are dropped: they were acknowledged,
      // so Slack does not send them again, and their cards still offer the buttons.
      if (work.size > 0) log.warn({ dropped: work.size }, 'Roster stopped before working on some acknowledged Slack clicks');
      work.clear();
      if (socketMode) await app.stop();
    },
  };
}

interface ListenerDeps {
  chat: ChatService;
  identity: SlackIdentity;
  deliveries: SlackDeliveries;
  log: Logger;
  workspace: SlackWorkspace;
  /** Where acknowledged deliveries are worked on, a few at once. */
  work: PQueue;
}

/** How far in the future a request timestamp may be: Slack's window is five minutes either way. */
const MAX_CLOCK_AHEAD_S = 5 * 60;

/**
 * Bolt refuses a request timestamped more than five minutes in the past but not one in the
 * future, so a request signed with a future timestamp (by anyone who once held the secret, or
 * under a skewed clock) would stay replayable until that time comes. It is refused here, before
 * Bolt, with the same 401 as a stale one.
 */
function withFreshTimestamps(router: express.Router, log: Logger): express.Router {
  const guarded = express.Router();
  guarded.post('/slack/events', (req, res, next) => {
    const header = req.headers['x-slack-request-timestamp'];
    const ts = Number(Array.isArray(header) ? header[0] : header);
    if (Number.isFinite(ts) && ts > Date.now() / 1000 + MAX_CLOCK_AHEAD_S) {
      log.warn({ aheadS: Math.round(ts - Date.now() / 1000) }, 'refused a Slack request timestamped in the future');
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    next();
  });
  guarded.use(router);
  return guarded;
}

/** Registers every listener, by surface. */
function register(app: BoltApp, deps: ListenerDeps): void {
  const { chat, identity, deliveries, log, work } = deps;
  const recent = new RecentDeliveries();

  /**
   * A card only the acting person sees, in their zone: ephemeral where Slack gave a response_url,
   * else a message in `channel` (their DM with the app unless a DM's own channel is given).
   */
  const replyPrivately = async (client: WebClient, userId: string, respond: RespondFn | undefined, card: CardModel, channel = userId) => {
    const message = slackMessage(card, await identity.readerTime(userId));
    if (respond) {
      try {
        await respond({ response_type: 'ephemeral', replace_original: false, blocks: message.blocks as never, text: message.text });
        return;
      } catch (err) {
        log.warn({ err }, 'response_url failed; sending a direct message instead');
      }
    }
    await client.chat.postMessage({ channel, blocks: message.blocks as never, text: message.text });
  };

  /** The clicked message, replaced by `card` in the clicker's zone (through the click's response_url). */
  const replaceClicked = async (respond: RespondFn, userId: string, card: CardModel) => {
    const message = slackMessage(card, await identity.readerTime(userId));
    await respond({ replace_original: true, blocks: message.blocks as never, text: message.text });
  };

  // Acknowledge first, then work. A click, command or event carries nothing in its acknowledgement,
  // so it is acknowledged before any database write (Slack shows a time-out and retries after 3 s),
  // and its work waits its turn in `work` (bounded concurrency), so acknowledgements never queue
  // behind decisions. A modal submit answers with field errors or the next view, which depend on
  // its work: it is acknowledged by its listener, after its delivery key is stored.
  // Exactly once: a repeat seen by this process is dropped before anything else (in memory); the
  // delivery's unique key, written right after the acknowledgement and before any work, drops a
  // repeat another replica (or this one, after a restart) handled. A process dying between the
  // acknowledgement and that write loses the click: its card still shows the buttons.
  // When the database does not answer, the person is told to try again.
  app.use(async (args) => {
    const body = args.body as unknown as Record<string, unknown>;
    const boltAck = (args as unknown as { ack?: () => Promise<void> }).ack;
    let acked = false;
    const ack = async () => {
      if (acked || !boltAck) return;
      acked = true;
      await boltAck();
    };
    // People of another workspace (a second install, a Slack Connect channel shared with another
    // organisation) are not in Roster's directory, whatever their user id or e-mail says.
    const outsiders = await deps.workspace.outsiderTeams(body).catch((err: unknown) => {
      log.error({ err }, 'could not learn which Slack workspace Roster serves; the delivery was refused');
      return ['unknown'];
    });
    if (outsiders.length > 0) {
      log.warn({ teams: outsiders, type: body.type }, 'refused a Slack delivery from another workspace');
      await ack();
      const respond = (args as unknown as { respond?: RespondFn }).respond;
      if (respond && (typeof body.command === 'string' || body.type === 'block_actions')) {
        const message = slackMessage(
          chat.notice(
            'warning',
            'Roster is not available to you',
            'Roster serves the people of its own Slack workspace. If you work here, use Roster from your own workspace account.',
          ),
        );
        await respond({ response_type: 'ephemeral', replace_original: false, blocks: message.blocks as never, text: message.text }).catch(
          (err: unknown) => log.warn({ err }, 'could not tell a person from another workspace why Roster refused'),
        );
      }
      return;
    }
    // A picker's search as the person types: read-only and asked again on every keystroke (the
    // same words twice are two questions), so it is never de-duplicated; it has its own rate limit
    // and is answered by its listener within the acknowledgement.
    if (body.type === 'block_suggestion') {
      const actor = slackUserOf(body);
      const actionId = (body as { action_id?: unknown }).action_id;
      if (!actor || typeof actionId !== 'string' || !SUGGESTION_ACTION_IDS.has(actionId) || chat.searchTooFast(`slack:${actor}`)) {
        await (boltAck as unknown as ((response: unknown) => Promise<void>) | undefined)?.({ options: [] });
        return;
      }
      return args.next();
    }
    const key = SlackDeliveries.keyOf(body);
    if (!recent.add(key)) {
      log.info({ retryNum: args.context.retryNum, type: body.type }, 'duplicate Slack delivery ignored');
      await ack();
      return;
    }
    const acksFirst = body.type !== 'view_submission';
    if (acksFirst) await ack();
    let first: boolean;
    try {
      first = await deliveries.first(key, undefined, acksFirst ? SlackDeliveries.ACKNOWLEDGED_PATIENCE_MS : undefined);
    } catch (err) {
      recent.forget(key);
      log.error({ err, type: body.type }, 'the database does not answer: a Slack delivery was acknowledged but not handled');
      await ack();
      const userId = slackUserOf(body);
      if (userId) {
        const respond = (args as unknown as { respond?: RespondFn }).respond;
        await replyPrivately(
          args.client,
          userId,
          respond,
          chat.notice('warning', DatabaseUnavailableError.userTitle, DatabaseUnavailableError.userMessage),
        ).catch((e: unknown) => log.error({ err: e }, 'could not tell the person that Roster is unavailable'));
      }
      return;
    }
    if (!first) {
      log.info({ retryNum: args.context.retryNum, type: body.type }, 'duplicate Slack delivery ignored');
      await ack();
      return;
    }
    // A click or form no listener knows (a card from an older version, a forged payload) would
    // wait for Bolt's 3-second timeout and fail silently: it is acknowledged and explained at once.
    if (!routable(body)) {
      log.info({ type: body.type }, 'a Slack interaction no listener handles was acknowledged');
      await ack();
      const userId = slackUserOf(body);
      const respond = (args as unknown as { respond?: RespondFn }).respond;
      const explanation =
        typeof body.command === 'string'
          ? chat.notice('warning', 'Not a Roster command', 'Roster answers `/roster`: try `/roster help`.')
          : body.type === 'block_actions'
            ? chat.notice('warning', 'That button no longer works', 'This card is out of date. Send "help" to see what Roster can do.')
            : undefined;
      if (userId && explanation) {
        await replyPrivately(args.client, userId, respond, explanation).catch((e: unknown) =>
          log.warn({ err: e }, 'could not explain an interaction Roster does not handle'),
        );
      }
      return;
    }
    // Per-person rate limit: a friendly "slow down" instead of acting (Bolt answers 200 either way).
    const actor = slackUserOf(body);
    const slowDown = actor ? chat.slowDown(`slack:${actor}`) : undefined;
    if (actor && slowDown) {
      await ack();
      await replyPrivately(args.client, actor, (args as unknown as { respond?: RespondFn }).respond, slowDown).catch((e: unknown) =>
        log.warn({ err: e }, 'could not ask a person to slow down'),
      );
      return;
    }
    // The listeners of acknowledged deliveries do not acknowledge again (Bolt refuses a second ack).
    if (!acksFirst) return args.next();
    return work.add(() => args.next());
  });

  /** Opens `card` as a modal for `userId`, its times in their zone; `remember` goes into its private_metadata. */
  const openModal = async (client: WebClient, userId: string, triggerId: string, card: CardModel, remember?: Record<string, string>) => {
    const rendered = renderCard('slack', card, await identity.readerTime(userId));
    if (rendered.surface === 'message') throw new Error(`${card.kind} is not a modal`);
    const view = rendered.view as { private_metadata?: string };
    if (remember) view.private_metadata = JSON.stringify({ ...metadata(view.private_metadata ?? ''), ...remember });
    await client.views.open({ trigger_id: triggerId, view: view as never });
  };

  /** A modal submit's field errors, in the acknowledgement, their times in the submitter's zone. */
  const fieldErrors = async (userId: string, errors: Readonly<Record<string, string>>) =>
    ({ response_action: 'errors', errors: localiseFieldErrors(errors, await identity.readerTime(userId)) }) as const;

  const publishHome = async (client: WebClient, userId: string, person: Person | undefined) =>
    publishHomeOf(chat, client, userId, person, await identity.readerTime(userId));
  const publishHomeWith = async (client: WebClient, userId: string, person: Person, found: CardModel) =>
    publishHomeOf(chat, client, userId, person, await identity.readerTime(userId), found);

  /**
   * Runs a listener body for a known person; unknown people and failures get a friendly private
   * card (in `channel`, a DM's own, when given).
   */
  const asPerson = async (
    args: Pick<AllMiddlewareArgs, 'client'> & { userId: string; respond?: RespondFn; channel?: string },
    work: (person: Person) => Promise<void>,
  ): Promise<void> => {
    const tell = (card: CardModel) => replyPrivately(args.client, args.userId, args.respond, card, args.channel);
    const person = await identity.person(args.userId);
    try {
      if (!person) return void (await tell(chat.unknownPersonCard()));
      await work(person);
    } catch (err) {
      await tell(chat.errorCard(err, { slackUserId: args.userId })).catch((e: unknown) =>
        log.error({ err: e }, 'could not tell the person about an error'),
      );
    }
  };

  /** What typed words ask for, the same in `/roster` and a DM: `access` with arguments missing is the access form. */
  const answerWords = async (person: Person, words: string): Promise<ChatReply> => {
    const parsed = parseChatCommand(words);
    const accessForm = parsed.name === 'access' ? await chat.access.form(person, parsed) : undefined;
    return accessForm ? { card: accessForm, form: true } : chat.run(person, parsed);
  };

  /**
   * The answer to typed words that is not a form. `home` is Slack's App Home tab, which a message
   * cannot hold: Home is published with it and the reply points there.
   */
  const answerPrivately = async (client: WebClient, userId: string, respond: RespondFn | undefined, card: CardModel, channel?: string) => {
    if (card.kind === 'home') {
      await publishHomeCard(client, userId, card, await identity.readerTime(userId));
      const pointer = chat.notice(
        'info',
        'Your dashboard is on the Home tab',
        "It is up to date now: open Roster under Apps in Slack's sidebar and choose Home.",
      );
      return replyPrivately(client, userId, respond, pointer, channel);
    }
    return replyPrivately(client, userId, respond, card, channel);
  };

  app.command('/roster', async ({ command, client, respond }) => {
    await asPerson({ client, userId: command.user_id, respond }, async (person) => {
      const reply = await answerWords(person, command.text);
      if (reply.form) await openModal(client, command.user_id, command.trigger_id, reply.card);
      else await answerPrivately(client, command.user_id, respond, reply.card);
    });
  });

  app.action(CARD_ACTIONS.catalogRequest, async ({ body, action, client, respond }) => {
    const userId = body.user.id;
    await asPerson({ client, userId, respond }, async (person) => {
      const roleId = 'value' in action ? String(action.value ?? '') : '';
      const reply = chat.requestForm(person, roleId);
      if (reply.form && 'trigger_id' in body) await openModal(client, userId, body.trigger_id, reply.card);
      else await replyPrivately(client, userId, respond, reply.card);
    });
  });

  // Previous / Next on a `find` result: the next page replaces the card the person clicked (on
  // App Home, Home is published again with that page).
  app.action(CARD_ACTIONS.findPage, async ({ body, action, client, respond }) => {
    const userId = body.user.id;
    await asPerson({ client, userId, respond }, async (person) => {
      const { q, page } = findPageOf('value' in action ? action.value : undefined);
      const card = await chat.find(person, q, page);
      if (clickedOnHome(body)) return void (await publishHomeWith(client, userId, person, card));
      await replaceClicked(respond, userId, card);
    });
  });

  // Find agents… on App Home opens the find form; its results are shown on Home.
  app.action(CARD_ACTIONS.findOpen, async ({ body, client, respond }) => {
    await asPerson({ client, userId: body.user.id, respond }, async () => {
      if ('trigger_id' in body) await openModal(client, body.user.id, body.trigger_id, chat.findForm());
    });
  });

  app.view(CARD_ACTIONS.findSubmit, async ({ ack, body, client }) => {
    const parsed = viewSubmissionSchema.safeParse(body);
    if (!parsed.success) return void (await ack());
    const userId = parsed.data.user.id;
    const person = await identity.person(userId);
    if (!person) {
      await ack();
      return void (await replyPrivately(client, userId, undefined, chat.unknownPersonCard()));
    }
    const { sponsorSlackId, ...form } = readFindForm(parsed.data.view.state.values);
    const sponsor = sponsorSlackId ? ((await identity.person(sponsorSlackId))?.email ?? `<@${sponsorSlackId}>`) : undefined;
    const values: FindFormValues = { ...form, sponsor };
    // Answered within the acknowledgement: a bad filter is marked on its field, as Slack shows errors.
    let result: Awaited<ReturnType<ChatService['findFromForm']>>;
    try {
      result = await chat.findFromForm(person, values);
    } catch (err) {
      await ack();
      return void (await replyPrivately(client, userId, undefined, chat.errorCard(err, { slackUserId: userId })));
    }
    if (!result.ok) return void (await ack(await fieldErrors(userId, findErrorToBlocks(result.field, result.error))));
    await ack();
    await asPerson({ client, userId }, async () => publishHomeWith(client, userId, person, result.card));
  });

  app.action(CARD_ACTIONS.approvalApprove, async ({ body, action, client, respond }) => {
    const userId = body.user.id;
    await asPerson({ client, userId, respond }, async (person) => {
      const ids = buttonIds('value' in action ? action.value : undefined);
      // The engine updates every approver's card in place; App Home is republished for the clicker.
      await chat.decide(person, { runId: ids.runId ?? '', stepId: ids.stepId ?? '', decision: 'approve' });
      if (clickedOnHome(body)) await publishHome(client, userId, person);
    });
  });

  app.action(CARD_ACTIONS.approvalDeny, async ({ body, action, client, respond }) => {
    const userId = body.user.id;
    await asPerson({ client, userId, respond }, async (person) => {
      const ids = buttonIds('value' in action ? action.value : undefined);
      const card = await chat.denyForm(person, ids.runId ?? '', ids.stepId ?? '');
      if (!('trigger_id' in body)) return;
      // Opened from App Home: the modal remembers it, so its submit republishes Home without the decided request.
      await openModal(client, userId, body.trigger_id, card, clickedOnHome(body) ? { [FROM_HOME_KEY]: '1' } : undefined);
    });
  });

  app.action(CARD_ACTIONS.evaluationOpen, async ({ body, action, client, respond }) => {
    const userId = body.user.id;
    await asPerson({ client, userId, respond }, async (person) => {
      const ids = buttonIds('value' in action ? action.value : undefined);
      const reply = await chat.evaluationForm(person, ids.agentId ?? '');
      if (reply.form && 'trigger_id' in body) await openModal(client, userId, body.trigger_id, reply.card);
      else await replyPrivately(client, userId, respond, reply.card);
    });
  });

  const grantButtons = [
    [CARD_ACTIONS.grantExtend, 'extend'],
    [CARD_ACTIONS.grantLetExpire, 'let-expire'],
    [CARD_ACTIONS.grantRevoke, 'revoke'],
    [CARD_ACTIONS.grantConfirm, 'confirm'],
  ] as const;
  for (const [actionId, grantAction] of grantButtons) {
    app.action(actionId, async ({ action, client, respond, body }) => {
      const userId = body.user.id;
      await asPerson({ client, userId, respond }, async (person) => {
        const grantId = grantIdOf('value' in action ? action.value : undefined);
        const { card, reply } = await chat.access.click(person, grantAction, grantId);
        await replaceClicked(respond, userId, card).catch((err: unknown) => log.warn({ err }, 'could not update the grant card in place'));
        if (reply) await replyPrivately(client, userId, undefined, reply);
      });
    });
  }

  const reviewButtons = [
    [CARD_ACTIONS.reviewKeep, 'keep'],
    [CARD_ACTIONS.reviewRevoke, 'revoke'],
  ] as const;
  for (const [actionId, answer] of reviewButtons) {
    app.action(actionId, async ({ action, client, respond, body }) => {
      const userId = body.user.id;
      await asPerson({ client, userId, respond }, async (person) => {
        const ids = reviewIdsOf('value' in action ? action.value : undefined);
        const card = await chat.access.reviewClick(person, answer, ids.grantId, ids.reviewId);
        await replaceClicked(respond, userId, card).catch((err: unknown) =>
          log.warn({ err }, 'could not update the access review card in place'),
        );
      });
    });
  }

  app.view(CARD_ACTIONS.agentRequestSubmit, async ({ ack, body, client }) => {
    const parsed = viewSubmissionSchema.safeParse(body);
    if (!parsed.success) {
      await ack();
      return;
    }
    const userId = parsed.data.user.id;
    const person = await identity.person(userId);
    if (!person) {
      await ack();
      await replyPrivately(client, userId, undefined, chat.unknownPersonCard());
      return;
    }
    const form = readRequestForm(parsed.data.view.state.values, parsed.data.view.private_metadata);
    const sponsors = await Promise.all(form.sponsorSlackIds.map(async (id) => (await identity.person(id))?.email ?? `slack:${id}`));
    const values = { ...form, sponsors };
    const errors = await chat.checkRequest(values, person);
    if (Object.keys(errors).length > 0) {
      await ack(await fieldErrors(userId, requestErrorsToBlocks(errors)));
      return;
    }
    await ack();
    await work.add(() =>
      asPerson({ client, userId }, async () => {
        const result = await chat.submitRequest(person, values);
        if (!result.ok) {
          await replyPrivately(
            client,
            userId,
            undefined,
            chat.notice('warning', 'Your request was not sent', Object.values(result.errors).join(' ')),
          );
        }
      }),
    );
  });

  app.view(CARD_ACTIONS.accessRequestSubmit, async ({ ack, body, client }) => {
    const parsed = viewSubmissionSchema.safeParse(body);
    if (!parsed.success) {
      await ack();
      return;
    }
    const userId = parsed.data.user.id;
    const state = parsed.data.view.state.values;
    const field = (name: string) => state[name]?.[name];
    const values = {
      targetId: field(ACCESS_FORM_INPUTS.target.slack)?.selected_option?.value ?? '',
      duration: field(ACCESS_FORM_INPUTS.duration.slack)?.value ?? '',
      reason: field(ACCESS_FORM_INPUTS.reason.slack)?.value ?? '',
    };
    const errors: Partial<Record<'target' | 'duration' | 'reason', string>> = { ...AccessChat.checkForm(values) };
    // The pair is client data: an agent the form would not offer, or a scope Roster does not know, is marked on the field.
    const person = errors.target ? undefined : await identity.person(userId);
    const refusal = person ? await chat.access.targetRefusal(person, values.targetId).catch(() => undefined) : undefined;
    if (refusal) errors.target = refusal;
    if (Object.keys(errors).length > 0) {
      const blocks: Record<string, string> = {};
      for (const [name, message] of Object.entries(errors)) blocks[ACCESS_FORM_INPUTS[name as keyof typeof errors].slack] = message;
      await ack(await fieldErrors(userId, blocks));
      return;
    }
    await ack();
    await work.add(() =>
      asPerson({ client, userId }, async (person) => {
        await replyPrivately(client, userId, undefined, await chat.access.submitForm(person, values));
      }),
    );
  });

  app.view(CARD_ACTIONS.evaluationSubmit, async ({ ack, body, client }) => {
    const parsed = viewSubmissionSchema.safeParse(body);
    if (!parsed.success) {
      await ack();
      return;
    }
    const userId = parsed.data.user.id;
    const values = readEvaluationForm(parsed.data.view.state.values, parsed.data.view.private_metadata);
    const missing = chat.checkEvaluation(values);
    if (Object.keys(missing).length > 0) {
      await ack(await fieldErrors(userId, evaluationErrorsToBlocks(missing)));
      return;
    }
    await ack();
    await work.add(() =>
      asPerson({ client, userId }, async (person) => {
        const result = await chat.submitEvaluation(person, {
          ...values,
          accuracy: Number(values.accuracy),
          p95LatencyMs: Number(values.p95LatencyMs),
          costPerTaskUsd: Number(values.costPerTaskUsd),
        });
        await replyPrivately(
          client,
          userId,
          undefined,
          result.ok ? result.reply.card : chat.notice('warning', 'Evaluation not recorded', Object.values(result.errors).join(' ')),
        );
      }),
    );
  });

  app.view(CARD_ACTIONS.approvalDenySubmit, async ({ ack, body, client }) => {
    const parsed = viewSubmissionSchema.safeParse(body);
    if (!parsed.success) {
      await ack();
      return;
    }
    const reason = parsed.data.view.state.values[DENY_REASON_INPUT.slack]?.[DENY_REASON_INPUT.slack]?.value?.trim() ?? '';
    if (!reason) {
      await ack(await fieldErrors(parsed.data.user.id, { [DENY_REASON_INPUT.slack]: DENY_REASON_NEEDED }));
      return;
    }
    await ack();
    const userId = parsed.data.user.id;
    const meta = metadata(parsed.data.view.private_metadata);
    await work.add(() =>
      asPerson({ client, userId }, async (person) => {
        // The engine updates every approver's card in place; App Home is republished when the form came from it.
        await chat.decide(person, { runId: meta.runId ?? '', stepId: meta.stepId ?? '', decision: 'deny', comment: reason });
        if (meta[FROM_HOME_KEY]) await publishHome(client, userId, person);
      }),
    );
  });

  // External selects ask for options as the person types (the agent picker of a form with more
  // agents than a list holds, the access form's pairs): answered in the acknowledgement, from
  // what this person may pick, never from the view's own claims.
  for (const actionId of SUGGESTION_ACTION_IDS) {
    app.options(actionId, async ({ body, ack }) => {
      const parsed = blockSuggestionSchema.safeParse(body);
      const dataset = parsed.success ? suggestionDataset(parsed.data) : undefined;
      const person = parsed.success && dataset ? await identity.person(parsed.data.user.id).catch(() => undefined) : undefined;
      if (!parsed.success || !dataset || !person) return void (await ack({ options: [] }));
      try {
        const found = await chat.search(person, dataset, parsed.data.value);
        await ack({
          options: found.slice(0, 100).map((c) => ({
            text: optionText(c.label),
            value: c.value,
            ...(c.detail ? { description: optionText(c.detail) } : {}),
          })),
        });
      } catch (err) {
        log.warn({ err }, 'a picker search failed');
        await ack({ options: [] });
      }
    });
  }

  // Direct messages to the app are answered like `/roster`: the same words, person and rules. A
  // DM has no trigger id, so a form is offered by a button that opens it, or by the command.
  app.event('message', async ({ body, client }) => {
    const dm = directMessageOf(body as unknown as Record<string, unknown>);
    if (!dm) return;
    await asPerson({ client, userId: dm.user, channel: dm.channel }, async (person) => {
      const reply = await answerWords(person, dm.text);
      const card = reply.form ? formInDirectMessage(chat, person, reply.card, dm.text) : reply.card;
      await answerPrivately(client, dm.user, undefined, card, dm.channel);
    });
  });

  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab && event.tab !== 'home') return;
    try {
      await publishHome(client, event.user, await identity.person(event.user));
    } catch (err) {
      log.error({ err }, 'could not publish the App Home');
    }
  });

  app.error(async (err) => {
    log.error({ err }, 'unhandled error in a Slack listener');
  });
}
