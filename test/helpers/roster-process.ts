import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RosterProcess {
  readonly child: ChildProcess;
  /** Every JSON log line so far. */
  readonly logs: Array<Record<string, unknown>>;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the first log line matching, or rejects after the timeout. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The run's build of src/ (test/helpers/test-build.mjs, made once by the global setup), or undefined outside Jest's global
 * setup, where processes start from the sources through tsx.
 */
const testBuild = process.env.ROSTER_TEST_BUILD_DIR || undefined;

/**
 * Runs `src/main.ts` as `npm start` does (`npm run demo` with `['--demo']`), with a clean environment plus `env`. It runs inside
 * the test runner, so it inherits Jest's `JEST_WORKER_ID` (without it Roster refuses `NODE_ENV=test`). It starts the run's build
 * of src/ unless `from` is 'tsx' (`npm start`'s own path is test/process/npm-start-signals.test.ts's).
 */
export function spawnRoster(env: Record<string, string>, args: string[] = [], from: 'build' | 'tsx' = 'build'): RosterProcess {
  const main = from === 'build' && testBuild ? [path.join(testBuild, 'main.js')] : ['--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, [...main, ...args], {
    cwd: projectRoot,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      JEST_WORKER_ID: process.env.JEST_WORKER_ID ?? '',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  let pending = '';
  const waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const text of lines) {
      if (!text.trim()) continue;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { msg: text };
      }
      logs.push(line);
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog(match, timeoutMs = 60_000) {
      const existing = logs.find(match);
      if (existing) return Promise.resolve(existing);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`log line not seen within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`)),
          timeoutMs,
        );
        void exited.then(({ code }) => {
          clearTimeout(timer);
          reject(new Error(`Roster exited (${code}) before the log line; stderr: ${stderr.slice(-2000)}`));
        });
        waiters.push({
          match,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
  };
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs the admin CLI with exactly `env`, as an administrator would; resolves its exit code and output. It starts the run's build
 * of src/ as `bin/roster.js` starts a build, unless `from` is 'bin': `bin/roster.js` itself (the sources through tsx, or dist/
 * when there is one).
 */
export function runRosterCli(
  args: string[],
  env: Record<string, string>,
  from: 'build' | 'bin' = 'build',
): Promise<{ code: number | null; out: string; err: string }> {
  const cli = from === 'build' && testBuild ? path.join(testBuild, 'roster-cli.js') : 'bin/roster.js';
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: projectRoot, env });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}
