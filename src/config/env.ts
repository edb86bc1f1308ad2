import { z } from 'zod';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** Environment variables Roster reads (SPEC.md "Interfaces"), parsed once at start-up. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3978),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MONGODB_URI: optionalString,
  ROSTER_DATA_DIR: z.string().default('./data'),
  ROSTER_CONFIG_DIR: z.string().default('./config'),
  /** Flow definitions (`*.yaml`). */
  ROSTER_FLOWS_DIR: z.string().default('./flows'),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_BOT_TOKEN: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_API_URL: optionalString,
  connections__serviceConnection__settings__clientId: optionalString,
  connections__serviceConnection__settings__clientSecret: optionalString,
  connections__serviceConnection__settings__tenantId: optionalString,
  /** The Entra authority tokens and keys come from, when not the public cloud's (a sovereign cloud). */
  connections__serviceConnection__settings__authorityEndpoint: optionalString.pipe(
    z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as https://login.microsoftonline.us' }).optional(),
  ),
  /** Comma-separated SHA-256 hex digests of platform telemetry keys (gateways that report for many agents). */
  ROSTER_TELEMETRY_PLATFORM_KEYS_SHA256: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[0-9a-f]{64}$/, 'expected SHA-256 hex digests, comma separated'))),
  /** Signs dashboard links; set it when several replicas serve /dashboard (else each picks a random one). */
  ROSTER_DASHBOARD_SECRET: optionalString,
  /** Public base URL of Roster, for links sent in chat (default http://127.0.0.1:<PORT>). */
  ROSTER_PUBLIC_URL: optionalString,
  /** Seconds granted to in-flight work on SIGTERM before Roster exits anyway. */
  ROSTER_SHUTDOWN_TIMEOUT_S: z.coerce.number().positive().default(8),
});

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; a bad value is reported by name, never with its (possibly secret) value. */
export function parseEnv(source: NodeJS.ProcessEnv = process.env): { ok: true; env: Env } | { ok: false; problems: string[] } {
  const result = envSchema.safeParse(source);
  if (result.success) return { ok: true, env: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((issue) => `environment: ${issue.path.join('.')}: ${issue.message}`),
  };
}
