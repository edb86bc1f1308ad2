import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Paths pino replaces with "[redacted]": tokens, secrets, authorization headers and API keys. */
export const redactPaths = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-slack-signature"]',
  '*.authorization',
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'appToken',
  '*.appToken',
  'secret',
  '*.secret',
  'signingSecret',
  '*.signingSecret',
  'clientSecret',
  '*.clientSecret',
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  'env.SLACK_SIGNING_SECRET',
  'env.SLACK_BOT_TOKEN',
  'env.SLACK_APP_TOKEN',
  'env.MONGODB_URI',
  'env.ROSTER_DASHBOARD_SECRET',
  'env.ROSTER_CHART_SECRET',
  'env.ROSTER_AUDIT_SIGNING_KEY',
  'env.connections__serviceConnection__settings__clientSecret',
];

/** Anything that looks like a credential inside free text: Roster keys, bearer tokens, Slack tokens, URL secrets. */
const SECRET_PATTERNS: RegExp[] = [
  /rst_[A-Za-z0-9_-]{4,}/g,
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /\bxox[a-z]-[A-Za-z0-9-]{8,}/g,
  /\bxapp-[A-Za-z0-9-]{8,}/g,
  /\bmongodb(\+srv)?:\/\/[^\s"']+/gi,
];

/** Replaces credentials found in a text with "[redacted]" (error messages may quote a body or a URL). */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS)
    out = out.replace(pattern, (m) => (/^(Bearer|Basic)\s/i.test(m) ? `${m.split(/\s/)[0]} [redacted]` : '[redacted]'));
  return out;
}

/** A URL without its query string, fragment and credentials (they may carry tokens). */
function safeUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value) return undefined;
  try {
    const url = new URL(value);
    return scrubSecrets(`${url.protocol}//${url.host}${url.pathname}`);
  } catch {
    return scrubSecrets(value.split(/[?#]/)[0]!.slice(0, 300));
  }
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/** What a logged error keeps: an allow-list, so SDK errors never bring their request body, headers or config along. */
export interface SafeError {
  type: string;
  message: string;
  stack?: string;
  status?: number;
  code?: string;
  /** MSAL and the Agents SDK name their failures here (e.g. `authority_uri_insecure`). */
  errorCode?: string;
  url?: string;
  cause?: SafeError;
}

/**
 * The `err` serializer: type, message, status, url (no query), code and stack, scrubbed of
 * anything that looks like a credential. HTTP client errors (axios in the Agents SDK, the Slack
 * Web API, fetch) carry the request's body, headers and config as own properties; pino's default
 * serializer logged all of them, which put one-time keys and bearer tokens in the log.
 */
export function serializeError(err: unknown, depth = 0): SafeError {
  if (!(err instanceof Error) && (typeof err !== 'object' || err === null)) {
    return { type: typeof err, message: scrubSecrets(String(err)).slice(0, 2000) };
  }
  const e = err as Error & Record<string, unknown>;
  const response = (e.response ?? {}) as Record<string, unknown>;
  const config = (e.config ?? {}) as Record<string, unknown>;
  const request = (e.request ?? {}) as Record<string, unknown>;
  const status = num(e.status) ?? num(e.statusCode) ?? num(response.status) ?? num(response.statusCode);
  const code = str(e.code) ?? (typeof e.code === 'number' ? String(e.code) : undefined);
  const errorCode = typeof e.errorCode === 'string' && /^[\w.-]{1,100}$/.test(e.errorCode) ? e.errorCode : undefined;
  const url = safeUrl(config.url ?? e.url ?? response.url ?? request.path);
  const cause = depth < 3 && e.cause !== undefined ? serializeError(e.cause, depth + 1) : undefined;
  return {
    type: str(e.name) ?? str(e.constructor?.name) ?? 'Error',
    message: scrubSecrets(String(e.message ?? '')).slice(0, 2000),
    ...(typeof e.stack === 'string' ? { stack: scrubSecrets(e.stack).slice(0, 4000) } : {}),
    ...(status !== undefined ? { status } : {}),
    ...(code ? { code } : {}),
    ...(errorCode ? { errorCode } : {}),
    ...(url ? { url } : {}),
    ...(cause ? { cause } : {}),
  };
}

export interface LoggerSettings {
  level: string;
  /** Human-readable lines (development) instead of JSON (production). */
  pretty: boolean;
  /** Where JSON lines go; defaults to stdout. Tests pass a stream to read what was logged. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: 'roster' },
    redact: { paths: redactPaths, censor: '[redacted]' },
    // Roster logs errors as `err` (the lint-free convention across src); each goes through the allow-list.
    serializers: { err: serializeError },
  };
  if (settings.destination) return pino(options, settings.destination as pino.DestinationStream);
  if (settings.pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service' } },
    });
  }
  return pino(options);
}
