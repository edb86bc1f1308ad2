import type { Env } from './env.js';

/** The address anonymous local mode listens on. */
export const LOOPBACK_HOST = '127.0.0.1';

/** True for an IPv4 loopback address (127.0.0.0/8, also IPv4-mapped) or IPv6 `::1`. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/^::ffff:/, '');
  return plain === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}

/** True for a host name or address that only this machine reaches (`localhost` included). */
export function isLoopbackHost(host: string | undefined): boolean {
  return host?.trim().toLowerCase() === 'localhost' || isLoopbackAddress(host);
}

/**
 * True when Teams runs without credentials: the Agents Playground's anonymous local mode. It
 * never depends on `NODE_ENV` alone: it also needs a loopback bind (see {@link deploymentProblems})
 * and loopback callers (checked on every request).
 */
export function teamsAnonymous(env: Env): boolean {
  return env.ROSTER_TEAMS === 'on' && !env.connections__serviceConnection__settings__clientId && env.NODE_ENV !== 'production';
}

/**
 * Where Roster listens: `ROSTER_HOST` when set; otherwise loopback while Teams is anonymous, and
 * every interface (undefined) when Teams has credentials, is off, or is refused in production.
 */
export function bindHost(env: Env): string | undefined {
  if (env.ROSTER_HOST) return env.ROSTER_HOST;
  return teamsAnonymous(env) ? LOOPBACK_HOST : undefined;
}

/** The Entra tenants whose Teams users may use Roster: the explicit list, else the configured tenant. */
export function allowedTeamsTenants(env: Env): string[] {
  if (env.ROSTER_TEAMS_TENANT_IDS.length > 0) return env.ROSTER_TEAMS_TENANT_IDS;
  const tenant = env.connections__serviceConnection__settings__tenantId?.toLowerCase();
  return tenant && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(tenant) ? [tenant] : [];
}

/**
 * Configurations Roster refuses to start with, one line each: each would leave a door open that
 * the operator may not know about. `host` is the address Roster will listen on (undefined: every
 * interface).
 */
export function deploymentProblems(env: Env, host: string | undefined = bindHost(env)): string[] {
  const problems: string[] = [];
  if (teamsAnonymous(env) && !isLoopbackHost(host)) {
    problems.push(
      `Teams has no credentials (connections__serviceConnection__settings__clientId), so it would run in anonymous local mode, ` +
        `which only listens on loopback, but Roster is asked to listen on ${host ?? 'every interface'}: ` +
        'set the Teams credentials, or ROSTER_TEAMS=off, or leave ROSTER_HOST unset (127.0.0.1).',
    );
  }
  if (env.ROSTER_TEAMS === 'on' && env.connections__serviceConnection__settings__clientId && allowedTeamsTenants(env).length === 0) {
    problems.push(
      'Teams has a client id but no tenant to accept people from: set connections__serviceConnection__settings__tenantId ' +
        '(a tenant GUID) or ROSTER_TEAMS_TENANT_IDS.',
    );
  }
  if (env.NODE_ENV === 'production' && env.ROSTER_TEAMS_ALLOW_LOOPBACK_CONNECTOR) {
    problems.push('ROSTER_TEAMS_ALLOW_LOOPBACK_CONNECTOR is for tests and development only: unset it in production.');
  }
  const keysUrl = env.ROSTER_TEAMS_CHANNEL_KEYS_URL;
  if (keysUrl && new URL(keysUrl).protocol !== 'https:' && !(env.NODE_ENV !== 'production' && isLoopbackHost(new URL(keysUrl).hostname))) {
    problems.push('ROSTER_TEAMS_CHANNEL_KEYS_URL must be an https URL (plain http only on loopback, outside production).');
  }
  if (env.ROSTER_METRICS_PORT !== undefined && env.ROSTER_METRICS_PORT !== 0 && env.ROSTER_METRICS_PORT === env.PORT) {
    problems.push('ROSTER_METRICS_PORT must differ from PORT (it moves /metrics off the public port).');
  }
  return problems;
}

/** Thrown by start-up when {@link deploymentProblems} finds any. */
export class DeploymentError extends Error {
  constructor(readonly problems: string[]) {
    super(`Roster cannot start: ${problems.join(' ')}`);
    this.name = 'DeploymentError';
  }
}
