import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The mongo-java-server release Roster embeds when MONGODB_URI is unset. */
export const MONGO_JAVA_SERVER_VERSION = '1.47.0';

const here = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(here, '../../..');
const toolDir = path.join(projectRoot, 'tools', 'embedded-mongo');
const defaultCacheDir = path.join(projectRoot, '.cache', 'embedded-mongo');

/** Raised when the embedded server cannot be prepared or started; its message is for people. */
export class EmbeddedMongoError extends Error {
  readonly code = 'embedded_mongo_unavailable';
}

export interface EmbeddedMongoOptions {
  /** `memory` for tests, `h2` to keep data on disk in `file`. */
  backend: 'memory' | 'h2';
  /** H2 database file, required for the h2 backend. */
  file?: string;
  /** Where the resolved classpath is cached. */
  cacheDir?: string;
  /** Receives progress lines (Maven download output, start-up). */
  onProgress?: (line: string) => void;
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

function commandExists(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error;
}

const missingToolHint =
  'Install it (Debian: apt-get install openjdk-17-jre-headless maven), or point Roster at a real MongoDB 6+ with MONGODB_URI=mongodb://…';

/**
 * Resolves mongo-java-server and its dependencies with Maven and returns the Java classpath.
 * The classpath is cached; Maven runs again only when a cached jar has gone.
 */
export function resolveClasspath(options: Pick<EmbeddedMongoOptions, 'cacheDir' | 'onProgress'> = {}): string {
  const cacheDir = options.cacheDir ?? defaultCacheDir;
  const cacheFile = path.join(cacheDir, `classpath-${MONGO_JAVA_SERVER_VERSION}.txt`);
  if (existsSync(cacheFile)) {
    const cached = readFileSync(cacheFile, 'utf8').trim();
    if (cached && cached.split(path.delimiter).every((jar) => existsSync(jar))) return cached;
  }
  if (!commandExists('mvn', ['-v'])) {
    throw new EmbeddedMongoError(`Maven (mvn) is needed once to fetch the embedded database and was not found. ${missingToolHint}`);
  }
  mkdirSync(cacheDir, { recursive: true });
  const progress = options.onProgress ?? ((line: string) => process.stderr.write(`${line}\n`));
  progress(`Fetching the embedded database (mongo-java-server ${MONGO_JAVA_SERVER_VERSION}) with Maven; this happens once…`);
  const outFile = path.join(cacheDir, 'classpath.tmp');
  const result = spawnSync(
    'mvn',
    ['-B', '-f', path.join(toolDir, 'pom.xml'), 'dependency:build-classpath', `-Dmdep.outputFile=${outFile}`],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  for (const line of `${result.stdout ?? ''}`.split('\n')) {
    // eslint-disable-next-line no-control-regex -- strips Maven's ANSI colour codes from its progress lines
    if (/Download(ed|ing) from|BUILD|ERROR/.test(line)) progress(line.replace(/\u001b\[[0-9;]*m/g, ''));
  }
  if (result.status !== 0 || !existsSync(outFile)) {
    throw new EmbeddedMongoError(
      `Maven could not fetch mongo-java-server ${MONGO_JAVA_SERVER_VERSION} (exit ${result.status}). Check the network access to Maven Central, or set MONGODB_URI.`,
    );
  }
  const classpath = readFileSync(outFile, 'utf8').trim();
  writeFileSync(cacheFile, classpath);
  return classpath;
}

/**
 * Starts mongo-java-server on 127.0.0.1 with a free port, reporting MongoDB 6.0's wire profile.
 * The Java process exits when this Node process exits (it watches its standard input).
 */
export async function startEmbeddedMongo(options: EmbeddedMongoOptions): Promise<EmbeddedMongo> {
  if (!commandExists('java', ['-version'])) {
    throw new EmbeddedMongoError(`Java 17 is needed to run the embedded database and was not found. ${missingToolHint}`);
  }
  const classpath = resolveClasspath(options);
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
  const port = await waitForReady(child, options.startTimeoutMs ?? 60_000, options.onProgress);
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

function waitForReady(child: ChildProcess, timeoutMs: number, onProgress?: (line: string) => void): Promise<number> {
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
      reject(new EmbeddedMongoError(`The embedded database exited during start-up (code ${code}). ${stderrTail.slice(-1000)}`));
    });
  });
}
