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
  'env.connections__serviceConnection__settings__clientSecret',
];

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
