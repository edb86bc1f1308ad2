import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DispatchSubscription, WebhookObserver, WebhookRepository } from '../core/webhooks.js';

/**
 * Webhook figures in /metrics: deliveries made, failed attempts (retried) and deliveries failed
 * for good (IT owner told) per subscription, the delivery lag (event stored → receiver answered
 * 2xx), and the deliveries failed now (gauge, read from the database at each scrape). Resolves the
 * observer the dispatcher is built with.
 */
export function webhookMetrics(
  registry: Registry,
  subscriptions: readonly DispatchSubscription[],
  repo: WebhookRepository,
): WebhookObserver {
  const delivered = new Counter({
    name: 'roster_webhook_deliveries_total',
    help: 'Webhook deliveries a receiver accepted (2xx), by subscription',
    labelNames: ['subscription'] as const,
    registers: [registry],
  });
  const attemptFailures = new Counter({
    name: 'roster_webhook_attempt_failures_total',
    help: 'Webhook attempts that failed and will be retried with back-off, by subscription',
    labelNames: ['subscription'] as const,
    registers: [registry],
  });
  const failed = new Counter({
    name: 'roster_webhook_deliveries_failed_total',
    help: 'Webhook deliveries that failed for good after the retry window (the IT owner was told), by subscription',
    labelNames: ['subscription'] as const,
    registers: [registry],
  });
  const lag = new Histogram({
    name: 'roster_webhook_delivery_lag_seconds',
    help: 'Time from queuing a webhook event to its receiver accepting it',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 300, 3600, 86400],
    registers: [registry],
  });
  const disabled = new Counter({
    name: 'roster_webhook_subscriptions_disabled_total',
    help: 'Webhook subscriptions disabled because the receiver answered 410 Gone (the IT owner was told), by subscription',
    labelNames: ['subscription'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'roster_webhook_subscription_disabled',
    help: 'Whether a webhook subscription is disabled now (1), waiting for an IT admin to re-enable it, by subscription',
    labelNames: ['subscription'] as const,
    registers: [registry],
    async collect() {
      for (const sub of subscriptions) this.set({ subscription: sub.id }, (await repo.state(sub.id))?.disabledAt ? 1 : 0);
    },
  });
  new Gauge({
    name: 'roster_webhook_failed_deliveries',
    help: 'Webhook deliveries failed now, waiting for Retry, by subscription',
    labelNames: ['subscription'] as const,
    registers: [registry],
    async collect() {
      for (const sub of subscriptions) this.set({ subscription: sub.id }, await repo.countFailed(sub.id));
    },
  });
  return {
    delivered: (subscription, _type, lagMs) => {
      delivered.inc({ subscription });
      lag.observe(lagMs / 1000);
    },
    attemptFailed: (subscription) => attemptFailures.inc({ subscription }),
    failed: (subscription) => failed.inc({ subscription }),
    disabled: (subscription) => disabled.inc({ subscription }),
  };
}
