import { generateKeyPairSync } from 'node:crypto';
import { createSigningKeys, type SigningKeys } from '../../src/api/signing-keys.js';
import { AccessTokens } from '../../src/api/tokens.js';
import { agentRecord } from '../helpers/harness.js';
import { memoryLogger } from '../helpers/logger.js';

/*
 * AccessTokens remembers the tokens whose signature it verified, so an agent calling many times
 * with one token pays for one signature check. What may change after that first check is checked
 * again at every use; these are the cases where a remembered token must still be refused.
 */
describe('verified tokens, remembered', () => {
  const ISSUER = 'https://roster.example';
  const API = `${ISSUER}/api/v1`;
  let now = new Date('2030-01-01T00:00:00Z');
  let published = true;
  // Another key under the same kid: a token checked against it fails, so an answer that stays
  // good while it is in place came from memory.
  let swapped = false;
  const impostor = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  let keys: SigningKeys;
  let tokens: AccessTokens;

  beforeAll(async () => {
    const { log } = memoryLogger();
    const real = await createSigningKeys({
      signingKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      rotationMs: 86_400_000,
      tokenLifetimeMs: 300_000,
      log,
    });
    // The key set as a replica sees it: the test withdraws the key, or puts another one under its kid.
    keys = {
      ...real,
      async verificationKey(kid) {
        if (!published) return undefined;
        return swapped ? { key: impostor, alg: 'ES256' } : real.verificationKey(kid);
      },
    };
    tokens = new AccessTokens({ issuer: () => ISSUER, keys, clock: () => now });
  });

  const issue = async (seconds: number, audience = [API]) =>
    (await tokens.issue(agentRecord(), [], audience, new Date(now.getTime() + seconds * 1000))).token;

  it('answers a remembered token as the first check did, without checking its signature again, until it expires', async () => {
    const token = await issue(60);
    expect(await tokens.verify(token, API)).toMatchObject({ ok: true });
    swapped = true;
    expect(await tokens.verify(await issue(60), API)).toEqual({ ok: false, problem: 'bad_signature' });
    expect(await tokens.verify(token, API)).toMatchObject({ ok: true });
    swapped = false;
    now = new Date(now.getTime() + 59_000);
    expect(await tokens.verify(token)).toMatchObject({ ok: true });
    now = new Date(now.getTime() + 1_000);
    expect(await tokens.verify(token, API)).toEqual({ ok: false, problem: 'expired' });
  });

  it('still checks the audience asked for, and refuses a remembered token whose key is no longer published', async () => {
    const token = await issue(60, ['https://crm.gateway.test/']);
    expect(await tokens.verify(token)).toMatchObject({ ok: true });
    expect(await tokens.verify(token, API)).toEqual({ ok: false, problem: 'wrong_audience' });
    expect(await tokens.verify(token, 'https://crm.gateway.test/')).toMatchObject({ ok: true });
    published = false;
    expect(await tokens.verify(token)).toEqual({ ok: false, problem: 'unknown_key' });
    published = true;
  });

  it('remembers the exact token only: any change to it is verified again and refused', async () => {
    const token = await issue(60);
    expect(await tokens.verify(token, API)).toMatchObject({ ok: true });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const widened = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), scope: 'crm:write' }));
    expect(await tokens.verify(`${header}.${widened.toString('base64url')}.${signature}`, API)).toEqual({
      ok: false,
      problem: 'bad_signature',
    });
    expect(await tokens.verify(`${token.slice(0, -2)}AA`, API)).toMatchObject({ ok: false });
    expect(await tokens.verify(token, API)).toMatchObject({ ok: true });
  });

  it('answers every use with the same claims: a caller changing them changes nothing for the next', async () => {
    const token = await issue(60, [API, 'https://crm.gateway.test/']);
    const first = await tokens.verify(token, API);
    if (!first.ok) throw new Error(`the token was refused: ${first.problem}`);
    expect(() => Object.assign(first.claims, { scope: 'crm:write' })).toThrow(TypeError);
    expect(() => (first.claims.aud as string[]).push('https://erp.gateway.test/')).toThrow(TypeError);
    const again = await tokens.verify(token, API);
    expect(again).toMatchObject({ ok: true, claims: { aud: [API, 'https://crm.gateway.test/'] } });
    expect(again.ok && again.claims.scope).toBeUndefined();
    expect(await tokens.verify(token, 'https://erp.gateway.test/')).toEqual({ ok: false, problem: 'wrong_audience' });
  });

  it('is bounded: the least recently verified are forgotten first, and checked in full when they return', async () => {
    const small = new AccessTokens({ issuer: () => ISSUER, keys, clock: () => now, maxVerified: 2 });
    const [t1, t2, t3] = [await issue(60), await issue(60), await issue(60)];
    for (const t of [t1, t2, t3]) expect(await small.verify(t!, API)).toMatchObject({ ok: true });
    swapped = true;
    expect(await small.verify(t3!, API)).toMatchObject({ ok: true });
    expect(await small.verify(t1!, API)).toEqual({ ok: false, problem: 'bad_signature' });
    swapped = false;
  });
});
