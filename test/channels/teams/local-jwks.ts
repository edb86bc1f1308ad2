import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The issuer of Bot Framework channel tokens (what Teams deliveries carry). */
export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';

/**
 * A signing authority on 127.0.0.1 for the Teams JWT tests: it serves a JSON Web Key Set at
 * every path (the Bot Framework channel keys at {@link LocalJwks.channelKeysUrl}, and
 * `/<tenant>/discovery/v2.0/keys`, where the Agents SDK looks when the connection's
 * `authorityEndpoint` points here), endorsed for `msteams` as Bot Framework keys are, and signs
 * tokens with its key. Tokens signed by any other key
 * are forgeries the SDK must refuse; tokens signed by this one must pass, so a refusal is known
 * to come from the signature check and not from a network failure.
 */
export class LocalJwks {
  static readonly KID = 'roster-test-key';
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private server?: http.Server;
  /** Paths the SDK fetched keys from. */
  readonly fetches: string[] = [];

  private constructor() {
    ({ privateKey: this.privateKey, publicKey: this.publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 }));
  }

  static async start(): Promise<LocalJwks> {
    const jwks = new LocalJwks();
    const key = { ...jwks.publicKey.export({ format: 'jwk' }), kid: LocalJwks.KID, use: 'sig', alg: 'RS256', endorsements: ['msteams'] };
    jwks.server = http.createServer((req, res) => {
      jwks.fetches.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [key] }));
    });
    await new Promise<void>((resolve) => jwks.server!.listen(0, '127.0.0.1', resolve));
    return jwks;
  }

  /** The authority to configure (`connections__serviceConnection__settings__authorityEndpoint`). */
  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** Where Roster fetches the Bot Framework channel keys in tests (`ROSTER_TEAMS_CHANNEL_KEYS_URL`). */
  get channelKeysUrl(): string {
    return `${this.url}${LocalJwks.CHANNEL_KEYS_PATH}`;
  }

  static readonly CHANNEL_KEYS_PATH = '/botframework/v1/.well-known/keys';

  /**
   * An RS256 JWT: signed with this authority's key, or with a fresh key of its own (`forged`),
   * named `forged-key` or, with `kid`, as the authority's key is.
   */
  sign(claims: Record<string, unknown>, options: { forged?: boolean; kid?: string } = {}): string {
    const key = options.forged ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey : this.privateKey;
    const kid = options.kid ?? (options.forged ? 'forged-key' : LocalJwks.KID);
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${b64({ iat: now, nbf: now, exp: now + 3600, ...claims })}`;
    return `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(key).toString('base64url')}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
