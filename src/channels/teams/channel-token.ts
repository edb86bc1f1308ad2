import { decodeProtectedHeader, importJWK, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';

/**
 * Where the Bot Framework channel service (Azure Bot Service, through which Teams talks to bots)
 * signs its tokens, per cloud: the issuer and the key set of its OpenID metadata
 * (`https://login.botframework.com/v1/.well-known/openidconfiguration`).
 */
export const BOT_FRAMEWORK_CLOUDS = {
  public: { issuer: 'https://api.botframework.com', keysUrl: 'https://login.botframework.com/v1/.well-known/keys' },
  usgov: { issuer: 'https://api.botframework.us', keysUrl: 'https://login.botframework.azure.us/v1/.well-known/keys' },
} as const;

/** Why a token was refused (logged; callers only ever see 401). */
export class ChannelTokenError extends Error {
  constructor(readonly reason: string) {
    super(`Teams channel token refused: ${reason}`);
    this.name = 'ChannelTokenError';
  }
}

/** A verified channel token: its claims, and the channels its signing key is endorsed for. */
export interface ChannelToken {
  claims: JWTPayload & { serviceurl: string };
  /** The channel ids the key is endorsed for, when the key set says (Bot Framework keys do). */
  endorsements?: string[];
}

const jwkSchema = z.looseObject({
  kid: z.string().min(1),
  kty: z.literal('RSA'),
  n: z.string().min(1),
  e: z.string().min(1),
  endorsements: z.array(z.string()).optional(),
});
const jwksSchema = z.object({ keys: z.array(z.unknown()) });
type ChannelKey = z.infer<typeof jwkSchema>;

/** How long fetched keys are trusted, and how often an unknown `kid` may trigger a refetch. */
const KEYS_MAX_AGE_MS = 24 * 3600_000;
const REFETCH_MIN_INTERVAL_MS = 5 * 60_000;
const FETCH_TIMEOUT_MS = 5000;

/**
 * Verifies the bearer token on a Bot Connector request the way the Bot Framework authentication
 * spec asks ("Connector to bot"): RS256, signed by a key from the channel service's key set,
 * issued by the channel service (never by an Entra tenant: an app-only token any app in the tenant
 * can mint for Roster's app id is not a Teams delivery), for Roster's app id, not expired, and
 * carrying the `serviceurl` it vouches for. Keys are fetched once and cached; an unknown key id
 * refetches them at most every five minutes.
 */
export class ChannelTokenVerifier {
  private keys = new Map<string, ChannelKey>();
  private fetchedAt = 0;
  private attemptedAt = -Infinity;
  private fetching?: Promise<void>;
  private lastError?: string;

  constructor(private readonly options: { clientId: string; issuer: string; keysUrl: string }) {}

  async verify(token: string): Promise<ChannelToken> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new ChannelTokenError('not a JWT');
    }
    if (header.alg !== 'RS256' || typeof header.kid !== 'string') throw new ChannelTokenError('not an RS256 token with a key id');
    const jwk = await this.key(header.kid);
    if (!jwk) {
      throw new ChannelTokenError(
        this.lastError ? `no channel keys (${this.lastError})` : 'signed by a key the channel service does not publish',
      );
    }
    let payload: JWTPayload;
    try {
      const key = await importJWK({ kty: 'RSA', n: jwk.n, e: jwk.e }, 'RS256');
      ({ payload } = await jwtVerify(token, key, {
        issuer: this.options.issuer,
        audience: this.options.clientId,
        algorithms: ['RS256'],
        clockTolerance: 300,
        requiredClaims: ['exp', 'serviceurl'],
      }));
    } catch (err) {
      throw new ChannelTokenError(err instanceof Error ? err.message : 'invalid token');
    }
    if (typeof payload.serviceurl !== 'string') throw new ChannelTokenError('no serviceurl claim');
    return { claims: payload as ChannelToken['claims'], ...(jwk.endorsements ? { endorsements: jwk.endorsements } : {}) };
  }

  private async key(kid: string): Promise<ChannelKey | undefined> {
    const now = Date.now();
    const wanted = now - this.fetchedAt > KEYS_MAX_AGE_MS || !this.keys.has(kid);
    if (wanted && now - this.attemptedAt >= REFETCH_MIN_INTERVAL_MS) {
      this.attemptedAt = now;
      this.fetching ??= this.refresh().finally(() => {
        this.fetching = undefined;
      });
    }
    if (this.fetching) await this.fetching;
    return this.keys.get(kid);
  }

  /** Fetches the key set; on failure the keys already known stay in use and the next try waits. */
  private async refresh(): Promise<void> {
    try {
      const res = await fetch(this.options.keysUrl, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
      if (!res.ok) throw new Error(`the channel key set answered ${res.status}`);
      const body = jwksSchema.parse(await res.json());
      const keys = new Map<string, ChannelKey>();
      for (const candidate of body.keys) {
        const parsed = jwkSchema.safeParse(candidate);
        if (parsed.success) keys.set(parsed.data.kid, parsed.data);
      }
      this.keys = keys;
      this.fetchedAt = Date.now();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : 'the channel key set could not be fetched';
    }
  }
}

/** The same service URL, whatever the case of the host or a trailing slash. */
export function sameServiceUrl(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    const path = (u: URL) => u.pathname.replace(/\/+$/, '');
    return x.protocol === y.protocol && x.host === y.host && path(x) === path(y);
  } catch {
    return false;
  }
}
