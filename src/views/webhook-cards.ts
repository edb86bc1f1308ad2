import type { CardOf } from '../cards/view-models.js';
import { displayDate } from '../core/time.js';
import type { WebhookCardFacts, WebhookCards } from '../core/webhooks.js';
import { noticeCard } from './card-builders.js';

/** The IT owner's card of a webhook subscription: disabled (Re-enable), what failed (Retry), or all well. */
export function webhookStatusCard({ subscriptionId, host, state, failed, refused, retryWindowMs }: WebhookCardFacts): CardOf<'notice'> {
  const retried =
    state.retriedBy && state.retriedAt
      ? ` ${state.retriedBy} pressed Retry at ${displayDate(state.retriedAt)} and re-queued ${state.retriedCount ?? 0}.`
      : '';
  const enabled = state.enabledBy && state.enabledAt ? ` ${state.enabledBy} re-enabled it at ${displayDate(state.enabledAt)}.` : '';
  if (state.disabledAt) {
    return noticeCard({
      level: 'error',
      title: `Webhook ${subscriptionId} is disabled`,
      text: `Roster stopped sending to ${host} at ${displayDate(state.disabledAt)}: ${state.disabledReason ?? 'the receiver answered 410 Gone'}. Nothing is lost: events are kept and go out, in order, once the subscription is re-enabled. A restart or a config reload does not re-enable it. Fix the receiver (or point the subscription at its new URL), then press Re-enable (IT admins only).`,
      actions: [{ action: 'webhook_enable', label: 'Re-enable', style: 'primary', value: { subscriptionId } }],
    });
  }
  if (failed === 0) {
    return noticeCard({
      level: 'success',
      title: `Webhook ${subscriptionId}: no failed deliveries`,
      text: `Every event for ${host} is delivered or on its way.${enabled}${retried}`,
    });
  }
  const hours = Math.round(retryWindowMs / 3_600_000);
  const events = (n: number) => (n === 1 ? 'an event' : `${n} events`);
  const why =
    refused.count === 0
      ? `Roster could not deliver ${events(failed)} to ${host} within ${hours} hours of retries.`
      : `Roster could not deliver ${events(failed)} to ${host}: the receiver refused ${
          refused.count === failed ? (failed === 1 ? 'it' : 'them') : refused.count
        } with HTTP ${refused.lastStatus ?? '4xx'}${
          refused.count === failed ? '' : `, and ${failed - refused.count} still failed after ${hours} hours of retries`
        }. A refusal (a 4xx other than 408, 409, 425 or 429) is not retried: sending the same request again would be refused again. Check the receiver's URL, its secret and what it accepts.`;
  return noticeCard({
    level: 'error',
    title: `Webhook ${subscriptionId}: ${failed} ${failed === 1 ? 'delivery' : 'deliveries'} failed`,
    text: `${why} Later events for the same agents wait behind them, so receivers keep each agent's order. Fix the receiver, then press Retry (IT admins only).${retried}`,
    actions: [{ action: 'webhook_retry', label: 'Retry', style: 'primary', value: { subscriptionId } }],
  });
}

/** The core's {@link WebhookCards} port. */
export const webhookCards: WebhookCards = { status: webhookStatusCard };
