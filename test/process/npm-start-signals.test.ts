import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually } from '../helpers/harness.js';
import { isAlive, projectRoot } from '../helpers/roster-process.js';

/*
 * `npm start` itself, as an operator or a process manager runs it, stopped by a signal sent to
 * npm, to node, or to the whole process group (Ctrl-C in a terminal): Roster and its embedded Java
 * database are gone within 10 s every time.
 */
describe('npm start stops cleanly on SIGTERM and SIGINT', () => {
  let dataDir: string;
  const started: ChildProcess[] = [];

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'roster-npm-'));
  });
  afterAll(() => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function npmStart(): Promise<{ npm: ChildProcess; nodePid: number; javaPid: number; exited: Promise<unknown> }> {
    const npm = spawn('npm', ['start'], {
      cwd: projectRoot,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        NODE_ENV: 'test',
        JEST_WORKER_ID: process.env.JEST_WORKER_ID ?? '1',
        LOG_LEVEL: 'info',
        PORT: '0',
        ROSTER_DATA_DIR: dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, like a terminal's foreground job
    });
    started.push(npm);
    const exited = new Promise((resolve) => npm.once('exit', resolve));
    const lines: Array<Record<string, unknown>> = [];
    let pending = '';
    npm.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const text of parts) {
        try {
          lines.push(JSON.parse(text) as Record<string, unknown>);
        } catch {
          // npm's own banner lines
        }
      }
    });
    await eventually(() => lines.some((l) => l.msg === 'HTTP server listening'), 90_000);
    // `exec` in the npm script: Roster's node is npm's direct child, with no shell in between.
    const children = spawnSync('pgrep', ['-P', String(npm.pid)], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .filter(Boolean);
    expect(children).toHaveLength(1);
    const nodePid = Number(children[0]);
    expect(readFileSync(`/proc/${nodePid}/cmdline`, 'utf8')).toContain('src/main.ts');
    const javaPid = Number(lines.find((l) => l.msg === 'embedded database started')?.pid);
    expect(isAlive(nodePid)).toBe(true);
    expect(isAlive(javaPid)).toBe(true);
    return { npm, nodePid, javaPid, exited };
  }

  const cases: Array<[string, (p: { npm: ChildProcess; nodePid: number }) => void]> = [
    ['SIGTERM to npm', (p) => p.npm.kill('SIGTERM')],
    ['SIGINT to npm', (p) => p.npm.kill('SIGINT')],
    ['SIGTERM to node', (p) => process.kill(p.nodePid, 'SIGTERM')],
    ['SIGINT to the process group (Ctrl-C)', (p) => process.kill(-p.npm.pid!, 'SIGINT')],
  ];

  it.each(cases)(
    '%s: npm, node and the Java database are gone within 10 s',
    async (_name, send) => {
      const p = await npmStart();
      const sentAt = Date.now();
      send(p);
      await eventually(() => !isAlive(p.npm.pid!) && !isAlive(p.nodePid) && !isAlive(p.javaPid), 10_000);
      expect(Date.now() - sentAt).toBeLessThan(10_000);
      await p.exited;
    },
    120_000,
  );
});
