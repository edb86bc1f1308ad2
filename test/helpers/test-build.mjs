import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, stop } from 'esbuild';

/**
 * The build the tests start as a child process (test/helpers/roster-process.ts): src/ compiled once per
 * test run, so a test still proves src/ but each start loads JavaScript instead of compiling every
 * module through tsx's loader again (about half of each start's time).
 *
 * File by file, as tsx itself compiles them (esbuild, the project's tsconfig, keepNames), into
 * `<project>/.test-build-<pid>/`: a directory directly under the project, as dist/ is, so the paths
 * modules find from their own location (cards/, proto/, package.json, node_modules, the jar cache)
 * are the ones they find from src/. The pid keeps concurrent runs in one checkout apart.
 * (Plain JS: Jest loads global setup outside its transform pipeline.)
 */

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PREFIX = '.test-build-';

/** The admin CLI as bin/roster.js runs it when there is a build (its dist/ branch), for this build. */
const CLI_ENTRY = `// Written by test/helpers/test-build.mjs: bin/roster.js's compiled branch, for this build.
const { runCli } = await import('./cli/main.js');
process.exitCode = await runCli(process.argv.slice(2));
`;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Builds src/ and returns the build's directory (its `main.js` is src/main.ts, `roster-cli.js` the CLI). */
export async function buildRoster() {
  // Builds left by runs that were killed before their teardown.
  for (const name of readdirSync(projectRoot)) {
    const pid = Number(name.slice(PREFIX.length));
    if (name.startsWith(PREFIX) && Number.isInteger(pid) && pid !== process.pid && !alive(pid)) {
      rmSync(path.join(projectRoot, name), { recursive: true, force: true });
    }
  }
  const outdir = path.join(projectRoot, `${PREFIX}${process.pid}`);
  rmSync(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: projectRoot,
    entryPoints: ['src/**/*.ts'],
    outbase: 'src',
    outdir,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node}`,
    keepNames: true,
    logLevel: 'error',
  }).finally(() => stop());
  writeFileSync(path.join(outdir, 'roster-cli.js'), CLI_ENTRY);
  if (!existsSync(path.join(outdir, 'main.js'))) throw new Error(`the test build in ${outdir} has no main.js`);
  return outdir;
}

export function removeBuild(dir) {
  if (dir && path.basename(dir).startsWith(PREFIX)) rmSync(dir, { recursive: true, force: true });
}
