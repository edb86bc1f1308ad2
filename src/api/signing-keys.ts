import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Logger } from '../logger.js';
import type { SigningKeyRepository, StoredSigningKey } from '../store/signing-key-store.js';

/*
 * Token-signing keys. Three sources, in order of preference:
 *  - configuration (ROSTER_OAUTH_SIGNING_KEY or …_FILE): a PEM, a private JWK, or a JWKS whose
 *    first key signs and whose other keys are still published (the operator rotates by prepending);
 *  - the database, sealed with AES-256-GCM under ROSTER_OAUTH_KEK: generated here, shared by every
 *    replica, rotated on a schedule or on command; the private key is never stored in clear;
 *  - neither (development and tests only): one key in memory for this process.
 * Private keys are never logged, audited or returned by any function here except as KeyObjects.
 */

/** A public key as published in the JWKS (RFC 7517: kid, alg, use). */
export type PublishedJwk = JWK & { kid: string; alg: string; use: 'sig' };

/** The key that signs new tokens. */
export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
}

/** The signing keys, whatever their source. */
export interface SigningKeys {
  /** Where the keys come from, for the start-up log line. */
  readonly source: 'configuration' | 'database' | 'memory';
  /** The key that signs now. */
  current(): Promise<SigningKey>;
  /** Every public key a valid token may have been signed with (and the next one, before it signs). */
  published(): Promise<PublishedJwk[]>;
  /** The public key with this kid, if it is still published. */
  verificationKey(kid: string): Promise<{ key: KeyObject; alg: string } | undefined>;
  /** Generates the next key (database source only); resolves its kid, or undefined when the source cannot rotate. */
  rotate(): Promise<string | undefined>;
  /** Rotates when the current key is older than the rotation period; the scheduled job calls this. */
  rotateIfDue(): Promise<string | undefined>;
}

export interface SigningKeySettings {
  signingKey?: string;
  signingKeyFile?: string;
  /** Base64 of 32 bytes. */
  kek?: string;
  rotationMs: number;
  /** The longest token lifetime: an old key stays published this long after the next one takes over. */
  tokenLifetimeMs: number;
  /** How long a new key is published before it signs (verifiers cache JWKS). */
  publishLeadMs?: number;
  repo?: SigningKeyRepository;
  log: Logger;
  clock?: () => Date;
}

/** Allowed algorithms and the key types they need. */
export const SIGNING_ALGORITHMS = ['ES256', 'EdDSA', 'RS256'] as const;

function algorithmOf(key: KeyObject): string {
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) return 'RS256';
  throw new Error('the signing key must be an EC P-256, Ed25519 or RSA (2048 bits or more) private key');
}

async function publicJwkOf(privateKey: KeyObject, alg: string): Promise<PublishedJwk> {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg, use: 'sig' };
}

/** Parses configured key text: PEM, a private JWK, or a JWKS of private keys. */
function parseConfiguredKeys(text: string): KeyObject[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new Error('the signing key looks like JSON but does not parse');
    }
    const jwks = Array.isArray((parsed as { keys?: unknown }).keys) ? ((parsed as { keys: unknown[] }).keys as JWK[]) : [parsed as JWK];
    if (jwks.length === 0) throw new Error('the signing key set is empty');
    return jwks.map((jwk) => {
      if (typeof jwk !== 'object' || jwk === null || !('d' in jwk)) throw new Error('every configured JWK must be a private key');
      return createPrivateKey({ key: jwk as never, format: 'jwk' });
    });
  }
  try {
    return [createPrivateKey(trimmed.replace(/\\n/g, '\n'))];
  } catch {
    throw new Error('the signing key is neither a PEM private key nor a JWK');
  }
}

function seal(kek: Buffer, kid: string, privateKey: KeyObject): StoredSigningKey['sealed'] {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  cipher.setAAD(Buffer.from(kid));
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const data = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  return { iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

function unseal(kek: Buffer, kid: string, sealed: StoredSigningKey['sealed']): KeyObject {
  const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(sealed.iv, 'base64'));
  decipher.setAAD(Buffer.from(kid));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  const der = Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]);
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

/** A fixed set of keys held in this process (configuration, or one generated in memory). */
async function fixedKeys(privateKeys: KeyObject[], source: 'configuration' | 'memory'): Promise<SigningKeys> {
  const entries = await Promise.all(
    privateKeys.map(async (privateKey) => {
      const alg = algorithmOf(privateKey);
      const jwk = await publicJwkOf(privateKey, alg);
      return { privateKey, alg, jwk, publicKey: createPublicKey(privateKey) };
    }),
  );
  const first = entries[0]!;
  return {
    source,
    current: async () => ({ kid: first.jwk.kid, alg: first.alg, privateKey: first.privateKey }),
    published: async () => entries.map((e) => e.jwk),
    verificationKey: async (kid) => {
      const e = entries.find((x) => x.jwk.kid === kid);
      return e ? { key: e.publicKey, alg: e.alg } : undefined;
    },
    rotate: async () => undefined,
    rotateIfDue: async () => undefined,
  };
}

/** How long the database key set is reused before it is read again (other replicas may have rotated). */
const RELOAD_MS = 5000;

/** Keys generated here and stored sealed in the database, shared by every replica. */
function storedKeys(s: SigningKeySettings & { repo: SigningKeyRepository; kek: string }): SigningKeys {
  const kek = Buffer.from(s.kek, 'base64');
  const clock = s.clock ?? (() => new Date());
  const lead = s.publishLeadMs ?? 10 * 60_000;
  // After the next key takes over, the old one still verifies tokens it signed until they expire (plus clock skew).
  const keepAfterRetirementMs = s.tokenLifetimeMs + 60_000;
  let cache: { at: number; keys: StoredSigningKey[] } | undefined;
  let loading: Promise<StoredSigningKey[]> | undefined;
  const unsealed = new Map<string, KeyObject>();
  const publicKeys = new Map<string, KeyObject>();

  const load = async (force = false): Promise<StoredSigningKey[]> => {
    const now = Date.now();
    if (!force && cache && now - cache.at < RELOAD_MS) return cache.keys;
    loading ??= s.repo
      .list()
      .then((keys) => {
        cache = { at: Date.now(), keys };
        return keys;
      })
      .finally(() => {
        loading = undefined;
      });
    return loading;
  };

  const generate = async (generation: number, activatesAt: Date): Promise<string | undefined> => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = await publicJwkOf(privateKey, 'ES256');
    const { kid, ...publicJwk } = jwk;
    const inserted = await s.repo.insert({
      kid,
      generation,
      alg: 'ES256',
      publicJwk,
      sealed: seal(kek, kid, privateKey),
      createdAt: clock(),
      activatesAt,
    });
    await load(true);
    if (!inserted) return undefined;
    s.log.info({ kid, generation, activatesAt: activatesAt.toISOString() }, 'generated a new token-signing key');
    return kid;
  };

  /** The key signing at `at`: the newest generation already active. */
  const activeAt = (keys: StoredSigningKey[], at: number) => keys.find((k) => k.activatesAt.getTime() <= at);

  const current = async (): Promise<SigningKey> => {
    let keys = await load();
    let active = activeAt(keys, clock().getTime());
    if (!active) {
      // First start on this database: the first key signs at once (there is nothing to verify yet).
      await generate((keys[0]?.generation ?? 0) + 1, clock());
      keys = await load(true);
      active = activeAt(keys, clock().getTime());
      if (!active) throw new Error('no token-signing key is available');
    }
    let privateKey = unsealed.get(active.kid);
    if (!privateKey) {
      try {
        privateKey = unseal(kek, active.kid, active.sealed);
      } catch {
        throw new Error('the stored token-signing key cannot be decrypted: ROSTER_OAUTH_KEK is not the key it was sealed with');
      }
      unsealed.set(active.kid, privateKey);
    }
    return { kid: active.kid, alg: active.alg, privateKey };
  };

  /** Keys a token may have been signed with at `at`, plus the next one once it is stored. */
  const publishable = (keys: StoredSigningKey[], at: number) =>
    keys.filter((k, i) => {
      const newer = keys.slice(0, i).filter((n) => n.activatesAt.getTime() <= at);
      if (newer.length === 0) return true;
      const retiredAt = Math.min(...newer.map((n) => n.activatesAt.getTime()));
      return retiredAt + keepAfterRetirementMs > at;
    });

  return {
    source: 'database',
    current,
    async published() {
      const keys = publishable(await load(), clock().getTime());
      return keys.map((k) => ({ ...(k.publicJwk as JWK), kid: k.kid, alg: k.alg, use: 'sig' as const }));
    },
    async verificationKey(kid) {
      let keys = publishable(await load(), clock().getTime());
      let key = keys.find((k) => k.kid === kid);
      if (!key && cache && Date.now() - cache.at > 1000) {
        // Another replica may have rotated since the last read.
        keys = publishable(await load(true), clock().getTime());
        key = keys.find((k) => k.kid === kid);
      }
      if (!key) return undefined;
      let publicKey = publicKeys.get(kid);
      if (!publicKey) {
        publicKey = createPublicKey({ key: key.publicJwk as never, format: 'jwk' });
        publicKeys.set(kid, publicKey);
      }
      return { key: publicKey, alg: key.alg };
    },
    async rotate() {
      const keys = await load(true);
      if (keys.length === 0) {
        await current();
        return (await load(true))[0]?.kid;
      }
      const kid = await generate(keys[0]!.generation + 1, new Date(clock().getTime() + lead));
      const now = clock().getTime();
      const keep = new Set(publishable(await load(true), now).map((k) => k.kid));
      await s.repo.remove((cache?.keys ?? []).filter((k) => !keep.has(k.kid)).map((k) => k.kid));
      return kid;
    },
    async rotateIfDue() {
      const keys = await load(true);
      const newest = keys[0];
      if (!newest) return undefined;
      // A key already waiting to take over means the rotation happened.
      if (newest.activatesAt.getTime() > clock().getTime()) return undefined;
      if (clock().getTime() - newest.activatesAt.getTime() < s.rotationMs) return undefined;
      return this.rotate();
    },
  };
}

/** Builds the signing keys from the configured source; throws with a reason when the configuration is unusable. */
export async function createSigningKeys(s: SigningKeySettings): Promise<SigningKeys> {
  if (s.signingKey || s.signingKeyFile) {
    let text: string;
    if (s.signingKey) text = s.signingKey;
    else {
      try {
        text = readFileSync(s.signingKeyFile!, 'utf8');
      } catch {
        throw new Error(`the signing key file ${s.signingKeyFile} cannot be read`);
      }
    }
    return fixedKeys(parseConfiguredKeys(text), 'configuration');
  }
  if (s.kek && s.repo) {
    await s.repo.ensureIndexes();
    const keys = storedKeys({ ...s, repo: s.repo, kek: s.kek });
    await keys.current();
    return keys;
  }
  s.log.warn(
    'no token-signing key source is configured (ROSTER_OAUTH_KEK or ROSTER_OAUTH_SIGNING_KEY): using a key held in memory by this process only',
  );
  return fixedKeys([generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey], 'memory');
}
