import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import mongoose from 'mongoose';
import { createAuditLog } from '../../src/store/audit-store.js';
import { testMongoUri, uniqueDbName } from '../helpers/db.js';
import { projectRoot, runRosterCli } from '../helpers/roster-process.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { agentRecord, eventually, FAST_FLOWS, people, SHIPPED_CONFIG, startHarness } from '../helpers/harness.js';
import { RecordingNotifier } from '../helpers/recording-notifier.js';
import type { MessageRef, OutgoingCard } from '../../src/core/notifications.js';
import { asAgentId, asRunId } from '../helpers/ids.js';
import { commandsOf } from '../helpers/commands.js';

/** Runs `roster …` as an administrator would, with a minimal environment plus `env` (from the run's build of src/ unless `from`). */
const roster = (args: string[], env: Record<string, string> = {}, from: 'build' | 'bin' = 'build') =>
  runRosterCli(args, { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'silent', ...env }, from);

describe('roster CLI', () => {
  it('config check passes on the shipped configuration, flows and cards', async () => {
    const r = await roster(['config', 'check']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^config check: OK — 15 people, \d+ scopes, \d+ catalog roles, \d+ flows, \d+ card kinds × 2 platforms/);
  }, 30_000);

  it('bin/roster.js, what `roster` runs, starts the CLI from the sources (tsx) as well', async () => {
    const r = await roster(['config', 'check'], {}, 'bin');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^config check: OK — 15 people, \d+ scopes, \d+ catalog roles, \d+ flows, \d+ card kinds × 2 platforms/);
  }, 60_000);

  it('config check fails with the file-and-path message on a broken fixture', async () => {
    const r = await roster(['config', 'check', '--config', 'test/fixtures/config/schema-error']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      'test/fixtures/config/schema-error/catalog.yaml: roles[2].riskTier: expected low | medium | high, got "extreme"',
    );
  }, 30_000);

  it('--help everywhere, and unknown commands are usage errors', async () => {
    expect((await roster(['--help'])).code).toBe(0);
    const help = await roster(['audit', 'verify', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('hash chain');
    const bad = await roster(['audit', 'shred']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('unknown command');
    expect((await roster(['agents', 'list', '--status', 'sleeping'])).code).toBe(2);
  }, 30_000);

  it('audit verify passes on an intact log and fails, naming the entry, after tampering; export filters by agent and time', async () => {
    const dbName = uniqueDbName('cli');
    const uri = `${testMongoUri()}/${dbName}`;
    const conn = await mongoose.createConnection(testMongoUri(), { dbName, autoCreate: false }).asPromise();
    try {
      // Each entry a second after the last: distinct times, for --since / --until.
      let at = Date.now();
      const audit = createAuditLog(conn, { clock: () => new Date((at += 1000)) });
      for (const [i, agentId] of ['agt_a', 'agt_b', 'agt_a'].entries()) {
        await audit.append({
          actor: { kind: 'person', email: 'liam.oneill@brightwater.example' },
          action: 'agent.viewed',
          subject: { type: 'agent', id: agentId, agentId: asAgentId(agentId) },
          details: { i },
        });
      }
      const ok = await roster(['audit', 'verify'], { MONGODB_URI: uri });
      expect(ok.code).toBe(0);
      expect(ok.out).toContain('audit log intact: 3 entries');

      const exported = await roster(['audit', 'export', '--agent', 'agt_a'], { MONGODB_URI: uri });
      expect(exported.code).toBe(0);
      expect(
        exported.out
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { seq: number }).seq),
      ).toEqual([1, 3]);

      // --since is inclusive, --until exclusive; a time that is not ISO is a usage error.
      const second = (await conn.collection('audit_entries').findOne({ seq: 2 }))!.at as Date;
      // Each export is itself audited (recorded at the real time, so inside the --since window): only the seeded entries count here.
      const seqs = (out: string) =>
        out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { seq: number; action: string })
          .filter((e) => e.action !== 'audit.exported')
          .map((e) => e.seq);
      expect(seqs((await roster(['audit', 'export', '--since', second.toISOString()], { MONGODB_URI: uri })).out)).toEqual([2, 3]);
      expect(seqs((await roster(['audit', 'export', '--until', second.toISOString()], { MONGODB_URI: uri })).out)).toEqual([1]);
      const badTime = await roster(['audit', 'export', '--since', 'yesterday'], { MONGODB_URI: uri });
      expect(badTime.code).toBe(2);
      expect(badTime.err).toContain('--since and --until take ISO times');

      await conn.collection('audit_entries').updateOne({ seq: 2 }, { $set: { 'details.i': 99 } });
      const tampered = await roster(['audit', 'verify'], { MONGODB_URI: uri });
      expect(tampered.code).toBe(1);
      expect(tampered.err).toContain('entry 2 was edited');
    } finally {
      await conn.dropDatabase();
      await conn.close();
    }
  }, 60_000);
});

describe('roster seed demo', () => {
  it('seeds every lifecycle status, telemetry, check-ins and alerts; a second run changes nothing; the audit chain verifies', async () => {
    const dbName = uniqueDbName('demo');
    const uri = `${testMongoUri()}/${dbName}`;
    const conn = await mongoose.createConnection(testMongoUri(), { dbName, autoCreate: false }).asPromise();
    try {
      const first = await roster(['seed', 'demo'], { MONGODB_URI: uri });
      expect(first.err).toBe('');
      expect(first.code).toBe(0);
      expect(first.out).toMatch(/^seed demo: 12 agents created, 0 already there, \d+ telemetry events, 6 check-ins, \d+ alerts/);
      expect(first.out).toContain('A short tour');
      const statuses = (await conn.collection('agents').distinct('status')).sort();
      expect(statuses).toEqual(['active', 'probation', 'rejected', 'requested', 'retired', 'retiring', 'suspended']);
      const kinds = (await conn.collection('alerts').distinct('kind')).sort();
      expect(kinds).toEqual(expect.arrayContaining(['dormant', 'drift', 'fairness', 'shadow']));
      const counts = async () =>
        Promise.all(
          ['agents', 'grants', 'telemetry_events', 'telemetry_rollups', 'checkins', 'alerts', 'audit_entries'].map((c) =>
            conn.collection(c).countDocuments(),
          ),
        );
      const before = await counts();

      const second = await roster(['seed', 'demo'], { MONGODB_URI: uri });
      expect(second.code).toBe(0);
      expect(second.out).toMatch(/^seed demo: 0 agents created, 12 already there, 0 telemetry events, 0 check-ins/);
      expect(await counts()).toEqual(before);
      expect((await roster(['audit', 'verify'], { MONGODB_URI: uri })).code).toBe(0);
    } finally {
      await conn.dropDatabase();
      await conn.close();
    }
  }, 120_000);
});

describe('roster archive', () => {
  it('prints the bundle and verifies its digest; a tampered bundle exits 1', async () => {
    const dbName = uniqueDbName('arch');
    const uri = `${testMongoUri()}/${dbName}`;
    const conn = await mongoose.createConnection(testMongoUri(), { dbName, autoCreate: false }).asPromise();
    try {
      const { sha256 } = await import('../../src/core/agents.js');
      const bundle = JSON.stringify({ agent: { id: 'agt_00000000000000aa', name: 'Old Bot' } });
      await conn
        .collection('archives')
        .insertOne({ _id: 'agt_00000000000000aa' as never, bundle, digest: sha256(bundle), createdAt: new Date().toISOString() });
      const ok = await roster(['archive', 'agt_00000000000000aa'], { MONGODB_URI: uri });
      expect(ok.code).toBe(0);
      expect(ok.out.trim()).toBe(bundle);
      expect(ok.err).toContain(`sha256 ${sha256(bundle)} verified`);
      await conn
        .collection('archives')
        .updateOne({ _id: 'agt_00000000000000aa' as never }, { $set: { bundle: bundle.replace('Old', 'New') } });
      const bad = await roster(['archive', 'agt_00000000000000aa'], { MONGODB_URI: uri });
      expect(bad.code).toBe(1);
      expect(bad.err).toContain('DOES NOT MATCH');
      expect((await roster(['archive'], { MONGODB_URI: uri })).code).toBe(2);
    } finally {
      await conn.dropDatabase();
      await conn.close();
    }
  }, 60_000);
});

describe('roster CLI conventions', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(`${projectRoot}/package.json`, 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const r = await roster([flag]);
      expect(r.code).toBe(0);
      expect(r.out.trim()).toBe(version);
    }
  }, 30_000);

  it('an unknown option is refused by the command it was given to, with a suggestion; so is an unknown sub-command', async () => {
    const option = await roster(['agents', 'list', '--stauts', 'active']);
    expect(option.code).toBe(2);
    expect(option.err.trim()).toBe(
      `roster agents list: unknown option '--stauts' (did you mean --status?). Run "roster agents list --help".`,
    );
    const elsewhere = await roster(['audit', 'verify', '--status', 'active']);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.err).toContain("roster audit verify: unknown option '--status'");
    const sub = await roster(['agents', 'lst']);
    expect(sub.code).toBe(2);
    expect(sub.err).toContain("roster agents: unknown command 'lst' (did you mean list?)");
    const format = await roster(['compliance', '--format', 'xml']);
    expect(format.code).toBe(2);
    expect(format.err).toContain('Allowed choices are json, csv');
  }, 30_000);

  it('--json on every read command prints one JSON document', async () => {
    const dbName = uniqueDbName('json');
    const uri = `${testMongoUri()}/${dbName}`;
    const conn = await mongoose.createConnection(testMongoUri(), { dbName, autoCreate: false }).asPromise();
    try {
      const check = await roster(['config', 'check', '--json']);
      expect(check.code).toBe(0);
      const counts = (JSON.parse(check.out) as { counts: { people: number } }).counts;
      expect(JSON.parse(check.out)).toMatchObject({
        ok: true,
        problems: [],
        counts: { people: loadOrgConfig(SHIPPED_CONFIG).people.length },
      });
      expect(counts.people).toBeGreaterThan(10);
      await createAuditLog(conn).append({
        actor: { kind: 'system', name: 'test' },
        action: 'agent.viewed',
        subject: { type: 'agent', id: 'agt_a', agentId: asAgentId('agt_a') },
        details: {},
      });
      const verify = await roster(['audit', 'verify', '--json'], { MONGODB_URI: uri });
      expect(verify.code).toBe(0);
      expect(JSON.parse(verify.out)).toMatchObject({ ok: true, checked: 1 });
      const exported = await roster(['audit', 'export', '--json'], { MONGODB_URI: uri });
      expect((JSON.parse(exported.out) as unknown[]).length).toBe(1);
      const agents = await roster(['agents', 'list', '--json'], { MONGODB_URI: uri });
      expect(agents.code).toBe(0);
      expect(JSON.parse(agents.out)).toEqual([]);
      const report = await roster(['compliance', '--json'], { MONGODB_URI: uri });
      expect(report.code).toBe(0);
      expect(JSON.parse(report.out)).toHaveProperty('regulations');
    } finally {
      await conn.dropDatabase();
      await conn.close();
    }
  }, 90_000);

  it('bash completion, generated from the commands, completes commands, options and option values in a real bash', async () => {
    const script = await roster(['completion', 'bash']);
    expect(script.code).toBe(0);
    const complete = (words: string[]) => {
      const r = spawnSync(
        'bash',
        [
          '-c',
          `eval "$ROSTER_COMPLETION"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _roster_completion; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { env: { PATH: process.env.PATH ?? '', ROSTER_COMPLETION: script.out }, encoding: 'utf8' },
      );
      return r.stdout.trim().split('\n').filter(Boolean);
    };
    expect(complete(['roster', 'a'])).toEqual(['audit', 'agents', 'archive']);
    expect(complete(['roster', 'agents', 'list', '--st'])).toEqual(['--status']);
    expect(complete(['roster', 'compliance', '--format', ''])).toEqual(['json', 'csv']);
    expect(complete(['roster', 'audit', 'export', '--agent', 'agt_1', '--j'])).toEqual(['--json']);
    for (const shell of ['zsh', 'fish']) {
      const other = await roster(['completion', shell]);
      expect(other.code).toBe(0);
      expect(other.out).toContain(shell === 'zsh' ? 'bashcompinit' : "complete -c roster -n '__fish_seen_subcommand_from list' -l status");
    }
  }, 90_000); // three CLI processes start here (a few seconds each on a loaded machine), like the test above
});

describe('roster outbox', () => {
  /** Chat that cannot reach some people until they are taken off `unreachable`. */
  class PartlyReachable extends RecordingNotifier {
    readonly unreachable = new Set<string>();
    override async send(to: string, card: OutgoingCard): Promise<MessageRef> {
      if (this.unreachable.has(to)) throw new Error('channel_not_found');
      return super.send(to, card);
    }
  }

  it('lists a parked effect named on the IT notice; retry makes the running Roster perform it, once', async () => {
    const priya = 'priya.raman@brightwater.example';
    const notifier = new PartlyReachable();
    const h = await startHarness({ flows: FAST_FLOWS, notifier, outbox: { maxAttempts: 1 } });
    try {
      const env = { MONGODB_URI: `${h.db.uri.replace(/\/+$/, '')}/${h.db.dbName}` };
      const agent = agentRecord({ name: 'Parked Notice', sponsors: [people.tom, priya], requestRunId: asRunId('run_none') });
      await h.services.agents.insert(agent);
      const { grant } = await commandsOf(h.services).requestAccess(people.tom, { agentId: agent.id, scope: 'crm:read', reason: 'Orders.' });
      // Priya's chat stops answering after her approval card arrived (the outbox sends it after
      // requestAccess returns: on a loaded machine it may not have gone yet, and would be parked too).
      await eventually(() => h.notifier.to(priya, 'approval-request').length > 0);
      notifier.unreachable.add(priya);
      await commandsOf(h.services).revokeGrant(people.tom, grant.id, 'Not needed after all.');

      const notice = await eventually(() =>
        h.notifier.to(people.liam, 'notice').find((m) => /keeps failing/.test(String(m.card.data.title))),
      );
      const effectId = /roster outbox retry (fx_[0-9a-f]+)/.exec(String(notice.card.data.text))?.[1];
      expect(effectId).toBeDefined();
      const listed = await roster(['outbox', 'list', '--json'], env);
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.out)).toEqual([
        expect.objectContaining({ id: effectId, type: 'chat.send', holder: { kind: 'grant', id: grant.id }, attempts: 1 }),
      ]);

      // Priya's chat works again; IT retries the effect.
      notifier.unreachable.delete(priya);
      const retried = await roster(['outbox', 'retry', effectId!], env);
      expect(retried.code).toBe(0);
      expect(retried.out).toContain(`${effectId} (chat.send of grant ${grant.id}) is due again`);
      // Who retried what is on the audit trail.
      const retry = (await h.services.audit.export()).filter((e) => e.action === 'outbox.retried');
      expect(retry).toMatchObject([
        { actor: { kind: 'system' }, subject: { type: 'grant', id: grant.id }, details: { effectId, type: 'chat.send' } },
      ]);
      expect(retry[0]!.actor).toMatchObject({ name: expect.stringMatching(/^cli:/) });
      const lost = () => notifier.to(priya, 'grant-notice').filter((m) => String(m.card.data.title) === 'Parked Notice lost crm:read');
      await eventually(async () => {
        await h.services.outbox.drain();
        return lost().length > 0;
      });
      expect(lost()).toHaveLength(1);
      expect(await h.services.outboxRepo.depth()).toEqual({ pending: 0, parked: 0 });

      const again = await roster(['outbox', 'retry', effectId!], env);
      expect(again.code).toBe(1);
      expect(again.err).toContain(`no parked effect ${effectId}`);
      expect((await roster(['outbox', 'retry'], env)).code).toBe(2);
      expect(JSON.parse((await roster(['outbox', 'list', '--json'], env)).out)).toEqual([]);
    } finally {
      await h.close();
    }
  }, 90_000);
});
