import { tsImport } from 'tsx/esm/api';
import { buildRoster, removeBuild } from './test-build.mjs';

/**
 * One in-memory embedded server for the whole run; each test file uses its own database on it.
 * A real MongoDB can be used instead with ROSTER_TEST_MONGODB_URI. Meanwhile src/ is compiled once
 * for the tests that start Roster or its CLI as a process (test-build.mjs).
 * (Plain JS: Jest loads global setup outside its transform pipeline.)
 */
export default async function globalSetup() {
  const [built, database] = await Promise.allSettled([
    buildRoster(),
    (async () => {
      if (process.env.ROSTER_TEST_MONGODB_URI) return undefined;
      const { startEmbeddedMongo } = await tsImport('../../src/store/embedded/embedded-mongo.ts', import.meta.url);
      return startEmbeddedMongo({ backend: 'memory', onProgress: () => undefined });
    })(),
  ]);
  // Jest runs no teardown when the setup fails: nothing of a failed setup is left behind.
  if (built.status === 'rejected' || database.status === 'rejected') {
    if (built.status === 'fulfilled') removeBuild(built.value);
    if (database.status === 'fulfilled') await database.value?.stop();
    throw built.status === 'rejected' ? built.reason : database.reason;
  }
  globalThis.__rosterTestBuild = built.value;
  process.env.ROSTER_TEST_BUILD_DIR = built.value;
  if (database.value) {
    globalThis.__rosterEmbeddedMongo = database.value;
    process.env.ROSTER_TEST_MONGODB_URI = database.value.uri;
  }
}
