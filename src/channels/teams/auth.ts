import type { AuthConfiguration } from '@microsoft/agents-hosting';
import type { Env } from '../../config/env.js';

/** The Agents SDK connection name Roster's variables configure (`connections__serviceConnection__settings__*`). */
export const SERVICE_CONNECTION = 'serviceConnection';

/**
 * How `/api/messages` authenticates Bot Connector traffic:
 * - `credentials`: an Azure Bot registration is configured; every request needs a valid JWT.
 * - `anonymous`: local development (no client id, not production): requests without an
 *   Authorization header are accepted and replies are sent without a token, as the Microsoft 365
 *   Agents Playground expects. A request that does carry a token still has it verified.
 * - `refused`: production without a client id: every request is refused.
 */
export type TeamsAuth =
  | { mode: 'credentials'; clientId: string; authConfig: AuthConfiguration; missing: string[] }
  | { mode: 'anonymous'; authConfig: AuthConfiguration }
  | { mode: 'refused'; reason: string };

/**
 * Decides the mode from Roster's parsed environment (never from `process.env`, which the SDK
 * would otherwise read), and builds the SDK's auth configuration with one explicit connection.
 */
export function teamsAuth(env: Env): TeamsAuth {
  const clientId = env.connections__serviceConnection__settings__clientId;
  if (!clientId) {
    if (env.NODE_ENV === 'production') {
      return {
        mode: 'refused',
        reason:
          'Teams is not configured for production: set connections__serviceConnection__settings__clientId, …clientSecret and …tenantId ' +
          '(the Azure Bot registration). Until then every request to /api/messages is refused with 401.',
      };
    }
    return { mode: 'anonymous', authConfig: connectionConfig({}) };
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
  return { mode: 'credentials', clientId, authConfig: connectionConfig(settings), missing };
}

function connectionConfig(settings: Omit<AuthConfiguration, 'connections' | 'connectionsMap'>): AuthConfiguration {
  return {
    ...settings,
    connections: new Map([[SERVICE_CONNECTION, { ...settings }]]),
    connectionsMap: [{ serviceUrl: '*', connection: SERVICE_CONNECTION }],
  };
}
