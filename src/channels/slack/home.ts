import type { WebClient } from '@slack/web-api';
import type { Person } from '../../config/schemas.js';
import { renderCard } from '../../cards/render.js';
import type { CardTime } from '../../cards/localise.js';
import type { ChatService } from '../chat.js';
import type { CardModel } from '../../cards/view-models.js';
import { slackMessage } from './notifier.js';

/** The prompt payload key that says the prompt was opened from App Home (its submit republishes Home). */
export const FROM_HOME_KEY = 'fromHome';

/** Whether an interaction came from a button on the person's App Home tab. */
export function clickedOnHome(body: unknown): boolean {
  const b = body as { type?: unknown; view?: { type?: unknown } };
  return b.type === 'block_actions' && b.view?.type === 'home';
}

/**
 * Publishes a person's App Home. A click on Home changes what Home lists (an approval decided, a
 * hand-off taken, a boundary change approved), and Slack shows a Home only as last published, so
 * every listener acting on a Home click republishes it through this one function.
 */
export async function publishHome(
  chat: ChatService,
  client: WebClient,
  userId: string,
  person: Person | undefined,
  time?: CardTime,
  /** A page of `find` results to show at the top (from the find form or its paging buttons). */
  found?: CardModel,
): Promise<void> {
  const card = person ? await chat.home(person, found) : chat.unknownPersonCard();
  await publishHomeCard(client, userId, card, time);
}

/** Publishes a built card as the person's App Home (a message card becomes a Home of its blocks). */
export async function publishHomeCard(client: WebClient, userId: string, card: CardModel, time?: CardTime): Promise<void> {
  const rendered = renderCard('slack', card, time);
  const view = rendered.surface === 'home' ? rendered.view : { type: 'home', blocks: slackMessage(card, time).blocks };
  await client.views.publish({ user_id: userId, view: view as never });
}
