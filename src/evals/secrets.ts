import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** An endpoint secret as stored: AES-256-GCM, a fresh 96-bit IV each time, base64 parts. */
export interface SealedSecret {
  v: 1;
  iv: string;
  tag: string;
  data: string;
}

/**
 * Seals endpoint secrets (API keys of agents under evaluation) with AES-256-GCM under the key in
 * `ROSTER_EVAL_SECRET_KEY`; the agent id is bound as additional data so a sealed secret copied to
 * another agent's record does not open. Roster never shows a secret again once stored.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the evaluation secret key must be 32 bytes');
    this.key = key;
  }

  /** A key from `ROSTER_EVAL_SECRET_KEY` (64 hex characters or base64 of 32 bytes). */
  static parseKey(text: string): Buffer | undefined {
    const t = text.trim();
    const key = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
    return key.length === 32 ? key : undefined;
  }

  seal(secret: string, boundTo: string): SealedSecret {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(boundTo));
    const data = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return { v: 1, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
  }

  /** The secret, or undefined when it does not open (another key, another agent, tampered). */
  open(sealed: SealedSecret, boundTo: string): string | undefined {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(sealed.iv, 'base64'));
      decipher.setAAD(Buffer.from(boundTo));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
