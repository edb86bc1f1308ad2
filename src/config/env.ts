import { z } from 'zod';
import { auditKeyProblems } from './audit-signing-key.js';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const commaList = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((item) => item.trim().toLowerCase())
      .filter(Boolean),
  );

const booleanFlag = z
  .enum(['true', 'false', '1', '0', ''])
  .default('false')
  .transform((v) => v === 'true' || v === '1');

/** Environment variables Roster reads (SPEC.md "Interfaces"), parsed once at start-up. */
export const envSchema = z.object({
  /** Unset or empty: development. */
  NODE_ENV: z
    .string()
    .optional()
    .transform((v) => v?.trim() || 'development')
    .pipe(z.enum(['development', 'production', 'test'])),
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
  /** Further Slack workspaces (team ids) whose people may use Roster, besides the bot token's own. */
  SLACK_ALLOWED_TEAM_IDS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((id) => id.trim().toUpperCase())
        .filter(Boolean),
    ),
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
  /**
   * Signs the links to chart images in Slack cards (`/charts/<id>.png`, served when ROSTER_PUBLIC_URL
   * is set). Required in production; elsewhere each process picks a random one.
   */
  ROSTER_CHART_SECRET: optionalString.pipe(z.string().min(32, 'expected at least 32 characters (openssl rand -hex 32)').optional()),
  /** Evaluation suites (`<role>.yaml`). */
  ROSTER_EVALS_DIR: z.string().default('./evals'),
  /** AES-256-GCM key sealing endpoint secrets of agents under evaluation: 64 hex characters or base64 of 32 bytes. Required in production. */
  ROSTER_EVAL_SECRET_KEY: optionalString.pipe(
    z
      .string()
      .refine(
        (v) => /^[0-9a-fA-F]{64}$/.test(v) || Buffer.from(v, 'base64').length === 32,
        'expected 32 bytes as 64 hex characters or base64',
      )
      .optional(),
  ),
  /**
   * The bearer token the identity provider presents on /scim/v2 (Entra ID's "Secret Token", Okta's
   * "HTTP Header" authorization). Setting it turns SCIM on: the directory then lives in the
   * database, seeded once from people.yaml, and org.yaml must map groups (`directory:`).
   */
  ROSTER_SCIM_TOKEN: optionalString.pipe(z.string().min(32, 'expected at least 32 characters (a long random secret)').optional()),
  /** Seconds granted to in-flight work on SIGTERM before Roster exits anyway. */
  ROSTER_SHUTDOWN_TIMEOUT_S: z.coerce.number().positive().default(8),
  /** Longest life of an agent access token, in seconds (a grant ending sooner ends the token sooner). */
  ROSTER_OAUTH_TOKEN_LIFETIME_S: z.coerce.number().int().min(1).max(3600).default(300),
  /**
   * How long the agent API answers from an agent and its grants once read, in ms: a revocation,
   * suspension or retirement made on this replica is seen at the next call; on another replica
   * after at most this long. 0 reads them for every call.
   */
  ROSTER_ACCESS_CACHE_MS: z.coerce.number().int().min(0).max(1_000).default(500),
  /** Comma-separated resource URIs (RFC 8707) agents may ask tokens for: the gateways guarding real systems. */
  ROSTER_OAUTH_RESOURCES: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(z.url({ error: 'expected absolute URIs, comma separated' }).refine((u) => !u.includes('#'), 'a resource has no fragment')),
    ),
  /** Resource servers that may introspect tokens: comma-separated `<client id>:<SHA-256 hex of its secret>`. */
  ROSTER_OAUTH_INTROSPECTION_CLIENTS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((pair) => pair.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z.string().regex(/^[A-Za-z0-9._-]{1,100}:[0-9a-fA-F]{64}$/, 'expected <client id>:<SHA-256 hex of its secret>, comma separated'),
      ),
    ),
  /** The token-signing private key: PEM (PKCS#8), a private JWK or a JWKS whose first key signs. */
  ROSTER_OAUTH_SIGNING_KEY: optionalString,
  /** A file holding the signing key in one of the forms of ROSTER_OAUTH_SIGNING_KEY. */
  ROSTER_OAUTH_SIGNING_KEY_FILE: optionalString,
  /** Key-encryption key (32 bytes, base64): signing keys are generated, rotated and stored encrypted under it. */
  ROSTER_OAUTH_KEK: optionalString.pipe(
    z
      .string()
      .refine((v) => Buffer.from(v, 'base64').length === 32, 'expected 32 random bytes in base64 (openssl rand -base64 32)')
      .optional(),
  ),
  /** Days a generated signing key signs before the next one replaces it. */
  ROSTER_OAUTH_KEY_ROTATION_DAYS: z.coerce.number().positive().default(30),
  /**
   * The Ed25519 private key that signs the audit chain's checkpoints (PEM, or its 32-byte seed as
   * hex or base64); it must live outside the database. Required in production (or the _FILE form).
   */
  ROSTER_AUDIT_SIGNING_KEY: optionalString,
  /** A file holding the audit signing key in one of the forms of ROSTER_AUDIT_SIGNING_KEY. */
  ROSTER_AUDIT_SIGNING_KEY_FILE: optionalString,
  /**
   * Public keys older checkpoints were signed with (after a rotation of the signing key), as PEM
   * blocks or a JWK Set: `roster audit verify` and the checkpoint job check those checkpoints with them.
   */
  ROSTER_AUDIT_VERIFY_KEYS: optionalString,
  /** Requests per minute each client may make to each agent-facing endpoint. */
  ROSTER_API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
  /**
   * The address to listen on. Unset: 127.0.0.1 while Teams runs in anonymous local mode (no
   * credentials), every interface otherwise.
   */
  ROSTER_HOST: optionalString,
  /** `off` turns the Teams channel off (a Slack-only deployment): /api/messages answers 401. */
  ROSTER_TEAMS: z.enum(['on', 'off']).default('on'),
  /** Microsoft Entra tenant ids whose Teams users may use Roster, comma separated (default: the configured tenantId). */
  ROSTER_TEAMS_TENANT_IDS: commaList.pipe(z.array(z.string().regex(GUID, 'expected tenant ids (GUIDs), comma separated'))),
  /**
   * Test and development only, refused in production: lets Teams credentials mode talk to a Bot
   * Connector on loopback (the tests' fake connector) besides Microsoft's hosts.
   */
  ROSTER_TEAMS_ALLOW_LOOPBACK_CONNECTOR: booleanFlag,
  /** Where the Bot Framework channel signing keys are fetched (default: Microsoft's, per cloud). */
  ROSTER_TEAMS_CHANNEL_KEYS_URL: optionalString.pipe(z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional()),
  /** Serves /metrics on this port only (not on PORT). */
  ROSTER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** When set, /metrics needs `Authorization: Bearer <token>`. */
  ROSTER_METRICS_TOKEN: optionalString.pipe(z.string().min(16, 'expected at least 16 characters').optional()),
  /**
   * How long a writer may take to perform the effects of a change before the outbox worker takes
   * them over (and before another process takes over an action step a dead process started).
   */
  ROSTER_OUTBOX_LEASE_MS: z.coerce.number().int().min(200).max(3_600_000).default(30_000),
  /**
   * How long the telemetry door trusts a key it looked up without reading its agent again. A key
   * revoked or rotated out, or an agent retired, on this replica is refused at once; on another
   * replica after at most this long. 0 reads the agent for every request.
   */
  ROSTER_KEY_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /**
   * How many acknowledged chat clicks (Slack interactions, commands and events) are worked on at
   * once in this process; the others wait in order. Acknowledgements never wait for this: while
   * Slack deliveries are being acknowledged, one at a time runs (see src/channels/slack/click-work.ts).
   */
  ROSTER_CLICK_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /** Test-only crash hook (src/fault-point.ts); refused unless NODE_ENV=test. */
  ROSTER_FAULT_POINT: optionalString,
});

export type Env = z.infer<typeof envSchema>;

/**
 * Problems of an environment that parses but cannot be used: production needs the evaluation
 * secret key and the audit signing key, and a configured audit signing key must be readable.
 */
export function envProblems(env: Env): string[] {
  const problems: string[] = [];
  if (env.NODE_ENV === 'production' && !env.ROSTER_EVAL_SECRET_KEY)
    problems.push(
      'environment: ROSTER_EVAL_SECRET_KEY: required in production (endpoint secrets of agents under evaluation are sealed with it)',
    );
  // Checkpoints only prove anything when whoever can write the database cannot sign them.
  if (env.NODE_ENV === 'production' && !env.ROSTER_AUDIT_SIGNING_KEY && !env.ROSTER_AUDIT_SIGNING_KEY_FILE)
    problems.push(
      'environment: ROSTER_AUDIT_SIGNING_KEY: required in production (it signs the audit checkpoints; openssl genpkey -algorithm ed25519), or ROSTER_AUDIT_SIGNING_KEY_FILE',
    );
  else problems.push(...auditKeyProblems(env));
  return problems;
}

/**
 * True inside the test runner: Jest sets `JEST_WORKER_ID` in every process that runs tests (and
 * test/helpers/roster-process.ts passes it on to the Roster it spawns).
 */
export function insideTestRunner(source: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(source.JEST_WORKER_ID?.trim());
}

/**
 * Parses the environment; a bad value is reported by name, never with its (possibly secret) value.
 * `NODE_ENV=test` is refused outside the test runner, so no deployment runs with test settings.
 */
export function parseEnv(source: NodeJS.ProcessEnv = process.env): { ok: true; env: Env } | { ok: false; problems: string[] } {
  const result = envSchema.safeParse(source);
  if (result.success && result.data.ROSTER_FAULT_POINT && result.data.NODE_ENV !== 'test')
    return { ok: false, problems: ['environment: ROSTER_FAULT_POINT: a test-only crash hook, refused unless NODE_ENV=test'] };
  if (result.success && result.data.NODE_ENV === 'test' && !insideTestRunner(source)) {
    return {
      ok: false,
      problems: ['environment: NODE_ENV: "test" is only for the test runner; use development or production'],
    };
  }
  if (result.success) {
    const problems = productionProblems(result.data);
    return problems.length === 0 ? { ok: true, env: result.data } : { ok: false, problems };
  }
  return {
    ok: false,
    problems: result.error.issues.map((issue) => `environment: ${issue.path.join('.')}: ${issue.message}`),
  };
}

/**
 * What production refuses to start without. A generated in-memory signing key would differ on
 * every replica and vanish on restart, so tokens need a key from configuration or a KEK.
 */
export function productionProblems(env: Env): string[] {
  if (env.NODE_ENV !== 'production') return [];
  const problems: string[] = [];
  if (!env.ROSTER_OAUTH_SIGNING_KEY && !env.ROSTER_OAUTH_SIGNING_KEY_FILE && !env.ROSTER_OAUTH_KEK) {
    problems.push(
      'environment: ROSTER_OAUTH_KEK: production needs a token-signing key source: set ROSTER_OAUTH_KEK (keys generated and stored encrypted), ' +
        'or ROSTER_OAUTH_SIGNING_KEY / ROSTER_OAUTH_SIGNING_KEY_FILE',
    );
  }
  // The issuer of every token: replicas that derived it from their own address would reject each other's tokens.
  if (!env.ROSTER_PUBLIC_URL)
    problems.push('environment: ROSTER_PUBLIC_URL: production needs the public URL (the token issuer), e.g. https://roster.example.com');
  // Replicas must agree on it (a chart link signed by one is fetched from any), and it must outlive restarts.
  if (!env.ROSTER_CHART_SECRET)
    problems.push(
      'environment: ROSTER_CHART_SECRET: production needs the secret that signs chart-image links in Slack cards (openssl rand -hex 32)',
    );
  return problems;
}
