import type { OrgConfig } from '../../config/schemas.js';
import { findPersonByEmail } from '../../config/directory.js';
import type { CardModel } from '../../cards/view-models.js';
import type { OutgoingCard } from '../../core/notifications.js';
import type { ConversationStore, TeamsConversationRef } from '../../store/conversation-store.js';

/** The most users an Adaptive Card's `refresh.userIds` may name (Teams refreshes for at most 60). */
const MAX_REFRESH_USERS = 60;

/**
 * Fills a card's Teams-only parts before it is rendered for Teams: an approval card's
 * `refresh.userIds` must name users by their Teams user id (`29:…`), the `from.id` of their
 * activities, which Roster stores with each conversation reference; an Entra object id there
 * never matches, so Teams would never refresh anyone's copy. People Roster never heard from in
 * Teams are left out: their copy still works by Action.Execute, it just does not refresh itself.
 */
export class TeamsCardParts {
  constructor(
    private readonly org: OrgConfig,
    private readonly store: ConversationStore,
  ) {}

  /**
   * `known`: references the caller has just read (the recipient's), not read again. The others
   * come from the store's remembered answers (see {@link ConversationStore.teamsUserIdsOf}): every
   * click and card update renders this, mostly naming the same few approvers.
   */
  async complete<C extends CardModel | OutgoingCard>(card: C, known: readonly TeamsConversationRef[] = []): Promise<C> {
    if (card.kind !== 'approval-request') return card;
    const emails = Array.isArray(card.data.refreshFor) ? card.data.refreshFor.filter((e): e is string => typeof e === 'string') : [];
    const byAad = new Map(known.map((ref) => [ref.aadObjectId.toLowerCase(), ref]));
    const aadOf = (email: string) => findPersonByEmail(this.org, email)?.teamsAadObjectId?.trim().toLowerCase();
    const others = emails.filter((email) => !byAad.has(aadOf(email) ?? ''));
    const found =
      others.length > 0 ? await this.store.teamsUserIdsOf(others.map((email) => ({ email, teamsAadObjectId: aadOf(email) }))) : undefined;
    const ids: string[] = [];
    for (const email of emails) {
      if (ids.length >= MAX_REFRESH_USERS) break;
      const userId = byAad.get(aadOf(email) ?? '')?.userId ?? found?.get(email.trim().toLowerCase());
      const id = userId && userId !== 'undefined' ? userId : undefined;
      if (id && !ids.includes(id)) ids.push(id);
    }
    return { ...card, data: { ...card.data, teamsRefreshUserIds: ids } };
  }
}
