import type { AuthConfiguration, OutboundUrlPolicy } from '@microsoft/agents-hosting';
import type { Env } from '../../config/env.js';
import { allowedTeamsTenants, bindHost, isLoopbackHost, teamsAnonymous } from '../../config/deployment.js';
import { BOT_FRAMEWORK_CLOUDS, ChannelTokenVerifier } from './channel-token.js';

/** The Agents SDK connection name Roster's variables configure (`connections__serviceConnection__settings__*`). */
export const SERVICE_CONNECTION = 'serviceConnection';

/** The only channel Roster serves in credentials mode. */
export const TEAMS_CHANNEL_ID = 'msteams';

/**
 * How `/api/messages` authenticates Bot Connector traffic:
 * - `credentials`: an Azure Bot registration is configured; every request needs a Bot Framework
 *   channel token for Roster's app id, from Teams (`msteams`), in an allowed tenant, whose
 *   `serviceUrl` is a Microsoft Bot Connector host the token vouches for.
 * - `anonymous`: local development (no client id, not production, listening on loopback):
 *   requests without an Authorization header from this machine only, replying only to a Bot
 *   Connector on loopback, as the Microsoft 365 Agents Playground expects.
 * - `refused`: Teams is off, or has no credentials where anonymous mode is not allowed: every
 *   request is refused.
 */
export type TeamsAuth =
  | {
      mode: 'credentials';
      clientId: string;
      authConfig: AuthConfiguration;
      missing: string[];
      verifier: ChannelTokenVerifier;
      tenants: string[];
      hosts: ConnectorHostPolicy;
    }
  | { mode: 'anonymous'; authConfig: AuthConfiguration; hosts: ConnectorHostPolicy }
  | { mode: 'refused'; reason: string };

/**
 * Decides the mode from Roster's parsed environment (never from `process.env`, which the SDK
 * would otherwise read), and builds the SDK's auth configuration with one explicit connection.
 */
export function teamsAuth(env: Env): TeamsAuth {
  if (env.ROSTER_TEAMS === 'off') return { mode: 'refused', reason: 'Teams is off (ROSTER_TEAMS=off): /api/messages answers 401.' };
  const clientId = env.connections__serviceConnection__settings__clientId;
  if (!clientId) {
    if (!teamsAnonymous(env)) {
      return {
        mode: 'refused',
        reason:
          'Teams is not configured for production: set connections__serviceConnection__settings__clientId, …clientSecret and …tenantId ' +
          '(the Azure Bot registration). Until then every request to /api/messages is refused with 401.',
      };
    }
    if (!isLoopbackHost(bindHost(env))) {
      return { mode: 'refused', reason: 'Teams has no credentials and Roster does not listen on loopback: /api/messages answers 401.' };
    }
    return { mode: 'anonymous', authConfig: connectionConfig({}), hosts: new ConnectorHostPolicy({ microsoft: false, loopback: true }) };
  }
  const settings = {
    clientId,
    ...(env.connections__serviceConnection__settings__clientSecret
      ? { clientSecret: env.connections__serviceConnection__settings__clientSecret }
      : {}),
    ...(env.connections__serviceConnection__settings__tenantId ? { tenantId: env.connections__serviceConnection__settings__tenantId } : {}),
    ...(env.connections__serviceConnection__settings__authorityEndpoint
      ? { authorityEndpoint: env.connections__serviceConnection__settings__authorityEndpoint }
      : {}),
  };
  const missing = [
    ...(settings.clientSecret ? [] : ['connections__serviceConnection__settings__clientSecret']),
    ...(settings.tenantId ? [] : ['connections__serviceConnection__settings__tenantId']),
  ];
  const cloud = /login\.microsoftonline\.us/i.test(settings.authorityEndpoint ?? '')
    ? BOT_FRAMEWORK_CLOUDS.usgov
    : BOT_FRAMEWORK_CLOUDS.public;
  return {
    mode: 'credentials',
    clientId,
    authConfig: connectionConfig(settings),
    missing,
    verifier: new ChannelTokenVerifier({ clientId, issuer: cloud.issuer, keysUrl: env.ROSTER_TEAMS_CHANNEL_KEYS_URL ?? cloud.keysUrl }),
    tenants: allowedTeamsTenants(env),
    hosts: new ConnectorHostPolicy({ microsoft: true, loopback: env.ROSTER_TEAMS_ALLOW_LOOPBACK_CONNECTOR }),
  };
}

function connectionConfig(settings: Omit<AuthConfiguration, 'connections' | 'connectionsMap'>): AuthConfiguration {
  return {
    ...settings,
    connections: new Map([[SERVICE_CONNECTION, { ...settings }]]),
    connectionsMap: [{ serviceUrl: '*', connection: SERVICE_CONNECTION }],
  };
}

/** Hosts of Microsoft's Bot Connector for Teams (public cloud, GCC, GCC High, DoD), over https only. */
const BOT_CONNECTOR_HOSTS = ['smba.trafficmanager.net'];
const BOT_CONNECTOR_DOMAINS = ['botframework.com', 'teams.microsoft.com', 'teams.microsoft.us', 'botframework.azure.us'];

/**
 * Where Roster may send Bot Connector calls (replies, proactive cards, member look-ups): the SDK
 * checks every connector it creates against this policy, so a stored or posted `serviceUrl`
 * elsewhere is never fetched (and never receives Roster's Bot Connector token). Microsoft's
 * hosts in credentials mode; loopback in anonymous mode or with the test/development override.
 */
export class ConnectorHostPolicy implements OutboundUrlPolicy {
  readonly enabled = true;

  constructor(private readonly allow: { microsoft: boolean; loopback: boolean }) {}

  isAllowed(input: string | URL | null | undefined): boolean {
    let url: URL;
    try {
      if (!input) return false;
      url = input instanceof URL ? input : new URL(input);
    } catch {
      return false;
    }
    if (url.username || url.password) return false;
    const host = url.hostname.toLowerCase().replace(/\.$/, '');
    if (this.allow.loopback && (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHost(host)) return true;
    if (!this.allow.microsoft || url.protocol !== 'https:' || (url.port !== '' && url.port !== '443')) return false;
    return BOT_CONNECTOR_HOSTS.includes(host) || BOT_CONNECTOR_DOMAINS.some((domain) => host === domain || host.endsWith(`.${domain}`));
  }
}
