import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { createProgress, formatBytes, type ProgressStream } from '../../progress.js';

/** One pinned jar from Maven Central, with the checksums its download must match. */
export interface JarArtifact {
  group: string;
  artifact: string;
  version: string;
  /** Size in bytes, for the progress bar and as a first check. */
  size: number;
  sha256: string;
  /** Maven Central publishes SHA-1 beside every jar; both must match. */
  sha1: string;
}

/** The mongo-java-server release Roster embeds when MONGODB_URI is unset. */
export const MONGO_JAVA_SERVER_VERSION = '1.47.0';

/**
 * mongo-java-server with its memory and H2 backends and every runtime dependency, in classpath order
 * (what `mvn dependency:build-classpath` resolved for tools/embedded-mongo before Roster fetched
 * the jars itself). Changing a version means changing its size and checksums here too.
 */
export const EMBEDDED_MONGO_JARS: readonly JarArtifact[] = [
  jar(
    'de.bwaldvogel',
    'mongo-java-server',
    MONGO_JAVA_SERVER_VERSION,
    307,
    '37fc487ab0ef924dee0acdc62e2de1ef1daffa7eb2fdf9b56e5d2f3bdc2b909b',
    'f36be19292c0d87e7b866e02c9c622ff97ae9b7a',
  ),
  jar(
    'de.bwaldvogel',
    'mongo-java-server-core',
    MONGO_JAVA_SERVER_VERSION,
    449651,
    '9a34c9ad6ac6261906295481838256033ec1efc8c93a3e3828e5d47a006b0bd4',
    'ac88c8ea20dc55ea7a0fa96d5337c69e75e55e97',
  ),
  jar(
    'io.netty',
    'netty-transport',
    '4.2.2.Final',
    560588,
    '116d766a1af4722fe76a4cdaed969644985d44e08ec1337d2dbab697dd109603',
    '495585c077a6b6c28932c2f70281c62d276b9f0e',
  ),
  jar(
    'io.netty',
    'netty-common',
    '4.2.2.Final',
    741255,
    '5d022f3acad74cb0f195f60213500a4000d1340e5e941edaf1a0e756686b9bae',
    '58b152807286691ec7caaa3ed4124f10ff640cde',
  ),
  jar(
    'io.netty',
    'netty-buffer',
    '4.2.2.Final',
    343325,
    '4820eeb2d3db269b20b30711e3d7d21979664249aaf10fc67f90dee935810747',
    'a27dea07e13f064147dd2535e6db352570dd99ad',
  ),
  jar(
    'io.netty',
    'netty-resolver',
    '4.2.2.Final',
    38469,
    'fa7841ffe2e39d52251814fb8560d6936b10ae7c67453ee50426b83fd5170ba0',
    '54730eeba61c27341416e5ec9d05ce53f5d8ee81',
  ),
  jar(
    'io.netty',
    'netty-codec',
    '4.2.2.Final',
    3941,
    '6a4ea3cedc831a377e20e32da5df4d2a47b954810e941138e3358e313db3a7f9',
    'fff7038182ba65719eca418f4fee492e896ad28d',
  ),
  jar(
    'io.netty',
    'netty-codec-base',
    '4.2.2.Final',
    152831,
    '76987614ccb2fda7d3292b69ba5b61351f30e91bf5c7d8fa4b51bc32c9f67456',
    'b78bea31f40f9c23bb5f47eb47830a6e7540f69e',
  ),
  jar(
    'io.netty',
    'netty-codec-compression',
    '4.2.2.Final',
    182123,
    '005734e20aceb5e2c030033f7e042c81ee444497efd110cfca8de445642652ac',
    'f052272351e478495fe2ec6b2d267d449b8f92d9',
  ),
  jar(
    'io.netty',
    'netty-codec-protobuf',
    '4.2.2.Final',
    14659,
    'cfe0c7e6e68d83480a639b533eb7edaaf3252cfae8b73d0e362859673a4f9d97',
    '3e02980fce912ac0faa0d37706b7cae0ad3d9d8e',
  ),
  jar(
    'io.netty',
    'netty-codec-marshalling',
    '4.2.2.Final',
    20298,
    'ae8bb7a077ca02357c922e3abc1acf1bf191d5e2776721d69cbca50a16281096',
    '3837bd1e3dbe57c95956d5731fe6dc7fab421c9f',
  ),
  jar(
    'io.netty',
    'netty-handler',
    '4.2.2.Final',
    573808,
    'd4ef582c78125457baa0cfa52992b5fb1bb9172d1a2c03b726e8b26e17d3fe2c',
    '275d0b1fdb5110fcbb6ab64c91688e1a01083c66',
  ),
  jar(
    'io.netty',
    'netty-transport-native-unix-common',
    '4.2.2.Final',
    46504,
    'aa8821a7ea2ca47f62740bd1f37d67deb97824cc77e76dde6ae2c439a923fc9d',
    '2367bd62271490a60adbcb7705b3f20e9b1501a6',
  ),
  jar(
    'de.bwaldvogel',
    'mongo-java-server-memory-backend',
    MONGO_JAVA_SERVER_VERSION,
    11699,
    '82864f8a2ede1514f64c2cd3a70e8022c259eb3d78975cfa208c1668ac1f12bb',
    'a914b8e4ddbb010a3916dfc6d3ee613cf57026f2',
  ),
  jar(
    'org.slf4j',
    'slf4j-api',
    '2.0.17',
    69908,
    '7b751d952061954d5abfed7181c1f645d336091b679891591d63329c622eb832',
    'd9e58ac9c7779ba3bf8142aff6c830617a7fe60f',
  ),
  jar(
    'de.bwaldvogel',
    'mongo-java-server-h2-backend',
    MONGO_JAVA_SERVER_VERSION,
    12626,
    '58ca6760a25f8a05adfe8a0f7a8a042ca22bd472869028755931507cdce20e71',
    '8102eff9c4eb27c6e27fc75c33385fc3762bb6d0',
  ),
  jar(
    'com.h2database',
    'h2',
    '2.3.232',
    2651157,
    '8dae62d22db8982c3dcb3826edb9c727c5d302063a67eef7d63d82de401f07d3',
    '4fcc05d966ccdb2812ae8b9a718f69226c0cf4e2',
  ),
  jar(
    'org.slf4j',
    'slf4j-simple',
    '2.0.17',
    15716,
    'ddfea59ac074c6d3e24ac2c38622d2d963895e17f70b38ed4bdae4d780be6964',
    '9872a3fd794ffe7b18d17747926a64d61526ca96',
  ),
];

function jar(group: string, artifact: string, version: string, size: number, sha256: string, sha1: string): JarArtifact {
  return { group, artifact, version, size, sha256, sha1 };
}

/** Maven Central over HTTPS. */
export const MAVEN_CENTRAL = 'https://repo1.maven.org/maven2';

/** The artifact's path inside a Maven repository layout. */
export function artifactPath(a: JarArtifact): string {
  return `${a.group.replace(/\./g, '/')}/${a.artifact}/${a.version}/${a.artifact}-${a.version}.jar`;
}

/** Raised when the jars cannot be fetched or verified; the message is for people. */
export class JarFetchError extends Error {
  readonly code = 'embedded_jars_unavailable';
}

export interface EnsureJarsOptions {
  /** Where verified jars are kept (`.cache/embedded-mongo/jars` under the project by default). */
  cacheDir: string;
  /**
   * Base URL of the Maven repository: Maven Central by default; a mirror must be HTTPS (plain HTTP
   * only on loopback, for tests). Every jar is verified against the pinned checksums whatever serves it.
   */
  repository?: string;
  /** A local Maven repository to copy already-downloaded jars from (~/.m2/repository); null to skip. */
  localRepository?: string | null;
  /** The jars to ensure (the pinned list by default). */
  jars?: readonly JarArtifact[];
  /** Where progress goes (standard error by default), and whether it is a terminal. */
  progress?: { stream?: ProgressStream; tty?: boolean; silent?: boolean };
  /** Per-jar download time limit. */
  timeoutMs?: number;
}

/** Checks the repository URL: HTTPS, or HTTP to a loopback address. */
export function checkRepositoryUrl(repository: string): URL {
  let url: URL;
  try {
    url = new URL(repository);
  } catch {
    throw new JarFetchError(`The Maven repository URL "${repository}" is not a URL.`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new JarFetchError(`The Maven repository must be reached over HTTPS (got ${url.protocol}//${url.host}).`);
  }
  return url;
}

async function digestsOf(file: string): Promise<{ sha256: string; sha1: string; size: number }> {
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    sha256.update(chunk);
    sha1.update(chunk);
    size += chunk.length;
  }
  return { sha256: sha256.digest('hex'), sha1: sha1.digest('hex'), size };
}

async function matches(file: string, a: JarArtifact): Promise<boolean> {
  if (!existsSync(file) || statSync(file).size !== a.size) return false;
  const d = await digestsOf(file);
  return d.sha256 === a.sha256 && d.sha1 === a.sha1;
}

const fileName = (a: JarArtifact) => `${a.artifact}-${a.version}.jar`;
const jarCount = (n: number) => `${n} jar${n === 1 ? '' : 's'}`;

/**
 * Makes sure every pinned jar is in the cache, verified; returns their paths in classpath order.
 * Missing jars are copied from the local Maven repository when it holds a matching one, else
 * downloaded over HTTPS with Node's fetch, checked against size, SHA-256 and SHA-1, and only then
 * moved into place, so a cut or tampered download never reaches the classpath.
 */
export async function ensureJars(options: EnsureJarsOptions): Promise<string[]> {
  const jars = options.jars ?? EMBEDDED_MONGO_JARS;
  const base = checkRepositoryUrl(options.repository ?? MAVEN_CENTRAL);
  const localRepo = options.localRepository === undefined ? path.join(os.homedir(), '.m2', 'repository') : options.localRepository;
  mkdirSync(options.cacheDir, { recursive: true });
  const targets = jars.map((a) => ({ a, file: path.join(options.cacheDir, fileName(a)) }));

  const missing: typeof targets = [];
  for (const t of targets) if (!(await matches(t.file, t.a))) missing.push(t);
  if (missing.length === 0) return targets.map((t) => t.file);

  const toDownload: typeof targets = [];
  for (const t of missing) {
    const local = localRepo ? path.join(localRepo, artifactPath(t.a)) : undefined;
    if (local && (await matches(local, t.a))) await copyVerified(local, t.file, t.a);
    else toDownload.push(t);
  }
  if (toDownload.length === 0) return targets.map((t) => t.file);

  const total = toDownload.reduce((n, t) => n + t.a.size, 0);
  const progress = createProgress({
    label: `Fetching the embedded database (mongo-java-server ${MONGO_JAVA_SERVER_VERSION}, ${jarCount(toDownload.length)})`,
    total,
    unit: 'bytes',
    stream: options.progress?.stream,
    tty: options.progress?.tty,
    plain: options.progress?.silent ? 'silent' : 'lines',
  });
  for (const t of toDownload) {
    const url = new URL(artifactPath(t.a), base.href.endsWith('/') ? base : `${base.href}/`);
    await download(url, t.file, t.a, options.timeoutMs ?? 300_000, (n) => progress.advance(n, fileName(t.a)));
    progress.itemDone(fileName(t.a), formatBytes(t.a.size));
  }
  progress.finish(`Embedded database fetched: ${jarCount(toDownload.length)}, ${formatBytes(total)}, checksums verified.`);
  return targets.map((t) => t.file);
}

async function copyVerified(from: string, to: string, a: JarArtifact): Promise<void> {
  const part = `${to}.part-${process.pid}`;
  const out = createWriteStream(part);
  for await (const chunk of createReadStream(from) as AsyncIterable<Buffer>) if (!out.write(chunk)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  if (!(await matches(part, a))) {
    rmSync(part, { force: true });
    throw new JarFetchError(`${fileName(a)} changed while it was being copied from the local Maven repository.`);
  }
  renameSync(part, to);
}

async function download(url: URL, to: string, a: JarArtifact, timeoutMs: number, onBytes: (n: number) => void): Promise<void> {
  const part = `${to}.part-${process.pid}`;
  const where = `${url.protocol}//${url.host}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (err) {
    throw new JarFetchError(
      `Could not download ${fileName(a)} from ${where} (${(err as Error).cause ? String((err as { cause: Error }).cause.message) : (err as Error).message}). ` +
        'Check the network access to Maven Central, or set MONGODB_URI to use your own MongoDB.',
    );
  }
  if (!response.ok || !response.body) {
    throw new JarFetchError(`Could not download ${fileName(a)} from ${where}: HTTP ${response.status}.`);
  }
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  let size = 0;
  const out = createWriteStream(part);
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > a.size) throw new JarFetchError(`${fileName(a)} from ${where} is larger than the pinned ${a.size} bytes; not used.`);
      sha256.update(chunk);
      sha1.update(chunk);
      onBytes(chunk.length);
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  } catch (err) {
    out.destroy();
    rmSync(part, { force: true });
    if (err instanceof JarFetchError) throw err;
    throw new JarFetchError(`The download of ${fileName(a)} from ${where} was interrupted (${(err as Error).message}).`);
  }
  const got = { sha256: sha256.digest('hex'), sha1: sha1.digest('hex') };
  if (size !== a.size || got.sha256 !== a.sha256 || got.sha1 !== a.sha1) {
    rmSync(part, { force: true });
    throw new JarFetchError(
      `${fileName(a)} from ${where} does not match its pinned checksum (SHA-256 ${got.sha256}, expected ${a.sha256}); not used.`,
    );
  }
  renameSync(part, to);
}
