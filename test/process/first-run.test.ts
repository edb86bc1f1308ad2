import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { artifactPath, EMBEDDED_MONGO_JARS } from '../../src/store/embedded/jars.js';
import { projectRoot, runRosterCli, spawnRoster, type RosterProcess } from '../helpers/roster-process.js';
import { testMongoUri, uniqueDbName } from '../helpers/db.js';
import { fakeMavenRepository } from '../helpers/fake-maven.js';

/** A directory holding only the named programs (symlinks), to stand for a PATH without Maven or Java. */
function binDir(root: string, programs: Record<string, string>): string {
  const dir = path.join(root, 'bin');
  mkdirSync(dir, { recursive: true });
  for (const [name, target] of Object.entries(programs)) symlinkSync(target, path.join(dir, name));
  return dir;
}

function which(program: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' });
  return realpathSync(r.stdout.trim());
}

describe('first run', () => {
  let root: string;
  const running: RosterProcess[] = [];
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'roster-first-run-'));
  });
  afterAll(() => {
    for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('with neither Java nor MONGODB_URI, says in one line what to install or how to use MONGODB_URI, and exits non-zero', async () => {
    const bin = binDir(path.join(root, 'no-java'), { node: process.execPath });
    const proc = spawnRoster({ PATH: bin, HOME: path.join(root, 'no-java'), ROSTER_DATA_DIR: path.join(root, 'no-java', 'data') });
    running.push(proc);
    const exit = await proc.exited;
    expect(exit.code).toBe(1);
    const lines = proc.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^Roster cannot start: the embedded database needs Java and "java" was not found on PATH\. Install a Java runtime, 17 or later \(Debian\/Ubuntu: apt-get install openjdk-17-jre-headless/,
    );
    expect(lines[0]).toContain('or set MONGODB_URI=mongodb://');
  }, 60_000);

  it('with Java but no Maven and an empty cache: fetches the pinned jars over HTTP, reaches /readyz, seeds the demo (npm run demo); the CLI shares the running database; a second Roster and a busy port are one line each', async () => {
    // The repository serves the real jars (from the tests' cache) on 127.0.0.1: the first run downloads, verifies and uses them.
    const cached = path.join(projectRoot, '.cache', 'embedded-mongo', 'jars');
    const files = new Map(
      EMBEDDED_MONGO_JARS.map((a) => [artifactPath(a), readFileSync(path.join(cached, `${a.artifact}-${a.version}.jar`))] as const),
    );
    const repo = await fakeMavenRepository(files);
    const home = path.join(root, 'java-only');
    const env = {
      PATH: binDir(home, { node: process.execPath, java: which('java') }),
      HOME: home,
      ROSTER_DATA_DIR: path.join(home, 'data'),
      ROSTER_EMBEDDED_MONGO_CACHE_DIR: path.join(home, 'cache'),
      ROSTER_EMBEDDED_MONGO_REPOSITORY: repo.url,
    };
    try {
      expect(spawnSync('sh', ['-c', 'command -v mvn'], { env: { PATH: env.PATH } }).status).not.toBe(0);
      const proc = spawnRoster(env, ['--demo']);
      running.push(proc);
      const listening = await proc.waitForLog((l) => l.msg === 'HTTP server listening', 120_000);
      const port = Number(listening.port);
      expect(repo.requests.sort()).toEqual([...files.keys()].sort());
      expect(proc.stderr()).toContain('Embedded database fetched: 18 jars, 5.9 MB, checksums verified.');
      expect(proc.stderr()).toContain('  h2-2.3.232.jar (2.7 MB)');
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      const howTo = await proc.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('Roster is running on'));
      expect(howTo.msg).toContain(`http://127.0.0.1:${port}`);
      await proc.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('A short tour'), 180_000);
      expect(proc.stderr()).toMatch(/Demo seeded: 12 agents created/);

      // The CLI, while Roster runs, uses Roster's embedded database instead of failing on the H2 lock.
      const cli = await runRosterCli(['agents', 'list', '--json'], { ...env, LOG_LEVEL: 'silent' });
      expect(cli.err).toBe('');
      expect(cli.code).toBe(0);
      const agents = JSON.parse(cli.out) as Array<{ id: string; status: string }>;
      expect(agents).toHaveLength(12);
      expect(new Set(agents.map((a) => a.status))).toEqual(
        new Set(['active', 'probation', 'rejected', 'requested', 'retired', 'retiring', 'suspended']),
      );

      // A second Roster on the same data directory: one line, no Java stack trace.
      const second = spawnRoster({ ...env, PORT: '0' });
      running.push(second);
      expect((await second.exited).code).toBe(1);
      expect(second.stderr().trimEnd().split('\n')).toEqual([
        expect.stringMatching(
          new RegExp(
            `^Roster cannot start: the embedded database in ${env.ROSTER_DATA_DIR} is in use by a running Roster \\(pid \\d+, database port \\d+\\)\\. Stop it, or set ROSTER_DATA_DIR to another directory\\.$`,
          ),
        ),
      ]);

      // A busy HTTP port: one line.
      const busy = spawnRoster({ ...env, PORT: String(port), MONGODB_URI: `${testMongoUri()}/${uniqueDbName('busy')}` });
      running.push(busy);
      expect((await busy.exited).code).toBe(1);
      expect(busy.stderr().trimEnd().split('\n')).toEqual([
        `Roster cannot start: port ${port} is already in use (another Roster?). Stop that process, or set PORT to a free port.`,
      ]);

      proc.child.kill('SIGTERM');
      expect((await proc.exited).code).toBe(0);
      expect(existsSync(path.join(env.ROSTER_DATA_DIR, 'embedded-mongo.json'))).toBe(false);
    } finally {
      await repo.close();
    }
  }, 400_000);
});
