import { assertMayRetryWebhooks } from '../../core/policies.js';
import type { WebhookDispatcher } from '../../core/webhooks.js';
import type { OutgoingCard } from '../../core/notifications.js';
import type { CommandHandler } from '../handler.js';

/** What Retry and Re-enable on a webhook card need: the dispatcher. */
export interface WebhookActionDeps {
  webhooks: Pick<WebhookDispatcher, 'retry' | 'enable'>;
}

/**
 * Retry and Re-enable on a webhook subscription's card: IT admins, refused before the subscription
 * is looked up. Every door reaches the dispatcher's Retry and Re-enable through this command: the rule is asked here only.
 */
export function webhookActionHandler(deps: WebhookActionDeps): CommandHandler<'webhook.act', undefined, OutgoingCard> {
  return {
    load: async () => undefined,
    authorise: (actor, _subject, { action }) => assertMayRetryWebhooks(actor, action),
    handle: (actor, { subscriptionId, action }) =>
      action === 'retry' ? deps.webhooks.retry(actor.email, subscriptionId) : deps.webhooks.enable(actor.email, subscriptionId),
  };
}
