import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file's location (test/config/). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A directory under the repository, as loadOrgConfig would be given it: relative to the working directory. */
export function relativeToCwd(...segments: string[]): string {
  return path
    .relative(process.cwd(), path.join(repoRoot, ...segments))
    .split(path.sep)
    .join('/');
}

/** The shipped configuration directory, relative to the working directory (`config` when run from the root). */
export const shippedConfigDir = relativeToCwd('config');

/** A fixture directory under test/fixtures/config, relative to the working directory. */
export function fixtureDir(name: string): string {
  return relativeToCwd('test', 'fixtures', 'config', name);
}
