import { removeBuild } from './test-build.mjs';

export default async function globalTeardown() {
  await globalThis.__rosterEmbeddedMongo?.stop();
  removeBuild(globalThis.__rosterTestBuild);
}
