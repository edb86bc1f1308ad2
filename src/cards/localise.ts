import { formatInZone, localiseText, replaceDisplayedDates, slackDateToken } from '../core/time.js';
import type { CardPlatform } from './errors.js';

/** Who a rendered card is for, as far as time is concerned. */
export interface CardTime {
  /** The reader's IANA time zone; for a card many people see, the organisation's. */
  zone: string;
}

/*
 * Keys whose values are data, not text people read (button payloads, ids, URLs, form values):
 * their subtrees are left exactly as rendered.
 */
const DATA_KEYS = new Set([
  'value',
  'private_metadata',
  'action_id',
  'block_id',
  'callback_id',
  'external_id',
  'url',
  'initial_value',
  'data',
  'verb',
  'id',
  'userIds',
  'refresh',
]);

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function walk(node: Json, text: (s: string, mrkdwn: boolean) => string, mrkdwn = false, fact = false): Json {
  if (typeof node === 'string') return text(node, mrkdwn);
  if (Array.isArray(node)) return node.map((item) => walk(item, text, false, fact));
  if (node === null || typeof node !== 'object') return node;
  const isMrkdwn = node.type === 'mrkdwn';
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) {
    // An Adaptive Card fact's `value` is text people read; elsewhere `value` is a payload.
    const data = key === 'type' || (DATA_KEYS.has(key) && !(fact && key === 'value'));
    out[key] = data ? value : walk(value, text, isMrkdwn && key === 'text', key === 'facts');
  }
  return out;
}

/**
 * Shows every instant in a rendered card to its reader. Slack mrkdwn gets Slack's date token
 * (each client shows its own user's local time; the fallback is in the reader's zone), other
 * Slack text and every Teams text the reader's zone, named. Payloads and ids are untouched.
 *
 * `dateTokens: false` writes the reader's zone into Slack mrkdwn too, for a modal: it is opened
 * for one person whose zone Slack reported, so their zone reads the same as a token would, and
 * Slack's documentation shows date tokens in messages, not modals, so a modal never risks
 * showing a raw `<!date^…>`.
 */
export function localiseCard<T>(platform: CardPlatform, json: T, time: CardTime, options: { dateTokens?: boolean } = {}): T {
  const inZone = (at: Date) => formatInZone(at, time.zone);
  const tokens = platform === 'slack' && options.dateTokens !== false;
  return walk(json as Json, (s, mrkdwn) =>
    replaceDisplayedDates(s, (at) => (tokens && mrkdwn ? slackDateToken(at, inZone(at)) : inZone(at))),
  ) as T;
}

/**
 * Field errors shown under a form's inputs (a Slack modal's `response_action: errors`), each
 * instant in the reader's zone, named: Slack shows them as plain text.
 */
export function localiseFieldErrors(errors: Readonly<Record<string, string>>, time: CardTime): Record<string, string> {
  return Object.fromEntries(Object.entries(errors).map(([field, message]) => [field, localiseText(message, time.zone)]));
}
