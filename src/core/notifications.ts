/**
 * The channel-agnostic notification port. The core asks to send "a card of a kind with data"
 * to a person (by e-mail); the Slack and Teams adapters pick the person's channel, render the
 * card and return a reference that lets the core update the same message later.
 */
export interface OutgoingCard {
  kind: string;
  data: Record<string, unknown>;
}

/** Opaque, JSON-serialisable reference to a sent message (channel, conversation, message id). */
export type MessageRef = Record<string, unknown> & { channel: string };

export interface Notifier {
  /** Sends to one person; resolves undefined when the person cannot be reached on any channel. */
  send(recipient: string, card: OutgoingCard): Promise<MessageRef | undefined>;
  /** Replaces a message sent earlier with a new rendering. */
  update(ref: MessageRef, card: OutgoingCard): Promise<void>;
  /** The IANA zone a person reads times in, when a channel or the directory knows it. */
  timeZoneOf?(recipient: string): Promise<string | undefined>;
}
