import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { CheckpointSigner, CheckpointVerifier } from '../core/audit-checkpoints.js';
import type { Env } from './env.js';

/** Where a development or test Roster keeps the key it generated, inside `ROSTER_DATA_DIR`. */
export const GENERATED_AUDIT_KEY_FILE = 'audit-signing-key.pem';

/* PKCS#8 DER header of an Ed25519 private key: what precedes the 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The audit signing key could not be read or used; the message names the variable, never the key. */
export class AuditKeyError extends Error {}

/**
 * Reads an Ed25519 private key: PEM (PKCS#8, as `openssl genpkey -algorithm ed25519` writes it) or
 * the 32-byte seed as 64 hex characters or base64/base64url.
 * @throws AuditKeyError naming `source` when the text is neither.
 */
export function parseAuditSigningKey(text: string, source = 'ROSTER_AUDIT_SIGNING_KEY'): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    if (trimmed.startsWith('-----BEGIN')) key = createPrivateKey(trimmed);
    else {
      const seed = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
      if (seed.length !== 32) throw new Error('not 32 bytes');
      key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    }
  } catch {
    throw new AuditKeyError(
      `${source}: expected an Ed25519 private key: PEM (openssl genpkey -algorithm ed25519) or its 32-byte seed as hex or base64`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new AuditKeyError(`${source}: expected an Ed25519 key, got ${key.asymmetricKeyType ?? 'another kind'}`);
  return key;
}

/**
 * The id a checkpoint names its key by: the first 16 hex characters of the SHA-256 of the raw
 * 32-byte Ed25519 public key. Computed from the key itself, never taken from a label on it.
 */
export function auditKeyId(publicKey: KeyObject): string {
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

/** Verifies checkpoints with an Ed25519 public key alone. */
export function ed25519Verifier(publicKey: KeyObject): CheckpointVerifier & { publicKey: KeyObject } {
  return {
    keyId: auditKeyId(publicKey),
    publicKey,
    verify: (payload, signature) => {
      try {
        return verify(null, payload, publicKey, Buffer.from(signature, 'base64url'));
      } catch {
        return false;
      }
    },
  };
}

/** Signs checkpoints with an Ed25519 private key; its id is derived from the public key. */
export function ed25519Signer(privateKey: KeyObject): CheckpointSigner & { publicKey: KeyObject } {
  return {
    ...ed25519Verifier(createPublicKey(privateKey)),
    algorithm: 'Ed25519',
    sign: (payload) => sign(null, payload, privateKey).toString('base64url'),
  };
}

/** Where audit public keys come from, named in messages. */
export const VERIFY_KEYS_VARIABLE = 'ROSTER_AUDIT_VERIFY_KEYS';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * Reads audit public keys: one or more PEM public keys (SPKI, as `roster audit public-key` or
 * `openssl pkey -pubout` write them), a JWK, or a JWK Set (`{"keys": [...]}`). A private key is
 * refused: whoever verifies must not hold what signs. Key ids are computed from each key.
 * @throws AuditKeyError naming `source` when the text holds no usable Ed25519 public key.
 */
export function parseAuditPublicKeys(
  text: string,
  source: string = VERIFY_KEYS_VARIABLE,
): Array<CheckpointVerifier & { publicKey: KeyObject }> {
  const trimmed = text.trim();
  const keys: KeyObject[] = [];
  const fail = (why: string): never => {
    throw new AuditKeyError(
      `${source}: ${why}: expected Ed25519 public keys as PEM (roster audit public-key) or a JWK / JWK Set (roster audit public-key --jwk)`,
    );
  };
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      return fail('not valid JSON');
    }
    const list = (parsed as { keys?: unknown }).keys;
    const jwks = Array.isArray(list) ? list : [parsed];
    for (const jwk of jwks) {
      if (typeof jwk !== 'object' || jwk === null) fail('a JWK is not an object');
      if ('d' in (jwk as object)) fail('a private key was given');
      try {
        keys.push(createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }));
      } catch {
        fail('a JWK is not a public key');
      }
    }
  } else {
    const blocks = trimmed.match(PEM_BLOCK) ?? [];
    if (blocks.length === 0) fail('no PEM block');
    for (const block of blocks) {
      if (/PRIVATE KEY/.test(block.slice(0, 40))) fail('a private key was given');
      try {
        keys.push(createPublicKey(block));
      } catch {
        fail('a PEM block is not a public key');
      }
    }
  }
  if (keys.length === 0) fail('no key');
  for (const key of keys) if (key.asymmetricKeyType !== 'ed25519') fail(`a ${key.asymmetricKeyType ?? 'non-Ed25519'} key was given`);
  return keys.map(ed25519Verifier);
}

/** Reads the audit public keys in `file` (see {@link parseAuditPublicKeys}). */
export function readAuditPublicKeys(file: string): Array<CheckpointVerifier & { publicKey: KeyObject }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AuditKeyError(`--public-key: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseAuditPublicKeys(text, file);
}

/** The public keys in `ROSTER_AUDIT_VERIFY_KEYS` (none when unset). */
export function loadAuditVerifyKeys(env: Pick<Env, 'ROSTER_AUDIT_VERIFY_KEYS'>): Array<CheckpointVerifier & { publicKey: KeyObject }> {
  return env.ROSTER_AUDIT_VERIFY_KEYS ? parseAuditPublicKeys(env.ROSTER_AUDIT_VERIFY_KEYS) : [];
}

/** An audit public key in the forms `roster audit public-key` prints. */
export interface AuditPublicKeyExport {
  keyId: string;
  algorithm: 'Ed25519';
  /** SPKI PEM. */
  pem: string;
  /** The public JWK, with `kid` set to the key id checkpoints carry. */
  jwk: JWK & { kid: string; alg: 'EdDSA'; use: 'sig' };
  /** RFC 7638 thumbprint (SHA-256, base64url) of the JWK, for comparing keys with standard JOSE tools. */
  thumbprint: string;
}

/** The public half of an audit key, as an auditor takes it away. */
export async function exportAuditPublicKey(publicKey: KeyObject): Promise<AuditPublicKeyExport> {
  const { kty, crv, x } = publicKey.export({ format: 'jwk' });
  const base = { kty: kty!, crv: crv!, x: x! };
  return {
    keyId: auditKeyId(publicKey),
    algorithm: 'Ed25519',
    pem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    jwk: { ...base, kid: auditKeyId(publicKey), alg: 'EdDSA', use: 'sig' },
    thumbprint: await calculateJwkThumbprint(base, 'sha256'),
  };
}

/** Where the signer came from: configuration, or a key generated for this data directory. */
export type AuditKeySource = 'ROSTER_AUDIT_SIGNING_KEY' | 'ROSTER_AUDIT_SIGNING_KEY_FILE' | 'generated';

/**
 * The audit signing key from configuration: `ROSTER_AUDIT_SIGNING_KEY`, else the file named by
 * `ROSTER_AUDIT_SIGNING_KEY_FILE`. Outside production, when neither is set, the key kept in
 * `ROSTER_DATA_DIR` is used, generated on first use when `generate` is true (so a development
 * Roster and its CLI share one). Production never generates one: {@link productionProblems}
 * refuses to start without a configured key.
 *
 * @returns undefined when no key is configured and none may be generated or found.
 * @throws AuditKeyError when the configured key cannot be read.
 */
export function loadAuditSigner(
  env: Pick<Env, 'NODE_ENV' | 'ROSTER_DATA_DIR' | 'ROSTER_AUDIT_SIGNING_KEY' | 'ROSTER_AUDIT_SIGNING_KEY_FILE'>,
  options: { generate: boolean },
): { signer: CheckpointSigner & { publicKey: KeyObject }; source: AuditKeySource } | undefined {
  if (env.ROSTER_AUDIT_SIGNING_KEY) {
    return { signer: ed25519Signer(parseAuditSigningKey(env.ROSTER_AUDIT_SIGNING_KEY)), source: 'ROSTER_AUDIT_SIGNING_KEY' };
  }
  if (env.ROSTER_AUDIT_SIGNING_KEY_FILE) {
    let text: string;
    try {
      text = readFileSync(env.ROSTER_AUDIT_SIGNING_KEY_FILE, 'utf8');
    } catch (err) {
      throw new AuditKeyError(
        `ROSTER_AUDIT_SIGNING_KEY_FILE: cannot read ${env.ROSTER_AUDIT_SIGNING_KEY_FILE} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    return { signer: ed25519Signer(parseAuditSigningKey(text, 'ROSTER_AUDIT_SIGNING_KEY_FILE')), source: 'ROSTER_AUDIT_SIGNING_KEY_FILE' };
  }
  if (env.NODE_ENV === 'production') return undefined;
  const file = path.resolve(env.ROSTER_DATA_DIR, GENERATED_AUDIT_KEY_FILE);
  const existing = readIfPresent(file);
  if (existing !== undefined) return { signer: ed25519Signer(parseAuditSigningKey(existing, file)), source: 'generated' };
  if (!options.generate) return undefined;
  return { signer: ed25519Signer(parseAuditSigningKey(generateKeyFile(file), file)), source: 'generated' };
}

/**
 * The configured signing key, read again (the checkpoint job's per-run read of a key file).
 * @throws AuditKeyError when it cannot be read, or is no longer configured.
 */
export function reloadAuditSigner(
  env: Pick<Env, 'NODE_ENV' | 'ROSTER_DATA_DIR' | 'ROSTER_AUDIT_SIGNING_KEY' | 'ROSTER_AUDIT_SIGNING_KEY_FILE'>,
): CheckpointSigner {
  const loaded = loadAuditSigner(env, { generate: false });
  if (!loaded) throw new AuditKeyError('no audit signing key is configured');
  return loaded.signer;
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AuditKeyError(`${file}: cannot read the generated audit signing key (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * Writes a new key to `file` unless another process got there first, and returns the key that won.
 * The key is written whole to a private temporary file and then linked into place, so a reader
 * never sees half a key and two processes never end up with different keys.
 */
function generateKeyFile(file: string): string {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(temp, pem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new AuditKeyError(
      `cannot keep a generated audit signing key in ${path.dirname(file)} (${(err as NodeJS.ErrnoException).code ?? 'error'}): set ROSTER_AUDIT_SIGNING_KEY, or ROSTER_DATA_DIR to a writable directory`,
    );
  }
  try {
    linkSync(temp, file);
    return pem;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readFileSync(file, 'utf8');
  } finally {
    unlinkSync(temp);
  }
}

/** One line per configured key that cannot be read (signing key, public keys), for start-up to refuse with. */
export function auditKeyProblems(env: Env): string[] {
  const problems: string[] = [];
  for (const load of [() => loadAuditSigner(env, { generate: false }), () => loadAuditVerifyKeys(env)]) {
    try {
      load();
    } catch (err) {
      if (!(err instanceof AuditKeyError)) throw err;
      problems.push(`environment: ${err.message}`);
    }
  }
  return problems;
}
