import { tsImport } from 'tsx/esm/api';

/**
 * One in-memory embedded server for the whole run; each test file uses its own database on it.
 * A real MongoDB can be used instead with ROSTER_TEST_MONGODB_URI.
 * (Plain JS: Jest loads global setup outside its transform pipeline.)
 */
export default async function globalSetup() {
  if (process.env.ROSTER_TEST_MONGODB_URI) return;
  const { startEmbeddedMongo } = await tsImport('../../src/store/embedded/embedded-mongo.ts', import.meta.url);
  const server = await startEmbeddedMongo({ backend: 'memory', onProgress: () => undefined });
  globalThis.__rosterEmbeddedMongo = server;
  process.env.ROSTER_TEST_MONGODB_URI = server.uri;
}
