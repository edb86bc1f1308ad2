import { existsSync } from 'node:fs';
import path from 'node:path';
import { isIP } from 'node:net';
import { z } from 'zod';
import { ConfigError, displayPath, readYaml } from './org-config.js';
import { validateWithSchema } from './zod-messages.js';
import { isInternalAddress } from '../evals/guarded-http.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../core/webhooks.js';

/*
 * `config/webhooks.yaml`: who receives Roster's signed events. Read once at start-up; anything
 * unsafe (a missing or short secret, plain http in production, an internal host nobody allowed)
 * stops start-up with one line per problem, because a webhook that silently goes nowhere, or to
 * the wrong place, is worse than none.
 */

/** The file name inside the configuration directory. */
export const WEBHOOKS_FILE = 'webhooks.yaml';

const SUBSCRIPTION_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
const ENV_NAME = /^[A-Z][A-Z0-9_]{0,99}$/;

const subscriptionSchema = z
  .object({
    id: z.string().regex(SUBSCRIPTION_ID, 'lower-case letters, digits and dashes, at most 40'),
    url: z.string().min(1).max(2000),
    events: z.array(z.union([z.literal('*'), z.enum(WEBHOOK_EVENT_TYPES as unknown as [WebhookEventType, ...WebhookEventType[]])])).min(1),
    secretEnv: z.string().regex(ENV_NAME, 'the name of an environment variable (upper-case letters, digits, _)'),
    owner: z.email(),
    enabled: z.boolean().default(true),
  })
  .strict();

const fileSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Host names or addresses on an internal network that subscriptions may nevertheless reach. */
    allowPrivateHosts: z.array(z.string().min(1).max(255)).max(50).default([]),
    /** How long a delivery is retried before IT is told, in hours (the spec's 24 by default). */
    retryHours: z.number().positive().max(72).default(24),
    subscriptions: z.array(subscriptionSchema).max(50).default([]),
  })
  .strict();

/** One subscription, its secret resolved from the environment. */
export interface WebhookSubscription {
  id: string;
  url: string;
  /** Short event types (`grant.revoked`); `*` for all. */
  events: ReadonlyArray<WebhookEventType | '*'>;
  /** The `whsec_…` secret; never logged. */
  secret: string;
  secretEnv: string;
  /** The IT owner told (in chat) when deliveries fail for good. */
  owner: string;
}

/** The webhooks configuration in force. */
export interface WebhookConfig {
  subscriptions: WebhookSubscription[];
  allowPrivateHosts: string[];
  /** Retry window in ms. */
  retryWindowMs: number;
  /** Plain http to loopback is allowed (development and tests only). */
  allowLoopbackHttp: boolean;
}

/** Standard Webhooks: `whsec_` + base64 of 24 to 64 random bytes. */
export function secretProblem(secret: string): string | undefined {
  if (!secret.startsWith('whsec_')) return 'must start with whsec_ (a Standard Webhooks secret)';
  const b64 = secret.slice('whsec_'.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return 'must be whsec_ followed by base64';
  const bytes = Buffer.from(b64, 'base64').length;
  if (bytes < 24) return `is too short: ${bytes} bytes after whsec_, at least 24 are required`;
  if (bytes > 64) return `is too long: ${bytes} bytes after whsec_, at most 64 are allowed`;
  return undefined;
}

/**
 * Checks a subscription URL against the delivery policy: https (http only to loopback outside
 * production), no credentials, and no internal address literal unless allowed.
 */
export function urlProblem(raw: string, allowPrivateHosts: readonly string[], allowLoopbackHttp: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a valid URL';
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const loopback = host === 'localhost' || (isIP(host) !== 0 && /^(127\.|::1$)/.test(host));
  if (url.protocol === 'http:') {
    if (!(allowLoopbackHttp && loopback)) return 'must use https (plain http is allowed only to 127.0.0.1 outside production)';
  } else if (url.protocol !== 'https:') return 'must use https';
  if (url.username || url.password) return 'must not carry credentials (the signature authenticates Roster)';
  if (url.hash) return 'must not have a #fragment';
  const allowed = allowPrivateHosts.map((h) => h.toLowerCase()).includes(host) || (allowLoopbackHttp && loopback);
  if (!allowed && (host === 'localhost' || (isIP(host) !== 0 && isInternalAddress(host))))
    return `points at an internal address (${host}); list it under allowPrivateHosts if that is intended`;
  return undefined;
}

/**
 * Reads `<dir>/webhooks.yaml`. Resolves undefined when the file is absent or `enabled: false`.
 * @throws ConfigError listing every problem (one line each).
 */
export function loadWebhookConfig(
  dir: string,
  options: { env: NodeJS.ProcessEnv; production: boolean; people?: ReadonlyArray<{ email: string }> },
): WebhookConfig | undefined {
  const file = path.join(dir, WEBHOOKS_FILE);
  if (!existsSync(file)) return undefined;
  const shown = displayPath(dir, WEBHOOKS_FILE);
  const read = readYaml(file);
  if (!read.ok) throw new ConfigError(read.problems.map((p) => `${shown}: ${p}`));
  const parsed = validateWithSchema(fileSchema, read.data ?? {});
  if (!parsed.ok) throw new ConfigError(parsed.problems.map((p) => `${shown}: ${p}`));
  const data = parsed.data;
  if (!data.enabled) return undefined;
  const allowLoopbackHttp = !options.production;
  const problems: string[] = [];
  const subscriptions: WebhookSubscription[] = [];
  const seen = new Set<string>();
  for (const [i, sub] of data.subscriptions.entries()) {
    const at = `${shown}: subscriptions[${i}] (${sub.id})`;
    if (seen.has(sub.id)) problems.push(`${at}: id is used twice`);
    seen.add(sub.id);
    if (!sub.enabled) continue;
    const badUrl = urlProblem(sub.url, data.allowPrivateHosts, allowLoopbackHttp);
    if (badUrl) problems.push(`${at}: url ${badUrl}`);
    const secret = options.env[sub.secretEnv];
    if (!secret) problems.push(`${at}: secretEnv: the environment variable ${sub.secretEnv} is not set`);
    else {
      const badSecret = secretProblem(secret.trim());
      if (badSecret) problems.push(`${at}: secretEnv: the secret in ${sub.secretEnv} ${badSecret}`);
    }
    const owner = sub.owner.toLowerCase();
    if (options.people && !options.people.some((p) => p.email.toLowerCase() === owner))
      problems.push(`${at}: owner: ${owner} is not in the directory, so nobody would hear of failed deliveries`);
    if (secret)
      subscriptions.push({ id: sub.id, url: sub.url, events: sub.events, secret: secret.trim(), secretEnv: sub.secretEnv, owner });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { subscriptions, allowPrivateHosts: data.allowPrivateHosts, retryWindowMs: data.retryHours * 3_600_000, allowLoopbackHttp };
}
