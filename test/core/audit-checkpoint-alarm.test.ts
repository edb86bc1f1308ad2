import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AUDIT_CHECKPOINT_JOB } from '../../src/jobs/audit-checkpoint.js';
import { startTeamsTestRoster, type TeamsTestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { eventually, people } from '../helpers/harness.js';
import { cardText } from '../channels/teams/card-reading.js';
import { teamsUser } from '../channels/teams/teams-client.js';
import { asAgentId } from '../helpers/ids.js';

/*
 * The checkpoint job runs every second here (15 minutes in production). When it cannot sign (the
 * key file gone, the trail tampered with) the IT admins hear it in Teams, once per cause however
 * many runs fail, and once again when it signs again. Without the alarm the failures are only
 * logged, and these tests see no card.
 */

const FAILING_KEY = 'Audit checkpoints cannot be signed: the signing key is unreadable';
const TAMPERED = 'The audit trail no longer matches its signed checkpoints';
const RECOVERED = 'Audit checkpoints are signed again';

describe('a failing audit checkpoint job tells IT in chat, once per cause', () => {
  let t: TeamsTestRoster;
  let dir: string;
  let keyFile: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'roster-cpalarm-'));
    keyFile = path.join(dir, 'audit.pem');
    writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    t = await startTeamsTestRoster({
      env: { ROSTER_AUDIT_SIGNING_KEY_FILE: keyFile },
      settings: { schedules: { auditCheckpoints: '1 second' } },
    });
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const liam = () => teamsUser(t.roster.chat.person(people.liam)!);
  /** The titles of the notices Liam (an IT admin) received, in order. */
  const noticesToLiam = () =>
    t.connector
      .posts(liam().conversationId)
      .map((p) => cardText(FakeConnector.card(p)))
      .filter((text) => [FAILING_KEY, TAMPERED, RECOVERED].some((title) => text.includes(title)));
  const titles = () => noticesToLiam().map((text) => [FAILING_KEY, TAMPERED, RECOVERED].find((title) => text.includes(title)));
  const lastRun = async () =>
    (await t.roster.scheduler.agenda.queryJobs({ name: AUDIT_CHECKPOINT_JOB })).jobs[0]?.lastRunAt?.getTime() ?? 0;
  /** Waits until the job has run `n` more times (at least `n` seconds of its 1-second cadence). */
  const runsPass = async (n: number) => {
    const from = await lastRun();
    await eventually(async () => (await lastRun()) >= from + n * 1000, 60_000);
  };
  const checkpoints = () => t.roster.db.connection.collection('audit_checkpoints');

  it('the key file unreadable: one notice naming the variable; restored: one "signed again"; tampering: one notice naming it', async () => {
    expect((await t.client.install(liam())).status).toBe(200);
    await t.roster.services.audit.append({
      actor: { kind: 'person', email: people.liam },
      action: 'agent.viewed',
      subject: { type: 'agent', id: 'agt_x', agentId: asAgentId('agt_x') },
    });
    const seq = (await t.roster.services.audit.last())!.seq;
    await eventually(async () => (await checkpoints().countDocuments({ seq: { $gte: seq } })) > 0, 30_000);

    // The key file is moved away (a broken secret mount): every run fails from now on.
    renameSync(keyFile, `${keyFile}.away`);
    const failing = await eventually(() => noticesToLiam()[0], 30_000);
    expect(failing).toContain(`ROSTER_AUDIT_SIGNING_KEY_FILE: cannot read ${keyFile} (ENOENT)`);
    expect(failing).not.toContain('PRIVATE KEY');
    await runsPass(3);
    expect(titles()).toEqual([FAILING_KEY]);

    renameSync(`${keyFile}.away`, keyFile);
    await eventually(() => titles().length === 2, 30_000);
    expect(titles()).toEqual([FAILING_KEY, RECOVERED]);

    // Someone with database access deletes the latest checkpoint: the job refuses to sign over it.
    const latest = (await checkpoints().find().sort({ seq: -1 }).limit(1).toArray())[0]!;
    await checkpoints().deleteOne({ seq: latest.seq });
    const tampered = await eventually(() => noticesToLiam()[2], 30_000);
    expect(titles()).toEqual([FAILING_KEY, RECOVERED, TAMPERED]);
    expect(tampered).toContain(`the checkpoint at seq ${latest.seq as number}`);
    expect(tampered).toContain('is missing: it was deleted');
    expect(tampered).toContain('roster audit verify');
    await runsPass(3);
    expect(titles()).toEqual([FAILING_KEY, RECOVERED, TAMPERED]);
    // Nothing was signed over the tampered trail.
    expect(await checkpoints().countDocuments({ seq: { $gt: latest.seq as number } })).toBe(0);
  }, 180_000);
});
