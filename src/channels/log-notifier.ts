import type { Logger } from '../logger.js';
import type { MessageRef, Notifier, OutgoingCard } from '../core/notifications.js';

/**
 * The notifier used when neither Slack nor Teams is configured: nothing is lost silently, every
 * card that could not be delivered is logged for IT (kind and recipient, never the card's data).
 */
export class LogNotifier implements Notifier {
  constructor(private readonly log: Logger) {}

  async send(recipient: string, card: OutgoingCard): Promise<MessageRef | undefined> {
    this.log.warn({ recipient, kind: card.kind }, 'no chat channel is configured: card not delivered');
    return undefined;
  }

  async update(_ref: MessageRef, card: OutgoingCard): Promise<void> {
    this.log.debug({ kind: card.kind }, 'no chat channel is configured: card update skipped');
  }
}
