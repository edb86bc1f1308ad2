import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureJars, JarFetchError, MONGO_JAVA_SERVER_VERSION } from './jars.js';
import type { ProgressStream } from '../../progress.js';

export { MONGO_JAVA_SERVER_VERSION };

const here = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(here, '../../..');
const toolDir = path.join(projectRoot, 'tools', 'embedded-mongo');
/** Where the verified jars are kept; `ROSTER_EMBEDDED_MONGO_CACHE_DIR` moves it (a fresh cache in tests, a shared one in CI). */
const defaultCacheDir = (): string =>
  process.env.ROSTER_EMBEDDED_MONGO_CACHE_DIR || path.join(projectRoot, '.cache', 'embedded-mongo', 'jars');

/** Raised when the embedded server cannot be prepared or started; its message is one line for people. */
export class EmbeddedMongoError extends Error {
  readonly code = 'embedded_mongo_unavailable';
}

export interface EmbeddedMongoOptions {
  /** `memory` for tests, `h2` to keep data on disk in `file`. */
  backend: 'memory' | 'h2';
  /** H2 database file, required for the h2 backend. */
  file?: string;
  /** Where the verified jars are kept. */
  cacheDir?: string;
  /** Receives progress lines (start-up). */
  onProgress?: (line: string) => void;
  /** Where the download progress bar goes (standard error by default); `silent` hides it. */
  downloadProgress?: { stream?: ProgressStream; tty?: boolean; silent?: boolean };
  /** Milliseconds to wait for the server to accept connections. */
  startTimeoutMs?: number;
  /** The port to bind; a free one when unset (a restart on the same port keeps clients' URIs valid). */
  port?: number;
}

export interface EmbeddedMongo {
  readonly uri: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the server and waits for the Java process to exit. Safe to call twice. */
  stop(): Promise<void>;
}

/** The Java release mongo-java-server 1.47 is built for. */
const MIN_JAVA = 17;

const javaHint =
  'Install a Java runtime, 17 or later (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; macOS: brew install openjdk@17; Windows: winget install Microsoft.OpenJDK.17), ' +
  'or set MONGODB_URI=mongodb://… to use your own MongoDB 6+ instead of the embedded database.';

/** Throws a one-line {@link EmbeddedMongoError} unless a Java runtime of at least {@link MIN_JAVA} is on PATH. */
export function checkJava(): void {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (r.error) throw new EmbeddedMongoError(`the embedded database needs Java and "java" was not found on PATH. ${javaHint}`);
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${r.stderr ?? ''}${r.stdout ?? ''}`);
  if (!match) return;
  const major = match[1] === '1' ? Number(match[2]) : Number(match[1]);
  if (major < MIN_JAVA)
    throw new EmbeddedMongoError(`the embedded database needs Java ${MIN_JAVA} or later; "java" on PATH is Java ${major}. ${javaHint}`);
}

/**
 * Makes sure the embedded database's jars are cached and verified (fetching them from Maven Central
 * the first time) and returns the Java classpath.
 */
export async function resolveClasspath(options: Pick<EmbeddedMongoOptions, 'cacheDir' | 'downloadProgress'> = {}): Promise<string> {
  try {
    const jars = await ensureJars({
      cacheDir: options.cacheDir ?? defaultCacheDir(),
      ...(process.env.ROSTER_EMBEDDED_MONGO_REPOSITORY ? { repository: process.env.ROSTER_EMBEDDED_MONGO_REPOSITORY } : {}),
      ...(options.downloadProgress ? { progress: options.downloadProgress } : {}),
    });
    return jars.join(path.delimiter);
  } catch (err) {
    if (err instanceof JarFetchError) throw new EmbeddedMongoError(err.message);
    throw err;
  }
}

/**
 * Starts mongo-java-server on 127.0.0.1 with a free port, reporting MongoDB 6.0's wire profile.
 * The Java process exits when this Node process exits (it watches its standard input).
 */
export async function startEmbeddedMongo(options: EmbeddedMongoOptions): Promise<EmbeddedMongo> {
  checkJava();
  const classpath = await resolveClasspath(options);
  const args = ['-Xss4m', '-XX:+UseSerialGC', '-cp', classpath, path.join(toolDir, 'EmbeddedMongo.java')];
  if (options.backend === 'h2') {
    if (!options.file) throw new EmbeddedMongoError('The h2 backend needs a file.');
    mkdirSync(path.dirname(options.file), { recursive: true });
    args.push('h2', options.file);
  } else {
    args.push('memory');
  }
  if (options.port !== undefined) args.push(String(options.port));
  const child = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const port = await waitForReady(child, options.startTimeoutMs ?? 60_000, options.onProgress, options.file);
  let stopping: Promise<void> | undefined;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    uri: `mongodb://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    stop() {
      stopping ??= (async () => {
        child.stdin?.end();
        const timer = setTimeout(() => child.kill('SIGTERM'), 3000);
        const hard = setTimeout(() => child.kill('SIGKILL'), 6000);
        await exited;
        clearTimeout(timer);
        clearTimeout(hard);
      })();
      return stopping;
    },
  };
}

/** What H2 prints when another process holds the database file. */
const LOCKED = /Database may be already in use|The file is locked|Locked by another process/i;

function waitForReady(child: ChildProcess, timeoutMs: number, onProgress?: (line: string) => void, file?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let stderrTail = '';
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new EmbeddedMongoError(`The embedded database did not start within ${timeoutMs} ms. ${stderrTail.slice(-500)}`));
    }, timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-4000);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /ROSTER_EMBEDDED_MONGO_READY (\d+)/.exec(buffered);
      if (match) {
        clearTimeout(timer);
        onProgress?.(`Embedded database listening on 127.0.0.1:${match[1]}`);
        resolve(Number(match[1]));
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new EmbeddedMongoError(`Could not start Java for the embedded database: ${err.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (file && LOCKED.test(stderrTail)) {
        reject(
          new EmbeddedMongoError(
            `the embedded database in ${path.dirname(file)} is in use by another process (a running Roster?). Stop it, or set ROSTER_DATA_DIR to another directory.`,
          ),
        );
        return;
      }
      reject(new EmbeddedMongoError(`The embedded database exited during start-up (code ${code}). ${stderrTail.slice(-1000)}`));
    });
  });
}
