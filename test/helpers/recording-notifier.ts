import type { MessageRef, Notifier, OutgoingCard } from '../../src/core/notifications.js';

export interface SentMessage {
  ref: MessageRef;
  to: string;
  /** Every version of the card, the first as sent and then each update. */
  versions: OutgoingCard[];
}

/** The notification port as a recorder: what each person would have in their chat. */
export class RecordingNotifier implements Notifier {
  readonly messages: SentMessage[] = [];
  private next = 1;

  async send(to: string, card: OutgoingCard): Promise<MessageRef> {
    const ref: MessageRef = { channel: 'test', id: `m${this.next++}` };
    this.messages.push({ ref, to, versions: [structuredClone(card)] });
    return ref;
  }

  async update(ref: MessageRef, card: OutgoingCard): Promise<void> {
    const message = this.messages.find((m) => m.ref.id === ref.id);
    if (!message) throw new Error(`update of unknown message ${String(ref.id)}`);
    message.versions.push(structuredClone(card));
  }

  /** Messages to a person, optionally of one kind, with their latest version. */
  to(person: string, kind?: string): Array<{ ref: MessageRef; card: OutgoingCard }> {
    return this.messages
      .filter((m) => m.to === person && (!kind || m.versions[0]!.kind === kind))
      .map((m) => ({ ref: m.ref, card: m.versions.at(-1)! }));
  }

  ofKind(kind: string): SentMessage[] {
    return this.messages.filter((m) => m.versions[0]!.kind === kind);
  }
}
