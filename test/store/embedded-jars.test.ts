import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  artifactPath,
  checkRepositoryUrl,
  EMBEDDED_MONGO_JARS,
  ensureJars,
  JarFetchError,
  type JarArtifact,
} from '../../src/store/embedded/jars.js';
import { fakeMavenRepository } from '../helpers/fake-maven.js';

/** A fake jar: random bytes with their real size and checksums. */
function fakeJar(artifact: string, size: number): { artifact: JarArtifact; bytes: Buffer } {
  const bytes = randomBytes(size);
  return {
    bytes,
    artifact: {
      group: 'dev.roster.fake',
      artifact,
      version: '1.0.0',
      size,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      sha1: createHash('sha1').update(bytes).digest('hex'),
    },
  };
}

/** Collects what progress writes. */
function sink(isTTY: boolean) {
  let text = '';
  return { stream: { write: (s: string) => (text += s), isTTY, columns: 200 }, text: () => text };
}

describe('embedded database jars (pinned, verified, cached)', () => {
  const small = fakeJar('small-lib', 3_000);
  const big = fakeJar('big-lib', 1_500_000);
  const jars = [small.artifact, big.artifact];
  let dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'roster-jars-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs = [];
  });

  it('downloads each jar once over the repository URL, verifies it, and prints plain progress lines with sizes without a terminal', async () => {
    const repo = await fakeMavenRepository(
      new Map([
        [artifactPath(small.artifact), small.bytes],
        [artifactPath(big.artifact), big.bytes],
      ]),
    );
    try {
      const cacheDir = tmp();
      const out = sink(false);
      const files = await ensureJars({ cacheDir, repository: repo.url, localRepository: null, jars, progress: { stream: out.stream } });
      expect(files.map((f) => path.basename(f))).toEqual(['small-lib-1.0.0.jar', 'big-lib-1.0.0.jar']);
      expect(readFileSync(files[1]!).equals(big.bytes)).toBe(true);
      expect(repo.requests).toEqual([artifactPath(small.artifact), artifactPath(big.artifact)]);
      expect(out.text()).toBe(
        [
          'Fetching the embedded database (mongo-java-server 1.47.0, 2 jars): 1.5 MB…',
          '  small-lib-1.0.0.jar (3.0 kB)',
          '  big-lib-1.0.0.jar (1.5 MB)',
          'Embedded database fetched: 2 jars, 1.5 MB, checksums verified.',
          '',
        ].join('\n'),
      );
      expect(out.text()).not.toContain('\r');

      // Cached: nothing is requested again, nothing is printed.
      const again = sink(false);
      await ensureJars({ cacheDir, repository: repo.url, localRepository: null, jars, progress: { stream: again.stream } });
      expect(repo.requests).toHaveLength(2);
      expect(again.text()).toBe('');
    } finally {
      await repo.close();
    }
  });

  it('draws a progress bar with the bytes done and the total on a terminal', async () => {
    const repo = await fakeMavenRepository(new Map([[artifactPath(big.artifact), big.bytes]]));
    try {
      const out = sink(true);
      await ensureJars({
        cacheDir: tmp(),
        repository: repo.url,
        localRepository: null,
        jars: [big.artifact],
        progress: { stream: out.stream },
      });
      expect(out.text()).toMatch(
        // eslint-disable-next-line no-control-regex -- the bar is redrawn with carriage return and ANSI erase-line
        /\r\u001b\[2KFetching the embedded database .* [█░]{24} +\d+% [\d.]+ (kB|MB) \/ 1\.5 MB {2}big-lib-1\.0\.0\.jar/,
      );
      expect(out.text()).toMatch(/ 100% 1\.5 MB \/ 1\.5 MB/);
      expect(out.text().endsWith('Embedded database fetched: 1 jar, 1.5 MB, checksums verified.\n')).toBe(true);
    } finally {
      await repo.close();
    }
  });

  it('refuses a jar whose bytes do not match the pinned checksum, and keeps nothing of it', async () => {
    const tampered = Buffer.from(small.bytes);
    tampered[10] = (tampered[10]! + 1) % 256;
    const repo = await fakeMavenRepository(new Map([[artifactPath(small.artifact), tampered]]));
    try {
      const cacheDir = tmp();
      const attempt = ensureJars({
        cacheDir,
        repository: repo.url,
        localRepository: null,
        jars: [small.artifact],
        progress: { silent: true },
      });
      await expect(attempt).rejects.toThrow(JarFetchError);
      await expect(attempt).rejects.toThrow(/small-lib-1\.0\.0\.jar from http:\/\/127\.0\.0\.1:\d+ does not match its pinned checksum/);
      expect(readdirSync(cacheDir)).toEqual([]);
    } finally {
      await repo.close();
    }
  });

  it('reports a missing artifact with its HTTP status, and refuses plain HTTP to anything but loopback', async () => {
    const repo = await fakeMavenRepository(new Map());
    try {
      await expect(
        ensureJars({ cacheDir: tmp(), repository: repo.url, localRepository: null, jars: [small.artifact], progress: { silent: true } }),
      ).rejects.toThrow(/Could not download small-lib-1\.0\.0\.jar from http:\/\/127\.0\.0\.1:\d+: HTTP 404/);
    } finally {
      await repo.close();
    }
    expect(() => checkRepositoryUrl('http://repo.example.com/maven2')).toThrow(/must be reached over HTTPS/);
    expect(checkRepositoryUrl('https://repo.example.com/maven2').protocol).toBe('https:');
  });

  it('copies a matching jar from the local Maven repository instead of downloading it', async () => {
    const repo = await fakeMavenRepository(new Map());
    try {
      const m2 = tmp();
      const local = path.join(m2, artifactPath(small.artifact));
      mkdirSync(path.dirname(local), { recursive: true });
      writeFileSync(local, small.bytes);
      const cacheDir = tmp();
      const [file] = await ensureJars({
        cacheDir,
        repository: repo.url,
        localRepository: m2,
        jars: [small.artifact],
        progress: { silent: true },
      });
      expect(readFileSync(file!).equals(small.bytes)).toBe(true);
      expect(repo.requests).toEqual([]);
    } finally {
      await repo.close();
    }
  });

  it('pins mongo-java-server 1.47.0 with its memory and H2 backends and a checksum for every jar', () => {
    const names = EMBEDDED_MONGO_JARS.map((a) => `${a.group}:${a.artifact}:${a.version}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'de.bwaldvogel:mongo-java-server-core:1.47.0',
        'de.bwaldvogel:mongo-java-server-memory-backend:1.47.0',
        'de.bwaldvogel:mongo-java-server-h2-backend:1.47.0',
        'com.h2database:h2:2.3.232',
      ]),
    );
    for (const a of EMBEDDED_MONGO_JARS) {
      expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(a.sha1).toMatch(/^[0-9a-f]{40}$/);
    }
    expect(existsSync('tools/embedded-mongo/pom.xml')).toBe(false);
  });
});
