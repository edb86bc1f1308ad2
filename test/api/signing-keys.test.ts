import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createSigningKeys } from '../../src/api/signing-keys.js';
import { AccessTokens } from '../../src/api/tokens.js';
import { ApiUsage } from '../../src/api/usage.js';
import { productionProblems, envSchema } from '../../src/config/env.js';
import { createApiUsageRepository } from '../../src/store/api-usage-store.js';
import { createAuditLog } from '../../src/store/audit-store.js';
import { createSigningKeyRepository } from '../../src/store/signing-key-store.js';
import { openTestDb, type TestDb } from '../helpers/db.js';
import { agentRecord, eventually } from '../helpers/harness.js';
import { memoryLogger } from '../helpers/logger.js';
import { asAgentId } from '../helpers/ids.js';

const KEK = randomBytes(32).toString('base64');
const LIFETIME = 300_000;

describe('token-signing keys', () => {
  let db: TestDb;
  beforeEach(async () => {
    db = await openTestDb('keys');
  });
  afterEach(async () => {
    await db.close();
  });

  it('generated keys are stored sealed under the KEK (never in clear), shared by replicas, and never logged', async () => {
    const memory = memoryLogger();
    const repo = createSigningKeyRepository(db.connection);
    const first = await createSigningKeys({ kek: KEK, repo, rotationMs: 30 * 86_400_000, tokenLifetimeMs: LIFETIME, log: memory.log });
    const second = await createSigningKeys({ kek: KEK, repo, rotationMs: 30 * 86_400_000, tokenLifetimeMs: LIFETIME, log: memory.log });
    expect(first.source).toBe('database');
    const a = await first.current();
    expect((await second.current()).kid).toBe(a.kid);

    const stored = await db.connection.collection('oauth_signing_keys').find({}).toArray();
    expect(stored).toHaveLength(1);
    const privateJwk = a.privateKey.export({ format: 'jwk' }) as { d: string };
    const pkcs8 = a.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    const everything = JSON.stringify(stored) + JSON.stringify(memory.lines());
    expect(everything).not.toContain(privateJwk.d);
    expect(everything).not.toContain(pkcs8);
    expect(stored[0]!.publicJwk).not.toHaveProperty('d');

    // A replica with another KEK cannot use the stored key and says why.
    const wrong = createSigningKeys({
      kek: randomBytes(32).toString('base64'),
      repo,
      rotationMs: 1,
      tokenLifetimeMs: LIFETIME,
      log: memory.log,
    });
    await expect(wrong).rejects.toThrow(/ROSTER_OAUTH_KEK/);
  });

  it('rotation publishes the next key before it signs and keeps the old one until its tokens expire', async () => {
    let now = new Date('2030-01-01T00:00:00Z');
    const clock = () => now;
    const repo = createSigningKeyRepository(db.connection);
    const { log } = memoryLogger();
    const keys = await createSigningKeys({
      kek: KEK,
      repo,
      rotationMs: 86_400_000,
      tokenLifetimeMs: LIFETIME,
      publishLeadMs: 600_000,
      log,
      clock,
    });
    const tokens = new AccessTokens({ issuer: () => 'https://roster.example', keys, clock });
    const agent = agentRecord();
    const oldKid = (await keys.current()).kid;
    const signedBefore = await tokens.issue(agent, [], ['https://roster.example/api/v1'], new Date(now.getTime() + LIFETIME));

    expect(await keys.rotateIfDue()).toBeUndefined(); // not due yet
    now = new Date(now.getTime() + 86_400_000 + 1);
    const nextKid = await keys.rotateIfDue();
    expect(nextKid).toBeDefined();
    expect(await keys.rotateIfDue()).toBeUndefined(); // one rotation only
    // Published at once, but the old key still signs during the lead time.
    expect((await keys.published()).map((k) => k.kid).sort()).toEqual([oldKid, nextKid].sort());
    expect((await keys.current()).kid).toBe(oldKid);

    now = new Date(now.getTime() + 600_000 + 1);
    // Each replica re-reads the key set every few seconds; the next key signs once it has.
    await eventually(async () => (await keys.current()).kid === nextKid);
    const signedAfter = await tokens.issue(agent, [], ['https://roster.example/api/v1'], new Date(now.getTime() + LIFETIME));
    expect((await keys.published()).map((k) => k.kid).sort()).toEqual([oldKid, nextKid].sort());

    // Both verify against the published JWKS; once the old key's last token expired, it is gone.
    const jwks = createLocalJWKSet({ keys: await keys.published() });
    for (const t of [signedBefore.token, signedAfter.token])
      await expect(jwtVerify(t, jwks, { currentDate: now, clockTolerance: 1e6 })).resolves.toBeDefined();
    now = new Date(now.getTime() + LIFETIME + 60_001);
    expect((await keys.published()).map((k) => k.kid)).toEqual([nextKid]);
    expect(await tokens.verify(signedBefore.token)).toMatchObject({ ok: false });
  }, 20_000);

  it('reads a configured PEM, JWK or JWKS (first key signs, the others stay published)', async () => {
    const { log } = memoryLogger();
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const ed = generateKeyPairSync('ed25519').privateKey;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'roster-key-'));
    try {
      const file = path.join(dir, 'key.pem');
      writeFileSync(file, ec.export({ format: 'pem', type: 'pkcs8' }));
      const fromFile = await createSigningKeys({ signingKeyFile: file, rotationMs: 1, tokenLifetimeMs: LIFETIME, log });
      expect(fromFile.source).toBe('configuration');
      expect((await fromFile.current()).alg).toBe('ES256');

      const jwks = JSON.stringify({ keys: [ed.export({ format: 'jwk' }), ec.export({ format: 'jwk' })] });
      const fromEnv = await createSigningKeys({ signingKey: jwks, rotationMs: 1, tokenLifetimeMs: LIFETIME, log });
      expect((await fromEnv.current()).alg).toBe('EdDSA');
      expect((await fromEnv.published()).map((k) => k.alg)).toEqual(['EdDSA', 'ES256']);
      for (const k of await fromEnv.published()) expect(k).not.toHaveProperty('d');

      await expect(createSigningKeys({ signingKey: 'not a key', rotationMs: 1, tokenLifetimeMs: LIFETIME, log })).rejects.toThrow(
        /neither a PEM private key nor a JWK/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('production refuses to start without a key source', () => {
    const prod = envSchema.parse({ NODE_ENV: 'production' });
    expect(productionProblems(prod)).toEqual([
      expect.stringContaining('ROSTER_OAUTH_KEK'),
      expect.stringContaining('ROSTER_PUBLIC_URL'),
      expect.stringContaining('ROSTER_CHART_SECRET'),
    ]);
    expect(
      productionProblems(
        envSchema.parse({
          NODE_ENV: 'production',
          ROSTER_OAUTH_KEK: KEK,
          ROSTER_PUBLIC_URL: 'https://roster.example.com',
          ROSTER_CHART_SECRET: 'ab'.repeat(32),
        }),
      ),
    ).toEqual([]);
    expect(productionProblems(envSchema.parse({ NODE_ENV: 'development' }))).toEqual([]);
    expect(envSchema.safeParse({ ROSTER_OAUTH_KEK: 'short' }).success).toBe(false);
  });

  it('usage counters become one audit entry per agent for each finished hour, written once by one replica', async () => {
    let now = new Date('2030-01-01T10:15:00Z');
    const clock = () => now;
    const audit = createAuditLog(db.connection, { clock });
    await audit.ensureIndexes();
    const { log } = memoryLogger();
    const make = () => new ApiUsage({ repo: createApiUsageRepository(db.connection), audit, log, clock });
    const [a, b] = [make(), make()];
    for (let i = 0; i < 5; i++) a.count(asAgentId('agt_aaaaaaaaaaaaaaaa'), 'introspection_active');
    b.count(asAgentId('agt_aaaaaaaaaaaaaaaa'), 'introspection_active');
    b.count(asAgentId('agt_bbbbbbbbbbbbbbbb'), 'access_denied');
    await Promise.all([a.flush(), b.flush()]);
    expect(await a.summarise()).toEqual([]); // the hour is not over

    now = new Date('2030-01-01T11:00:01Z');
    const [doneA, doneB] = await Promise.all([a.summarise(), b.summarise()]);
    expect([...doneA, ...doneB]).toEqual(['2030-01-01T10:00:00.000Z']);
    const entries = (await audit.export()).filter((e) => e.action === 'api.usage.hourly');
    expect(entries.map((e) => [e.subject.agentId, e.details]).sort()).toEqual([
      ['agt_aaaaaaaaaaaaaaaa', { hour: '2030-01-01T10:00:00.000Z', counts: { introspection_active: 6 } }],
      ['agt_bbbbbbbbbbbbbbbb', { hour: '2030-01-01T10:00:00.000Z', counts: { access_denied: 1 } }],
    ]);
    await Promise.all([a.close(), b.close()]);
  });
});
