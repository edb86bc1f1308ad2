import { AgentApplication, CloudAdapter, TurnState } from '@microsoft/agents-hosting';
import { ActivityTypes } from '@microsoft/agents-activity';
import type { Person } from '../../config/schemas.js';
import type { CardModel } from '../../cards/view-models.js';
import { createConversationStore } from '../../store/conversation-store.js';
import type { ChannelFactory, ChannelNotifier } from '../port.js';
import { teamsAuth } from './auth.js';
import { registerCardActions } from './card-actions.js';
import { AlertCheckInChat } from '../chat-alerts-checkins.js';
import { registerConversation, replyToInvoke, replyWithCard } from './conversation.js';
import { messagesRouter } from './http.js';
import { TeamsIdentity } from './identity.js';
import { TeamsNotifier } from './notifier.js';
import { TeamsCardParts } from './refresh.js';

export { teamsAuth, type TeamsAuth } from './auth.js';
export { TeamsNotifier, type TeamsMessageRef } from './notifier.js';

/** Where Teams (and the Agents Playground) post activities. */
export const TEAMS_MESSAGES_PATH = '/api/messages';

/**
 * The Teams app on the Microsoft 365 Agents SDK: an `AgentApplication` over a `CloudAdapter`,
 * served at `POST /api/messages` on Roster's HTTP server, with a notifier that sends and updates
 * cards proactively from conversation references kept in MongoDB.
 *
 * Teams is always built: with an Azure Bot registration (`connections__serviceConnection__settings__*`)
 * every request needs a Bot Framework channel token from an allowed tenant (see {@link TeamsAuth});
 * without one it runs in anonymous local mode for the Agents Playground, on loopback only, except
 * in production or with `ROSTER_TEAMS=off`, where it refuses every request and says why at start-up.
 */
export const createTeamsChannel: ChannelFactory = async (deps) => {
  const { org, chat, connection } = deps;
  const log = deps.log.child({ channel: 'teams' });
  const auth = teamsAuth(deps.env);
  const store = createConversationStore(connection);
  await store.ensureIndexes();

  if (auth.mode === 'refused') {
    log.warn(auth.reason);
    return {
      name: 'teams',
      notifier: unreachable,
      mount: { path: TEAMS_MESSAGES_PATH, handler: messagesRouter({ auth, log }) },
    };
  }
  if (auth.mode === 'credentials' && auth.missing.length > 0) {
    log.warn(
      { missing: auth.missing },
      'the Teams credentials are incomplete: replies and proactive messages will fail until these are set',
    );
  }
  if (auth.mode === 'anonymous') {
    log.info(
      'Teams runs in anonymous local mode (no client id): only this machine may post to /api/messages; use the Microsoft 365 Agents Playground to try it',
    );
  } else {
    log.info({ tenants: auth.tenants }, 'Teams accepts Bot Framework channel tokens from these tenants only');
  }

  // Every connector the SDK creates (replies, proactive cards, member look-ups) is checked against
  // the host policy, whatever serviceUrl an activity or a stored reference names.
  const adapter = new CloudAdapter(auth.authConfig, undefined, undefined, { validateServiceUrl: true }, auth.hosts);
  const app = new AgentApplication<TurnState>({
    adapter,
    ...(auth.mode === 'credentials' ? { agentAppId: auth.clientId } : {}),
    removeRecipientMention: true,
  });
  const directory = deps.services.directory;
  const identity = new TeamsIdentity(org, log, directory ? (id, email) => directory.link('teams', id, email) : undefined);

  // Handlers answer their own failures; this catches what escapes them, so a person always hears back.
  adapter.onTurnError = async (context, error) => {
    const card = chat.errorCard(error, { teamsActivity: context.activity.type });
    try {
      if (context.activity.type === ActivityTypes.Invoke) {
        await replyToInvoke(context, card);
      } else if (context.activity.type === ActivityTypes.Message) {
        await replyWithCard(context, card);
      }
    } catch (err) {
      log.error({ err }, 'could not tell the person about an error in Teams');
    }
  };

  const supervision = new AlertCheckInChat(org, deps.services.supervision, deps.services.bus);
  const cardParts = new TeamsCardParts(org, store);
  const notifier = new TeamsNotifier(adapter, store, auth.mode === 'credentials' ? auth.clientId : {}, log, org, cardParts);
  const privately = (person: Person, card: CardModel) => notifier.send(person, card);
  const routeDeps = { bus: deps.services.bus, chat, identity, store, log, supervision, connection, cardParts, privately };
  registerConversation(app, routeDeps);
  registerCardActions(app, routeDeps);

  return {
    name: 'teams',
    notifier,
    mount: { path: TEAMS_MESSAGES_PATH, handler: messagesRouter({ auth, adapter, app, log }) },
  };
};

/** Production without credentials: nobody can be reached in Teams. */
const unreachable: ChannelNotifier = {
  channel: 'teams',
  canReach: async (_person: Person) => false,
  send: async () => undefined,
  update: async () => undefined,
};
