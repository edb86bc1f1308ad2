import type { OrgConfig } from '../config/schemas.js';
import { peopleWithRole } from '../config/directory.js';
import type { MessageRef, Notifier, OutgoingCard } from './notifications.js';
import type { ParkedHandler } from './outbox.js';
import type { DueEffect, EffectPerformer } from './ports.js';

/** The outbox effect that sends one card to one person, once. */
export const CHAT_SEND_EFFECT = 'chat.send';

/** Data of a {@link CHAT_SEND_EFFECT}. */
export interface ChatSend {
  to: string;
  card: OutgoingCard;
  /** Not urgent (a reminder, a review): it waits for the recipient's working hours. Pages never are. */
  quiet?: boolean;
}

/** Remembers which effect sent which message, so a card is posted once (then only updated). */
export interface CardDeliveries {
  /**
   * Claims the delivery with this id: `sent` when it went out already, `busy` when another writer
   * claimed it after `staleBefore`, `claimed` when the caller may send it.
   */
  claim(id: string, now: Date, staleBefore: Date): Promise<'sent' | 'busy' | 'claimed'>;
  /** `claim` for many deliveries, with one write when none was claimed before. */
  claimMany(ids: readonly string[], now: Date, staleBefore: Date): Promise<Map<string, 'sent' | 'busy' | 'claimed'>>;
  /** Records the message a claimed delivery became (or that nobody could be reached). */
  sent(id: string, to: string, ref: MessageRef | undefined): Promise<void>;
  /** `sent` for many deliveries, in one write. */
  sentMany(items: ReadonlyArray<{ id: string; to: string; ref: MessageRef | undefined }>): Promise<void>;
  /**
   * Gives up a claim whose send failed, so that the retry may send at once. Only the claim taken at
   * `claimedAt` is given up: a writer that took it over meanwhile keeps its own.
   */
  release(id: string, claimedAt: Date): Promise<void>;
}

/**
 * Sends a claimed card; a failed send gives its claim back. Kept, the claim would make every
 * retry within the lease find the delivery "busy" and spend an attempt without sending.
 */
export async function sendClaimed<R>(send: () => Promise<R>, release: () => Promise<void>): Promise<R> {
  try {
    return await send();
  } catch (err) {
    await release().catch(() => undefined);
    throw err;
  }
}

/**
 * Sends the card once per effect: the delivery is claimed before sending and recorded after, so
 * performing the effect again (a crash after sending) finds it. A process that died between the
 * send and the record leaves a claim that is taken over after the lease: the one case of a second
 * card, and why the guarantee is stated as at least once.
 */
export function chatSendPerformer(deps: {
  notifier: Notifier;
  deliveries: CardDeliveries;
  leaseMs: number;
  clock?: () => Date;
}): EffectPerformer<ChatSend> {
  const clock = deps.clock ?? (() => new Date());
  return {
    type: CHAT_SEND_EFFECT,
    async perform({ to, card }, { effectId }) {
      const now = clock();
      const claim = await deps.deliveries.claim(effectId, now, new Date(now.getTime() - deps.leaseMs));
      if (claim === 'sent') return;
      if (claim === 'busy') throw new Error('another writer is sending this card');
      const ref = await sendClaimed(
        () => deps.notifier.send(to, card),
        () => deps.deliveries.release(effectId, now),
      );
      await deps.deliveries.sent(effectId, to, ref);
    },
    async performMany(items, { concurrency }) {
      const now = clock();
      const claims = await deps.deliveries.claimMany(
        items.map((i) => i.effectId),
        now,
        new Date(now.getTime() - deps.leaseMs),
      );
      const performed = new Set<string>();
      const sent: Array<{ id: string; to: string; ref: MessageRef | undefined }> = [];
      const mine = items.filter((i) => {
        const claim = claims.get(i.effectId);
        if (claim === 'sent') performed.add(i.effectId);
        return claim === 'claimed';
      });
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(Math.max(1, concurrency), mine.length) }, async () => {
          while (next < mine.length) {
            const { data, effectId } = mine[next++]!;
            try {
              const ref = await sendClaimed(
                () => deps.notifier.send(data.to, data.card),
                () => deps.deliveries.release(effectId, now),
              );
              sent.push({ id: effectId, to: data.to, ref });
            } catch {
              // Left in its outbox: the worker sends it again, counting the attempt.
            }
          }
        }),
      );
      await deps.deliveries.sentMany(sent);
      for (const { id } of sent) performed.add(id);
      return performed;
    },
  };
}

/**
 * Tells every IT admin in chat about an effect that reached the retry limit; `card` (the views'
 * parkedEffectCard) words it, with the command that retries it.
 */
export function parkedEffectNotice(org: OrgConfig, notifier: Notifier, card: (parked: DueEffect) => OutgoingCard): ParkedHandler {
  return async (parked) => {
    const notice = card(parked);
    for (const admin of peopleWithRole(org, 'it-admin')) await notifier.send(admin.email, notice).catch(() => undefined);
  };
}
