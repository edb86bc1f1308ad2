import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader, errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { AgentRecord } from '../core/agents.js';
import type { LiveScope } from '../core/live-scopes.js';
import type { SigningKeys } from './signing-keys.js';
import { SIGNING_ALGORITHMS } from './signing-keys.js';
import { idOrUndefined, type AgentId } from '../core/ids.js';

/** The claims of a Roster access token (RFC 9068 plus Roster's own). */
export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  /** The agent the token was issued to, parsed once here. */
  sub: AgentId;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  scope?: string;
  role: string;
  business_unit: string;
  sponsors: string[];
  status: string;
}

/** Why a presented token is not accepted. */
export type TokenProblem = 'malformed' | 'unknown_key' | 'bad_signature' | 'expired' | 'wrong_issuer' | 'wrong_audience' | 'wrong_type';

/** Most verified tokens remembered at once (about 2 KB each); the least recently verified are dropped first. */
const MAX_VERIFIED = 5_000;

/**
 * Issues and verifies Roster's JWT access tokens (RFC 9068, `typ: at+jwt`).
 *
 * A token whose signature was verified is remembered (the exact bytes, so a token altered in any
 * way is verified again), and an agent that calls many times with one token pays for one
 * signature check: at each use, what may have changed since is checked again (its key is still
 * published, it has not expired, issuer and audience). Only tokens that verified are remembered.
 */
export class AccessTokens {
  private readonly verified = new Map<string, { kid: string; claims: AccessTokenClaims }>();

  constructor(private readonly deps: { issuer: () => string; keys: SigningKeys; clock?: () => Date; maxVerified?: number }) {}

  private now(): Date {
    return (this.deps.clock ?? (() => new Date()))();
  }

  /** Signs a token for the agent with exactly these scopes, audience and expiry. */
  async issue(
    agent: AgentRecord,
    scopes: readonly LiveScope[],
    audience: string[],
    expiresAt: Date,
  ): Promise<{ token: string; claims: AccessTokenClaims }> {
    const key = await this.deps.keys.current();
    const iat = Math.floor(this.now().getTime() / 1000);
    const claims: AccessTokenClaims = {
      iss: this.deps.issuer(),
      sub: agent.id,
      aud: audience.length === 1 ? audience[0]! : audience,
      exp: Math.max(iat + 1, Math.floor(expiresAt.getTime() / 1000)),
      iat,
      jti: randomBytes(16).toString('base64url'),
      client_id: agent.id,
      ...(scopes.length ? { scope: scopes.map((s) => s.scope).join(' ') } : {}),
      role: agent.catalogRoleId,
      business_unit: agent.businessUnit,
      sponsors: [...agent.sponsors],
      status: agent.status,
    };
    const token = await new SignJWT(claims).setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid }).sign(key.privateKey);
    return { token, claims };
  }

  /**
   * Verifies signature (a published Roster key), `typ`, issuer, expiry and, when given, that the
   * audience includes `audience`. Resolves the claims or the reason it failed; never throws.
   */
  async verify(token: string, audience?: string): Promise<{ ok: true; claims: AccessTokenClaims } | { ok: false; problem: TokenProblem }> {
    if (token.length > 8192 || token.split('.').length !== 3) return { ok: false, problem: 'malformed' };
    const known = this.verified.get(token);
    if (known) return this.recheck(token, known.kid, known.claims, audience);
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return { ok: false, problem: 'malformed' };
    }
    if (typeof kid !== 'string') return { ok: false, problem: 'unknown_key' };
    const key = await this.deps.keys.verificationKey(kid);
    if (!key) return { ok: false, problem: 'unknown_key' };
    try {
      const { payload } = await jwtVerify(token, key.key, {
        typ: 'at+jwt',
        issuer: this.deps.issuer(),
        algorithms: [key.alg].filter((a) => (SIGNING_ALGORITHMS as readonly string[]).includes(a)),
        requiredClaims: ['exp', 'iat', 'sub', 'client_id', 'jti', 'aud'],
        currentDate: this.now(),
        clockTolerance: 0,
        ...(audience ? { audience } : {}),
      });
      if (typeof payload.client_id !== 'string' || payload.client_id !== payload.sub) return { ok: false, problem: 'malformed' };
      if (!idOrUndefined('AgentId', payload.sub)) return { ok: false, problem: 'malformed' };
      const claims = payload as AccessTokenClaims;
      this.remember(token, kid, claims);
      return { ok: true, claims };
    } catch (err) {
      if (err instanceof errors.JWTExpired) return { ok: false, problem: 'expired' };
      if (err instanceof errors.JWTClaimValidationFailed) {
        if (err.claim === 'iss') return { ok: false, problem: 'wrong_issuer' };
        if (err.claim === 'aud') return { ok: false, problem: 'wrong_audience' };
        if (err.claim === 'typ') return { ok: false, problem: 'wrong_type' };
        return { ok: false, problem: 'malformed' };
      }
      if (err instanceof errors.JWSSignatureVerificationFailed) return { ok: false, problem: 'bad_signature' };
      return { ok: false, problem: 'malformed' };
    }
  }

  private remember(token: string, kid: string, claims: AccessTokenClaims): void {
    // Every later use of this token is answered with this very object: frozen, so that no caller
    // can change what the next one is told (a scope added here would be granted there).
    for (const value of Object.values(claims)) if (Array.isArray(value)) Object.freeze(value);
    this.verified.set(token, { kid, claims: Object.freeze(claims) });
    while (this.verified.size > (this.deps.maxVerified ?? MAX_VERIFIED)) this.verified.delete(this.verified.keys().next().value!);
  }

  /** A remembered token's checks that depend on time or on the caller, in jwtVerify's order and with its answers. */
  private async recheck(
    token: string,
    kid: string,
    claims: AccessTokenClaims,
    audience: string | undefined,
  ): Promise<{ ok: true; claims: AccessTokenClaims } | { ok: false; problem: TokenProblem }> {
    const now = Math.floor(this.now().getTime() / 1000);
    if (!(await this.deps.keys.verificationKey(kid))) {
      this.verified.delete(token);
      return { ok: false, problem: 'unknown_key' };
    }
    if (claims.iss !== this.deps.issuer()) return { ok: false, problem: 'wrong_issuer' };
    if (audience !== undefined && !(typeof claims.aud === 'string' ? claims.aud === audience : claims.aud.includes(audience)))
      return { ok: false, problem: 'wrong_audience' };
    if (typeof claims.nbf === 'number' && claims.nbf > now) return { ok: false, problem: 'malformed' };
    if (claims.exp <= now) {
      this.verified.delete(token);
      return { ok: false, problem: 'expired' };
    }
    return { ok: true, claims };
  }
}
