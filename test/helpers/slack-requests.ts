import { createHmac } from 'node:crypto';

export const SIGNING_SECRET = 'test-signing-secret-8f742231b10e8888abcd99';

/** Slack's v0 signature: HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the signing secret. */
export function sign(body: string, timestamp = Math.floor(Date.now() / 1000), secret = SIGNING_SECRET): Record<string, string> {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature };
}

export interface SlackPost {
  body: string;
  headers: Record<string, string>;
}

/** A slash command as Slack sends it: form-encoded, content type exactly application/x-www-form-urlencoded. */
export function slashCommand(
  userId: string,
  text: string,
  responseUrl: string,
  triggerId = `trg_${Math.random().toString(36).slice(2)}`,
): SlackPost {
  const body = new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: 'TBRIGHT',
    team_domain: 'brightwater',
    channel_id: 'CGENERAL',
    channel_name: 'general',
    user_id: userId,
    user_name: userId.toLowerCase(),
    command: '/roster',
    text,
    api_app_id: 'AROSTER',
    response_url: responseUrl,
    trigger_id: triggerId,
  }).toString();
  return { body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...sign(body) } };
}

/** An interaction: the JSON payload in a form field `payload`. */
export function interaction(payload: Record<string, unknown>): SlackPost {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return { body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...sign(body) } };
}

/** The `app_home_opened` event (Home tab) as Slack's Events API sends it, signed. */
export function appHomeOpened(userId: string): SlackPost {
  const body = JSON.stringify({
    token: 'legacy-verification-token',
    team_id: 'TBRIGHT',
    api_app_id: 'AROSTER',
    type: 'event_callback',
    event_id: `Ev${Math.random().toString(36).slice(2, 12).toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
    event: { type: 'app_home_opened', user: userId, channel: `D${userId.slice(1)}`, tab: 'home', event_ts: `${Date.now() / 1000}` },
  });
  return { body, headers: { 'content-type': 'application/json', ...sign(body) } };
}

let actionCounter = 0;

/** A block_actions payload for one button click on a message. */
export function buttonClick(
  userId: string,
  actionId: string,
  value: string,
  responseUrl?: string,
  container: Record<string, unknown> = {},
): Record<string, unknown> {
  actionCounter += 1;
  return {
    type: 'block_actions',
    user: { id: userId, username: userId.toLowerCase(), team_id: 'TBRIGHT' },
    api_app_id: 'AROSTER',
    token: 'legacy-verification-token',
    team: { id: 'TBRIGHT', domain: 'brightwater' },
    trigger_id: `trg_click_${Date.now()}_${actionCounter}`,
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: `D${userId.slice(1)}`, is_ephemeral: false, ...container },
    channel: { id: `D${userId.slice(1)}`, name: 'directmessage' },
    ...(responseUrl ? { response_url: responseUrl } : {}),
    actions: [
      {
        type: 'button',
        action_id: actionId,
        block_id: 'actions',
        value,
        action_ts: `${Date.now() / 1000}${actionCounter}`,
        text: { type: 'plain_text', text: actionId },
      },
    ],
  };
}

/** A view_submission payload for a modal Roster opened. */
export function viewSubmission(
  userId: string,
  view: Record<string, unknown>,
  values: Record<string, Record<string, unknown>>,
): Record<string, unknown> {
  actionCounter += 1;
  return {
    type: 'view_submission',
    team: { id: 'TBRIGHT', domain: 'brightwater' },
    user: { id: userId, username: userId.toLowerCase(), team_id: 'TBRIGHT' },
    api_app_id: 'AROSTER',
    token: 'legacy-verification-token',
    trigger_id: `trg_submit_${Date.now()}_${actionCounter}`,
    view: {
      id: `V${actionCounter}`,
      team_id: 'TBRIGHT',
      type: 'modal',
      callback_id: view.callback_id,
      private_metadata: view.private_metadata ?? '',
      state: { values },
      hash: `h${actionCounter}`,
    },
  };
}

/**
 * A block_suggestion payload: an external select in a modal Roster opened asks for options as the
 * person types `value` (Slack sends the whole view, with its callback_id and private_metadata).
 */
export function blockSuggestion(userId: string, view: Record<string, unknown>, actionId: string, value: string): Record<string, unknown> {
  actionCounter += 1;
  return {
    type: 'block_suggestion',
    user: { id: userId, username: userId.toLowerCase(), name: userId.toLowerCase(), team_id: 'TBRIGHT' },
    container: { type: 'view', view_id: `V${actionCounter}` },
    api_app_id: 'AROSTER',
    token: 'legacy-verification-token',
    action_id: actionId,
    block_id: actionId,
    value,
    team: { id: 'TBRIGHT', domain: 'brightwater' },
    enterprise: null,
    is_enterprise_install: false,
    view: {
      id: `V${actionCounter}`,
      team_id: 'TBRIGHT',
      type: 'modal',
      blocks: view.blocks ?? [],
      private_metadata: view.private_metadata ?? '',
      callback_id: view.callback_id,
      state: { values: {} },
      hash: `h${actionCounter}`,
    },
  };
}

/** POSTs to Roster's Slack endpoint; extra headers (retries) are merged. */
export async function postSlack(
  baseUrl: string,
  post: SlackPost,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${baseUrl}/slack/events`, { method: 'POST', headers: { ...post.headers, ...extraHeaders }, body: post.body });
  return { status: res.status, text: await res.text() };
}

let eventCounter = 0;

/**
 * A `message.im` event (a direct message to the app, the Messages tab) as Slack's Events API
 * sends it, signed; `event` overrides fields (a `bot_id`, a `subtype` such as `message_changed`).
 */
export function directMessage(userId: string, text: string, event: Record<string, unknown> = {}): SlackPost {
  eventCounter += 1;
  const ts = `${Math.floor(Date.now() / 1000)}.${String(eventCounter).padStart(6, '0')}`;
  const body = JSON.stringify({
    token: 'legacy-verification-token',
    team_id: 'TBRIGHT',
    api_app_id: 'AROSTER',
    event: { type: 'message', channel: `D${userId.slice(1)}`, user: userId, text, ts, event_ts: ts, channel_type: 'im', ...event },
    type: 'event_callback',
    event_id: `Ev${Date.now().toString(36).toUpperCase()}${eventCounter}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: 'TBRIGHT', user_id: 'UROSTERBOT', is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
  });
  return { body, headers: { 'content-type': 'application/json', ...sign(body) } };
}
