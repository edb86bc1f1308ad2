import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CheckpointSigner } from '../core/audit-checkpoints.js';
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

/** Signs checkpoints with an Ed25519 private key; its id is derived from the public key. */
export function ed25519Signer(privateKey: KeyObject): CheckpointSigner {
  const publicKey = createPublicKey(privateKey);
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const keyId = createHash('sha256').update(raw).digest('hex').slice(0, 16);
  return {
    algorithm: 'Ed25519',
    keyId,
    sign: (payload) => sign(null, payload, privateKey).toString('base64url'),
    verify: (payload, signature) => {
      try {
        return verify(null, payload, publicKey, Buffer.from(signature, 'base64url'));
      } catch {
        return false;
      }
    },
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
): { signer: CheckpointSigner; source: AuditKeySource } | undefined {
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

/** One line when the configured key cannot be read, for start-up to refuse with; empty otherwise. */
export function auditKeyProblems(env: Env): string[] {
  try {
    loadAuditSigner(env, { generate: false });
    return [];
  } catch (err) {
    if (err instanceof AuditKeyError) return [`environment: ${err.message}`];
    throw err;
  }
}
