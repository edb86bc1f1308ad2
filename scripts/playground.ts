/*
 * Starts the Microsoft 365 Agents Playground against a running Roster, as a person from the
 * directory (the Playground's "current user" gets that person's AAD object id and UPN, so
 * Roster recognises them), in the msteams channel, with telemetry disabled.
 *
 *   npm start                                   # Roster, anonymous local Teams mode
 *   npm run playground -- --as maya.chen@brightwater.example [--port 56150] [--endpoint http://127.0.0.1:3978/api/messages] [--open]
 *
 * Run a second one on another port as an approver to see approval cards arrive proactively.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { findPersonByEmail } from '../src/config/directory.js';
import { loadOrgConfig } from '../src/config/org-config.js';
import type { OrgConfig, Person } from '../src/config/schemas.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The Playground's tenant: any GUID works, Roster only stores it. */
export const PLAYGROUND_TENANT = '00000000-0000-0000-0000-0000000000001';

function playgroundUser(person: Person, i: number) {
  const [givenName = person.name, ...rest] = person.name.split(' ');
  return {
    id: `user-${i}-${person.email.split('@')[0]!.replace(/[^\w-]/g, '-')}`,
    name: person.name,
    userPrincipleName: person.teamsUpn ?? person.email,
    aadObjectId: person.teamsAadObjectId!,
    givenName,
    surname: rest.join(' ') || givenName,
    email: person.email,
  };
}

/** The `.m365agentsplayground.yml` that makes `person` the Playground's current user. */
export function playgroundConfig(org: OrgConfig, person: Person): string {
  if (!person.teamsAadObjectId) throw new Error(`${person.email} has no teamsAadObjectId in the directory, so Teams cannot identify them.`);
  const others = org.people.filter((p) => p.teamsAadObjectId && p.email !== person.email).slice(0, 5);
  return stringify({
    version: '0.1.1',
    tenantId: PLAYGROUND_TENANT,
    bot: { id: '00000000-0000-0000-0000-00000000000011', name: 'Roster' },
    currentUser: playgroundUser(person, 0),
    users: others.map((p, i) => playgroundUser(p, i + 1)),
    personalChat: { id: `personal-chat-${person.teamsAadObjectId}` },
    groupChat: { id: 'roster-group-chat', name: 'Roster group chat' },
    team: {
      id: 'roster-team',
      name: 'Roster team',
      aadGroupId: '00000000-0000-0000-0000-000000000031',
      channels: [{ id: 'roster-general', name: 'General' }],
    },
  });
}

export interface PlaygroundOptions {
  org: OrgConfig;
  /** E-mail of the directory person to be. */
  as: string;
  /** Roster's messaging endpoint. */
  endpoint: string;
  port: number;
  /** Where the config and the Playground's log go. */
  workDir: string;
  /** Let the Playground open a browser (it does not by default here). */
  open?: boolean;
  /** Inherit stdio (the CLI) instead of piping it (tests). */
  inherit?: boolean;
}

export interface RunningPlayground {
  url: string;
  process: ChildProcess;
  /** What the Playground printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts the Playground CLI and resolves once it listens. */
export async function startPlayground(options: PlaygroundOptions): Promise<RunningPlayground> {
  const person = findPersonByEmail(options.org, options.as);
  if (!person) throw new Error(`${options.as} is not in the directory (config/people.yaml).`);
  mkdirSync(options.workDir, { recursive: true });
  const configPath = path.join(options.workDir, '.m365agentsplayground.yml');
  writeFileSync(configPath, playgroundConfig(options.org, person));
  const cli = createRequire(import.meta.url).resolve('@microsoft/m365agentsplayground/cli.js');
  const child = spawn(
    process.execPath,
    [cli, 'start', '--app-endpoint', options.endpoint, '--channel-id', 'msteams', '--port', String(options.port), '--disable-telemetry'],
    {
      cwd: options.workDir,
      env: {
        ...process.env,
        M365_AGENTS_PLAYGROUND_CONFIG_PATH: configPath,
        ...(options.open ? {} : { TEAMSAPPTESTER_BROWSER: 'none' }),
      },
      stdio: options.inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the Playground exited (${child.exitCode}): ${output}`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`the Playground did not start on ${url} within 30 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    process: child,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

function argument(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const org = loadOrgConfig(process.env.ROSTER_CONFIG_DIR ?? path.join(root, 'config'));
  const as = argument(args, '--as') ?? org.people.find((p) => p.teamsAadObjectId)!.email;
  const port = Number(argument(args, '--port') ?? 56150);
  const endpoint = argument(args, '--endpoint') ?? `http://127.0.0.1:${process.env.PORT ?? 3978}/api/messages`;
  const playground = await startPlayground({
    org,
    as,
    endpoint,
    port,
    workDir: path.join(root, '.cache', 'playground', as),
    open: args.includes('--open'),
    inherit: true,
  });
  process.stdout.write(`Agents Playground as ${as}: ${playground.url} (Roster at ${endpoint}). Ctrl-C stops it.\n`);
  const stop = () => void playground.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
