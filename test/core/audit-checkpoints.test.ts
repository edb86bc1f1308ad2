import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { envProblems, envSchema } from '../../src/config/env.js';
import { GENERATED_AUDIT_KEY_FILE, loadAuditSigner } from '../../src/config/audit-signing-key.js';
import { spawnRoster } from '../helpers/roster-process.js';
import { AuditCheckpoints, CHECKPOINT_ACTION, checkpointPayload, checkpointRecordKey } from '../../src/core/audit-checkpoints.js';
import { ed25519Signer } from '../../src/config/audit-signing-key.js';
import { DashboardLinks } from '../../src/core/fleet.js';
import { AUDIT_CHECKPOINT_JOB } from '../../src/jobs/audit-checkpoint.js';
import { createAuditLog } from '../../src/store/audit-store.js';
import { createCheckpointStore } from '../../src/store/audit-checkpoint-store.js';
import { startTestRoster } from '../helpers/app.js';
import { openTestDb, type TestDb } from '../helpers/db.js';
import { eventually } from '../helpers/harness.js';
import { asAgentId } from '../helpers/ids.js';

const LIAM = 'liam.oneill@brightwater.example'; // it-admin
const SECRET = 'test-dashboard-secret-0123456789';

describe('the audit signing key lives outside the database', () => {
  const production = {
    NODE_ENV: 'production',
    ROSTER_OAUTH_KEK: Buffer.alloc(32, 7).toString('base64'),
    ROSTER_EVAL_SECRET_KEY: 'ab'.repeat(32),
    ROSTER_PUBLIC_URL: 'https://roster.example.com',
    ROSTER_CHART_SECRET: 'ab'.repeat(32),
  };

  it('production refuses to start without it, in one line, before touching the database', async () => {
    const proc = spawnRoster({ ...production, ROSTER_DATA_DIR: '/nonexistent/never-created' });
    expect((await proc.exited).code).toBe(2);
    expect(proc.stderr().trim().split('\n')).toEqual([
      expect.stringMatching(/^Roster cannot start: environment: ROSTER_AUDIT_SIGNING_KEY: required in production/),
    ]);
    expect(proc.logs.some((l) => l.msg === 'embedded database started')).toBe(false);
  }, 60_000);

  it('a key that is not an Ed25519 private key is refused by name, never echoed; a seed, a PEM or a file is accepted', () => {
    const secret = `not-a-key-${randomBytes(6).toString('hex')}`;
    const bad = envProblems(envSchema.parse({ ...production, ROSTER_AUDIT_SIGNING_KEY: secret }));
    expect(bad).toEqual([expect.stringContaining('ROSTER_AUDIT_SIGNING_KEY: expected an Ed25519 private key')]);
    expect(bad.join('')).not.toContain(secret);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(envProblems(envSchema.parse({ ...production, ROSTER_AUDIT_SIGNING_KEY: rsa }))).toEqual([
      expect.stringContaining('expected an Ed25519 key'),
    ]);
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(envProblems(envSchema.parse({ ...production, ROSTER_AUDIT_SIGNING_KEY: pem }))).toEqual([]);
    const seed = randomBytes(32);
    const fromHex = loadAuditSigner(envSchema.parse({ ...production, ROSTER_AUDIT_SIGNING_KEY: seed.toString('hex') }), {
      generate: false,
    });
    const fromBase64 = loadAuditSigner(envSchema.parse({ ...production, ROSTER_AUDIT_SIGNING_KEY: seed.toString('base64') }), {
      generate: false,
    });
    expect(fromHex!.signer.keyId).toBe(fromBase64!.signer.keyId);
    expect(envProblems(envSchema.parse({ ...production, ROSTER_AUDIT_SIGNING_KEY_FILE: '/nonexistent/audit.pem' }))[0]).toContain(
      'ROSTER_AUDIT_SIGNING_KEY_FILE: cannot read /nonexistent/audit.pem (ENOENT)',
    );
    // The public keys of earlier signing keys: PEM or a JWK Set; junk, or a private key, refuses start-up by name.
    const publicPem = generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(envProblems(envSchema.parse({ ...production, ROSTER_AUDIT_SIGNING_KEY: pem, ROSTER_AUDIT_VERIFY_KEYS: publicPem }))).toEqual([]);
    expect(envProblems(envSchema.parse({ ...production, ROSTER_AUDIT_SIGNING_KEY: pem, ROSTER_AUDIT_VERIFY_KEYS: pem }))).toEqual([
      expect.stringMatching(/^environment: ROSTER_AUDIT_VERIFY_KEYS: a private key was given/),
    ]);
    const junk = envProblems(envSchema.parse({ ...production, ROSTER_AUDIT_SIGNING_KEY: pem, ROSTER_AUDIT_VERIFY_KEYS: secret }));
    expect(junk).toEqual([expect.stringContaining('ROSTER_AUDIT_VERIFY_KEYS: no PEM block')]);
    expect(junk.join('')).not.toContain(secret);
  });

  it('outside production one key is generated in the data directory (mode 600) and reused; production never generates', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'roster-auditkey-'));
    try {
      const dev = envSchema.parse({ NODE_ENV: 'development', ROSTER_DATA_DIR: dataDir });
      expect(loadAuditSigner(dev, { generate: false })).toBeUndefined();
      const first = loadAuditSigner(dev, { generate: true })!;
      expect(first.source).toBe('generated');
      const file = path.join(dataDir, GENERATED_AUDIT_KEY_FILE);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(loadAuditSigner(dev, { generate: true })!.signer.keyId).toBe(first.signer.keyId);
      expect(loadAuditSigner(dev, { generate: false })!.signer.keyId).toBe(first.signer.keyId);
      const prodDir = path.join(dataDir, 'prod');
      expect(loadAuditSigner(envSchema.parse({ ...production, ROSTER_DATA_DIR: prodDir }), { generate: true })).toBeUndefined();
      expect(existsSync(prodDir)).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('audit checkpoints against the real database', () => {
  let db: TestDb;
  beforeEach(async () => {
    db = await openTestDb('cp');
  });
  afterEach(async () => {
    await db.close();
  });

  it('racing checkpointers (the job on two replicas, an operator) store one checkpoint and one record', async () => {
    const audit = createAuditLog(db.connection);
    const signer = ed25519Signer(generateKeyPairSync('ed25519').privateKey);
    const checkpoints = () =>
      new AuditCheckpoints({ audit, chain: audit, repo: createCheckpointStore(db.connection), signer, clock: () => new Date() });
    for (let i = 0; i < 3; i += 1)
      await audit.append({ actor: { kind: 'system', name: 't' }, action: 'agent.viewed', subject: { type: 'agent', id: `a${i}` } });

    const outcomes = await Promise.all(Array.from({ length: 5 }, () => checkpoints().checkpoint({ kind: 'system', name: 'race' })));
    expect(outcomes.filter((o) => o.kind === 'created').length).toBeLessThanOrEqual(1);
    expect(await db.connection.collection('audit_checkpoints').countDocuments()).toBe(1);
    expect(await db.connection.collection('audit_entries').countDocuments({ action: CHECKPOINT_ACTION })).toBe(1);
    const stored = (await db.connection.collection('audit_checkpoints').findOne({}))!;
    // The signature covers seq, head hash, time and key id: it verifies with the public key alone.
    expect(
      signer.verify(
        checkpointPayload({ seq: stored.seq as number, headHash: stored.headHash as string, at: stored.at as Date, keyId: signer.keyId }),
        stored.signature as string,
      ),
    ).toBe(true);
    const report = await checkpoints().verify();
    expect(report).toMatchObject({ ok: true, verified: 1, covered: 3, lastSeq: 4, problems: [] });

    // An idle log stays as it is: the head is the record of the latest checkpoint.
    expect((await checkpoints().checkpoint({ kind: 'system', name: 'again' })).kind).toBe('current');
    expect(await db.connection.collection('audit_entries').countDocuments()).toBe(4);
  }, 60_000);
});

describe('the entry recording a checkpoint is written at least once, and once', () => {
  let db: TestDb;
  beforeEach(async () => {
    db = await openTestDb('cprec');
  });
  afterEach(async () => {
    await db.close();
  });

  it('a run that stopped between storing the checkpoint and recording it is completed by the next run, even after new entries', async () => {
    const audit = createAuditLog(db.connection);
    const signer = ed25519Signer(generateKeyPairSync('ed25519').privateKey);
    const repo = createCheckpointStore(db.connection);
    const checkpoints = () => new AuditCheckpoints({ audit, chain: audit, repo, signer, clock: () => new Date() });
    const append = (id: string) =>
      audit.append({ actor: { kind: 'system', name: 't' }, action: 'agent.viewed', subject: { type: 'agent', id } });
    for (let i = 0; i < 3; i += 1) await append(`a${i}`);

    // The process dies after storing the checkpoint of seq 3, before its entry is written.
    const crashing = new AuditCheckpoints({
      audit: { ...audit, append: () => Promise.reject(new Error('process killed')) },
      chain: audit,
      repo,
      signer,
      clock: () => new Date(),
    });
    await expect(crashing.checkpoint({ kind: 'system', name: 'crash' })).rejects.toThrow('process killed');
    expect(await db.connection.collection('audit_checkpoints').countDocuments()).toBe(1);
    expect(await db.connection.collection('audit_entries').countDocuments({ action: CHECKPOINT_ACTION })).toBe(0);
    await append('a3');
    await append('a4');

    // The next runs (two at once) record the stranded checkpoint once, then sign the entries since.
    await Promise.all([
      checkpoints().checkpoint({ kind: 'system', name: 'next' }),
      checkpoints().checkpoint({ kind: 'system', name: 'next' }),
    ]);
    const records = await db.connection.collection('audit_entries').find({ action: CHECKPOINT_ACTION }).sort({ seq: 1 }).toArray();
    expect(records.map((r) => [r.seq, (r.details as { seq: number }).seq])).toEqual([
      [6, 3],
      [7, 6],
    ]);
    expect(records[0]!.key).toBe(checkpointRecordKey({ seq: 3 }));
    const stored = await db.connection.collection('audit_checkpoints').find().sort({ seq: 1 }).toArray();
    expect(stored.map((c) => c.seq)).toEqual([3, 6]);
    expect(await checkpoints().verify()).toMatchObject({ ok: true, verified: 2, covered: 6, lastSeq: 7, unrecorded: [] });
    // Idle now: the head is the record of the latest checkpoint, so nothing more is written.
    expect((await checkpoints().checkpoint({ kind: 'system', name: 'again' })).kind).toBe('current');
    expect(await db.connection.collection('audit_entries').countDocuments()).toBe(7);
  }, 60_000);
});

describe('a running Roster: the checkpoint job and audited dashboard views', () => {
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  beforeAll(async () => {
    roster = await startTestRoster({ env: { ROSTER_DASHBOARD_SECRET: SECRET }, settings: { schedules: { auditCheckpoints: '1 second' } } });
  }, 120_000);
  afterAll(async () => {
    await roster.stop();
  });

  it('Agenda signs the chain head on its cadence, without anyone asking', async () => {
    const entry = await roster.services.audit.append({
      actor: { kind: 'person', email: LIAM },
      action: 'agent.viewed',
      subject: { type: 'agent', id: 'agt_x', agentId: asAgentId('agt_x') },
    });
    const checkpoint = await eventually(
      async () => (await roster.db.connection.collection('audit_checkpoints').findOne({ seq: { $gte: entry.seq } })) ?? undefined,
      30_000,
    );
    expect(checkpoint).toMatchObject({ headHash: expect.stringMatching(/^[0-9a-f]{64}$/), keyId: expect.stringMatching(/^[0-9a-f]{16}$/) });
    const report = await roster.services.checkpoints.verify();
    expect(report.ok).toBe(true);
    expect(report.covered).toBeGreaterThanOrEqual(entry.seq);
    // The job keeps running, and an idle log does not grow: only the first checkpoint's record was added.
    const { jobs } = await roster.scheduler.agenda.queryJobs({ name: AUDIT_CHECKPOINT_JOB });
    const ranAt = jobs[0]!.lastRunAt!.getTime();
    const entries = await roster.db.connection.collection('audit_entries').countDocuments();
    await eventually(async () => {
      const again = (await roster.scheduler.agenda.queryJobs({ name: AUDIT_CHECKPOINT_JOB })).jobs[0]!;
      return again.lastRunAt!.getTime() > ranAt + 1000;
    }, 30_000);
    expect(await roster.db.connection.collection('audit_entries').countDocuments()).toBe(entries);
  }, 60_000);

  it('a dashboard view is recorded before it is shown; when it cannot be recorded, it is not shown (503)', async () => {
    const token = new DashboardLinks(SECRET).issue(LIAM);
    const shown = await fetch(`${roster.baseUrl}/dashboard?token=${token}`);
    expect(shown.status).toBe(200);
    expect(await shown.text()).toContain('<html');
    const viewed = await roster.db.connection.collection('audit_entries').find({ action: 'dashboard.viewed' }).toArray();
    expect(viewed).toEqual([
      expect.objectContaining({ actor: { kind: 'person', email: LIAM }, subject: { type: 'dashboard', id: 'fleet' } }),
    ]);

    // The audit log refuses a second view with the same details (a stray unique index): the page is not served.
    await roster.db.connection.collection('audit_entries').createIndex({ 'details.compliance': 1 }, { unique: true, sparse: true });
    try {
      const refused = await fetch(`${roster.baseUrl}/dashboard?token=${token}`);
      expect(refused.status).toBe(503);
      const body = await refused.text();
      expect(body).toContain('could not record this view in the audit log');
      expect(body).not.toContain('<html');
    } finally {
      await roster.db.connection.collection('audit_entries').dropIndex('details.compliance_1');
    }
    expect(await roster.db.connection.collection('audit_entries').countDocuments({ action: 'dashboard.viewed' })).toBe(1);
  }, 60_000);
});
