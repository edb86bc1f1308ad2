import bolt from '@slack/bolt';
import express from 'express';
import { z } from 'zod';
import type { App as BoltApp, Logger as BoltLogger, RespondFn } from '@slack/bolt';
import type { Person } from '../../config/schemas.js';
import { slackNotificationCard } from '../../cards/form-launchers.js';
import { ACCESS_DATASET, ACCESS_FORM_INPUTS, AGENT_PICKER_INPUT, CARD_ACTIONS } from '../../cards/ids.js';
import type { CardModel } from '../../cards/view-models.js';
import { scrubSecrets, type Logger } from '../../logger.js';
import { parseChatCommand, type ChatService } from '../chat.js';
import { agentDataset, pickPurposeOf } from '../chat-actions.js';
import type { ActionContext } from '../action-table.js';
import type { Channel, ChannelDeps } from '../port.js';
import { DatabaseUnavailableError } from '../../store/database.js';
import { registerActions, SLACK_BUTTON_IDS, SLACK_FORM_IDS, SUBMIT_ACK_BUDGET_MS } from './actions.js';
import { ClickWork, DROPPED_AT_SHUTDOWN } from './click-work.js';
import { RecentDeliveries, SlackDeliveries } from './deliveries.js';
import { metadata } from './forms.js';
import { SlackIdentity, SlackWorkspace } from './identity.js';
import { SlackNotifier, slackMessage } from './notifier.js';
import { publishHomeCard } from './home.js';
import { SlackReplies, type SlackReplyTo } from './replies.js';
import { AlertCheckInChat } from '../chat-alerts-checkins.js';
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
      // The Web API client logs every call at debug (its request body too): with debug off, the
      // line is not even put together (a review card's blocks, stringified, per card sent).
      if (!log.isLevelEnabled('debug')) return;
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
 * Whether a listener handles this delivery: clicks carry an action_id and modal submits a
 * callback_id of the action table; commands, events and everything else go on to Bolt.
 */
function routable(body: Record<string, unknown>): boolean {
  if (typeof body.command === 'string') return body.command === '/roster';
  switch (body.type) {
    case 'block_actions': {
      const actions = Array.isArray(body.actions) ? (body.actions as Array<{ action_id?: unknown }>) : [];
      return actions.some((a) => typeof a?.action_id === 'string' && SLACK_BUTTON_IDS.has(a.action_id));
    }
    case 'view_submission': {
      const view = body.view as { callback_id?: unknown } | undefined;
      return typeof view?.callback_id === 'string' && SLACK_FORM_IDS.has(view.callback_id);
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

/** Timing of the Slack channel that is not configuration (a test sets it small). */
export interface SlackChannelOptions {
  /** How long a modal submit may take before it is acknowledged without its outcome (2 s by default). */
  submitAckBudgetMs?: number;
}

/**
 * The Slack app (Bolt 5): `/roster` commands, buttons, modals and App Home, on the shared HTTP
 * server at POST /slack/events, or over Socket Mode when SLACK_APP_TOKEN is set. Every listener
 * acknowledges first and works after; business rules are the command API's.
 */
export async function createSlackChannel(deps: ChannelDeps, options: SlackChannelOptions = {}): Promise<Channel | undefined> {
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
  await deliveries.ensureIndexes();
  const work = new ClickWork({ concurrency: env.ROSTER_CLICK_CONCURRENCY });
  const replies = new SlackReplies(chat, identity, log);
  register(app, { chat, identity, deliveries, log, workspace, work, replies });
  const ctx: ActionContext = {
    bus: deps.services.bus,
    chat,
    supervision: new AlertCheckInChat(org, deps.services.supervision, deps.services.bus),
    waitsForAnswer: false,
    formsInCards: false,
  };
  registerActions(app, { ctx, identity, replies, work, log, submitAckBudgetMs: options.submitAckBudgetMs ?? SUBMIT_ACK_BUDGET_MS });

  return {
    name: 'slack',
    notifier,
    ...(receiver ? { mount: { path: '/', handler: withFreshTimestamps(receiver.router, log) } } : {}),
    async start() {
      if (socketMode) await app.start();
    },
    idle: () => work.onIdle(),
    async stop() {
      // Deliveries still waiting when the shutdown grace ran out are dropped: they were acknowledged,
      // so Slack does not send them again, and their people are told to try again.
      if (work.size > 0) log.warn({ dropped: work.size }, 'Roster stopped before working on some acknowledged Slack clicks');
      await work.clear();
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
  /** Where acknowledged deliveries are worked on, a few at once, yielding to acknowledgements. */
  work: ClickWork;
  replies: SlackReplies;
}

/** What the person of an acknowledged delivery a shutdown dropped before working on it is told. */

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
  const { chat, identity, deliveries, log, work, replies } = deps;
  const recent = new RecentDeliveries();

  // Acknowledge first, then work. A click, command or event carries nothing in its acknowledgement,
  // so it is acknowledged before any database write (Slack shows a time-out and retries after 3 s),
  // and its work waits its turn in `work` (bounded concurrency, and fewer at once while deliveries
  // are being acknowledged), so acknowledgements never queue behind decisions. A modal submit answers with field errors or the next view, which depend on
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
      work.acknowledged();
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
    // Told at most once that nothing was done: by a shutdown that dropped the delivery, or when the database does not answer.
    let toldToRetry = false;
    const tellToRetry = async (title: string, message: string) => {
      const userId = slackUserOf(body);
      if (toldToRetry || !userId) return;
      toldToRetry = true;
      const respond = (args as unknown as { respond?: RespondFn }).respond;
      await replies
        .privately({ client: args.client, userId, respond }, chat.notice('warning', title, message))
        .catch((e: unknown) => log.error({ err: e }, 'could not tell a person that Roster did nothing with their delivery'));
    };
    // From its acknowledgement on, a delivery is the queue's, while its key is written too: a
    // shutdown waits for it, or drops it and tells its person to try again (Slack sends no retry).
    const accepted = acksFirst ? work.accept(() => tellToRetry(DROPPED_AT_SHUTDOWN.title, DROPPED_AT_SHUTDOWN.message)) : undefined;
    try {
      if (acksFirst) await ack();
      let first: boolean;
      try {
        first = await deliveries.first(key, undefined, acksFirst ? SlackDeliveries.ACKNOWLEDGED_PATIENCE_MS : undefined);
      } catch (err) {
        recent.forget(key);
        await ack();
        if (accepted?.dropped) return;
        log.error({ err, type: body.type }, 'the database does not answer: a Slack delivery was acknowledged but not handled');
        await tellToRetry(DatabaseUnavailableError.userTitle, DatabaseUnavailableError.userMessage);
        return;
      }
      if (accepted?.dropped) return;
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
          await replies
            .privately({ client: args.client, userId, respond }, explanation)
            .catch((e: unknown) => log.warn({ err: e }, 'could not explain an interaction Roster does not handle'));
        }
        return;
      }
      // Per-person rate limit: a friendly "slow down" instead of acting (Bolt answers 200 either way).
      const actor = slackUserOf(body);
      const slowDown = actor ? chat.slowDown(`slack:${actor}`) : undefined;
      if (actor && slowDown) {
        await ack();
        const respond = (args as unknown as { respond?: RespondFn }).respond;
        await replies
          .privately({ client: args.client, userId: actor, respond }, slowDown)
          .catch((e: unknown) => log.warn({ err: e }, 'could not ask a person to slow down'));
        return;
      }
      // The listeners of acknowledged deliveries do not acknowledge again (Bolt refuses a second ack).
      if (!accepted) return args.next();
      await accepted.work(() => args.next());
    } finally {
      accepted?.done();
    }
  });

  /**
   * The answer to typed words that is not a form. `home` is Slack's App Home tab, which a message
   * cannot hold: Home is published with it and the reply points there.
   */
  const answerPrivately = async (to: SlackReplyTo, card: CardModel, channel?: string) => {
    if (card.kind === 'home') {
      await publishHomeCard(to.client, to.userId, card, await identity.readerTime(to.userId));
      const pointer = chat.notice(
        'info',
        'Your dashboard is on the Home tab',
        "It is up to date now: open Roster under Apps in Slack's sidebar and choose Home.",
      );
      return replies.privately(to, pointer, channel);
    }
    return replies.privately(to, card, channel);
  };

  app.command('/roster', async ({ command, client, respond }) => {
    const to = { client, userId: command.user_id, respond };
    await replies.asPerson(to, async (person) => {
      const reply = await chat.run(person, parseChatCommand(command.text));
      if (reply.form) await replies.openModal(to, command.trigger_id, reply.card);
      else await answerPrivately(to, reply.card);
    });
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
    const to = { client, userId: dm.user, channel: dm.channel };
    await replies.asPerson(to, async (person) => {
      const reply = await chat.run(person, parseChatCommand(dm.text));
      const card = reply.form ? formInDirectMessage(chat, person, reply.card, dm.text) : reply.card;
      await answerPrivately(to, card, dm.channel);
    });
  });

  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab && event.tab !== 'home') return;
    try {
      await replies.home({ client, userId: event.user }, await identity.person(event.user));
    } catch (err) {
      log.error({ err }, 'could not publish the App Home');
    }
  });

  app.error(async (err) => {
    log.error({ err }, 'unhandled error in a Slack listener');
  });
}
