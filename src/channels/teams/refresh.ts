import type { OrgConfig } from '../../config/schemas.js';
import { findPersonByEmail } from '../../config/directory.js';
import type { CardModel } from '../../cards/view-models.js';
import type { OutgoingCard } from '../../core/notifications.js';
import type { ConversationStore } from '../../store/conversation-store.js';

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

  async complete<C extends CardModel | OutgoingCard>(card: C): Promise<C> {
    if (card.kind !== 'approval-request') return card;
    const emails = Array.isArray(card.data.refreshFor) ? card.data.refreshFor.filter((e): e is string => typeof e === 'string') : [];
    const ids: string[] = [];
    for (const email of emails) {
      if (ids.length >= MAX_REFRESH_USERS) break;
      const id = await this.teamsUserId(email);
      if (id && !ids.includes(id)) ids.push(id);
    }
    return { ...card, data: { ...card.data, teamsRefreshUserIds: ids } };
  }

  private async teamsUserId(email: string): Promise<string | undefined> {
    const aad = findPersonByEmail(this.org, email)?.teamsAadObjectId;
    const ref = (aad ? await this.store.get(aad) : undefined) ?? (await this.store.getByEmail(email));
    return ref?.userId && ref.userId !== 'undefined' ? ref.userId : undefined;
  }
}
