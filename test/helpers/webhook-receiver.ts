import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HTTP, type CloudEvent } from 'cloudevents';
import { Webhook } from 'standardwebhooks';
import { loadWebhookConfig, type WebhookConfig } from '../../src/config/webhooks.js';
import { people } from './harness.js';

/*
 * A webhook receiver written with code Roster did not write: every request is verified with the
 * `standardwebhooks` package (Webhook.verify: signature and the 5-minute timestamp window) and
 * parsed with the `cloudevents` package (HTTP.toEvent). It answers what the test scripts.
 */

/** One request the receiver got. */
export interface ReceivedWebhook {
  webhookId: string;
  /** Verified by Webhook.verify. */
  verified: boolean;
  verifyError?: string;
  /** The CloudEvent, when the body parsed as one. */
  event?: CloudEvent<Record<string, unknown>>;
  /** The status the receiver answered. */
  answered: number;
  headers: Record<string, string>;
  body: string;
  /** When the request's body had arrived (ms since the epoch). */
  receivedAt: number;
}

/** A fresh Standard Webhooks secret (`whsec_` + base64 of 32 random bytes). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** Decides the status of each request (after verification); 200 by default. */
  respond: (req: ReceivedWebhook, index: number) => number = () => 200;
  /** What a request that fails verification is answered: 400 (as a receiver refusing it would), or e.g. 503 for a receiver that is down. */
  unverifiedStatus = 400;
  private server?: http.Server;
  private readonly webhook: Webhook;

  constructor(readonly secret: string) {
    this.webhook = new Webhook(secret);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/hooks`;
  }

  /** Requests that verified and were answered 2xx (what a receiver acts on), deduplicated by webhook-id. */
  accepted(): ReceivedWebhook[] {
    const seen = new Set<string>();
    return this.received.filter((r) => {
      if (!r.verified || r.answered >= 300 || seen.has(r.webhookId)) return false;
      seen.add(r.webhookId);
      return true;
    });
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        const record: ReceivedWebhook = {
          webhookId: headers['webhook-id'] ?? '',
          verified: false,
          answered: 0,
          headers,
          body,
          receivedAt: Date.now(),
        };
        try {
          this.webhook.verify(body, headers);
          record.verified = true;
        } catch (err) {
          record.verifyError = (err as Error).message;
        }
        try {
          record.event = HTTP.toEvent({ headers, body }) as CloudEvent<Record<string, unknown>>;
        } catch {
          // Left without an event: the test sees it.
        }
        record.answered = record.verified ? this.respond(record, this.received.length) : this.unverifiedStatus;
        this.received.push(record);
        res.writeHead(record.answered, { 'content-type': 'text/plain' }).end(record.verified ? 'ok' : 'bad signature');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Writes a webhooks.yaml into a fresh directory and loads it as Roster does at start-up. */
export function webhookConfigFor(
  yaml: string,
  env: Record<string, string>,
  options: { production?: boolean; people?: ReadonlyArray<{ email: string }> } = {},
): WebhookConfig | undefined {
  const dir = mkdtempSync(path.join(tmpdir(), 'roster-webhooks-'));
  writeFileSync(path.join(dir, 'webhooks.yaml'), yaml);
  return loadWebhookConfig(dir, { env, production: options.production ?? false, ...(options.people ? { people: options.people } : {}) });
}

/**
 * A started receiver and a configuration with one subscription to it (`id`, `events` as written
 * in YAML, owned by `owner`), whose secret is read from the environment as in production.
 */
export async function receiverWithSubscription(options: {
  id: string;
  events: string;
  owner: string;
  respond?: WebhookReceiver['respond'];
  unverifiedStatus?: number;
}): Promise<{ receiver: WebhookReceiver; webhooks: WebhookConfig }> {
  const receiver = new WebhookReceiver(newWebhookSecret());
  await receiver.start();
  if (options.respond) receiver.respond = options.respond;
  if (options.unverifiedStatus !== undefined) receiver.unverifiedStatus = options.unverifiedStatus;
  return { receiver, webhooks: subscriptionTo(receiver, options) };
}

/** A receiver gone for good (410 to every verified request), subscribed as `it-feed` to alert.opened, owned by Aisha (IT admin). */
export function goneReceiver(): ReturnType<typeof receiverWithSubscription> {
  return receiverWithSubscription({ id: 'it-feed', events: '[alert.opened]', owner: people.aisha, respond: () => 410 });
}

/**
 * A receiver that is down, subscribed as `siem` to alert.opened, owned by Aisha (IT admin): it
 * answers 503 whatever it gets (a 4xx refusal would not be retried for 24 hours).
 */
export function downReceiver(): ReturnType<typeof receiverWithSubscription> {
  return receiverWithSubscription({ id: 'siem', events: '[alert.opened]', owner: people.aisha, respond: () => 503, unverifiedStatus: 503 });
}

/** The configuration of one subscription to `receiver` (see {@link receiverWithSubscription}). */
export function subscriptionTo(receiver: WebhookReceiver, options: { id: string; events: string; owner: string }): WebhookConfig {
  const yaml = [
    'enabled: true',
    'subscriptions:',
    `  - id: ${options.id}`,
    `    url: ${receiver.url}`,
    `    events: ${options.events}`,
    '    secretEnv: ROSTER_TEST_WEBHOOK_SECRET',
    `    owner: ${options.owner}`,
    '',
  ].join('\n');
  const config = webhookConfigFor(yaml, { ROSTER_TEST_WEBHOOK_SECRET: receiver.secret });
  if (!config) throw new Error('the webhook configuration did not load');
  return config;
}
