/*
 * Builds the Teams app package (dist/roster-teams.zip): teams-app/manifest.json with the bot's
 * ids filled in, and the two icons Teams requires, teams-app/color.png (192x192) and
 * teams-app/outline.png (32x32, white on transparent), zipped with fflate.
 *
 *   connections__serviceConnection__settings__clientId=<app id> npm run teams:package
 *   npm run teams:package -- --bot-id <app id> [--app-id <teams app id>] [--version 1.2.0] [--out dist/roster-teams.zip]
 *
 * Other placeholders come from the environment: TEAMS_APP_DEVELOPER, TEAMS_APP_WEBSITE,
 * TEAMS_APP_PRIVACY_URL, TEAMS_APP_TERMS_URL. The bot's command menu is filled from the chat
 * commands Roster understands (CHAT_COMMANDS, grouped to fit Teams' 10 per menu), so the menu and
 * `help` never disagree. The version is package.json's unless --version says otherwise.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { CHAT_COMMANDS } from '../src/channels/chat.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const TEAMS_APP_DIR = path.join(root, 'teams-app');
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PackageOptions {
  /** The Azure Bot's Microsoft App (client) id. */
  botId: string;
  /** The Teams app id; the bot id when not given. */
  appId?: string;
  /** The app version; package.json's when not given (Teams takes an upload as an update only when it is higher). */
  version?: string;
  developer?: string;
  websiteUrl?: string;
  privacyUrl?: string;
  termsUrl?: string;
  /** Directory with manifest.json, color.png and outline.png. */
  dir?: string;
}

// ---------------------------------------------------------------------------------------------
// The manifest.

/** Fills the manifest template and checks what Teams would reject at upload. */
export function buildManifest(options: PackageOptions): Record<string, unknown> {
  const dir = options.dir ?? TEAMS_APP_DIR;
  const appId = options.appId ?? options.botId;
  for (const [name, id] of [
    ['bot id', options.botId],
    ['Teams app id', appId],
  ] as const) {
    if (!GUID.test(id)) throw new Error(`The ${name} must be a GUID (the Azure Bot's Microsoft App ID), got "${id}".`);
  }
  const values: Record<string, string> = {
    APP_VERSION: options.version ?? packageVersion(),
    TEAMS_APP_ID: appId,
    BOT_ID: options.botId,
    DEVELOPER_NAME: options.developer ?? 'Roster',
    WEBSITE_URL: options.websiteUrl ?? 'https://roster.example.com',
    PRIVACY_URL: options.privacyUrl ?? 'https://roster.example.com/privacy',
    TERMS_URL: options.termsUrl ?? 'https://roster.example.com/terms',
  };
  const template = readFileSync(path.join(dir, 'manifest.json'), 'utf8');
  const filled = template.replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`manifest.json: unknown placeholder {{${key}}}`);
    return JSON.stringify(value).slice(1, -1);
  });
  const manifest = JSON.parse(filled) as Record<string, unknown>;
  for (const bot of manifest.bots as Array<{ commandLists?: Array<{ commands: unknown[] }> }>) {
    for (const list of bot.commandLists ?? []) list.commands = menuCommands();
  }
  checkManifest(manifest);
  return manifest;
}

/**
 * The command menu. Teams shows at most 10 commands per scope (one command list per scope), and
 * Roster has more, so related commands share an entry: its title is a command Roster answers
 * (selecting it types that word) and its description names the others of the group. A command
 * no group names joins the last entry, so every chat command is on the menu.
 */
const MENU_GROUPS: ReadonlyArray<{ title: string; summary: string; also: readonly string[] }> = [
  { title: 'help', summary: 'What Roster can do for you.', also: [] },
  { title: 'catalog', summary: 'Agent roles you may request.', also: ['request'] },
  { title: 'list', summary: 'Your agents and the fleet.', also: ['show', 'find', 'fleet', 'dashboard'] },
  { title: 'pending', summary: 'What waits for you.', also: ['home', 'cancel', 'away', 'back'] },
  { title: 'access', summary: 'Time-bound access for an agent.', also: ['break-glass', 'boundary'] },
  { title: 'eval', summary: 'Evaluate and improve an agent.', also: ['update', 'retrain', 'reactivate'] },
  { title: 'decisions', summary: "An agent's decisions and knowledge.", also: ['note', 'compliance'] },
  { title: 'retire', summary: 'Retire or hand over an agent.', also: ['archive', 'sponsor'] },
];

/** The first word of each chat command, as typed. */
function commandWords(): string[] {
  return [...new Set(CHAT_COMMANDS.map((c) => c.usage.split(' ')[0]!))];
}

/** The command menu (at most 10 entries), every chat command on it; see {@link MENU_GROUPS}. */
export function menuCommands(): Array<{ title: string; description: string }> {
  const words = commandWords();
  const known = new Set(words);
  const groups = MENU_GROUPS.filter((g) => known.has(g.title)).map((g) => ({ ...g, also: g.also.filter((w) => known.has(w)) }));
  const placed = new Set(groups.flatMap((g) => [g.title, ...g.also]));
  const unplaced = words.filter((w) => !placed.has(w));
  if (unplaced.length) groups.at(-1)!.also = [...groups.at(-1)!.also, ...unplaced];
  const own = new Map(CHAT_COMMANDS.map((c) => [c.usage.split(' ')[0]!, c.description]));
  return groups.map((g) => {
    const also = g.also.length ? ` Also: ${g.also.join(', ')}.` : '';
    // The command's own words when they fit beside the group, else the group's summary.
    const full = `${own.get(g.title) ?? g.summary}${also}`;
    const description = full.length <= 128 ? full : `${g.summary}${also}`;
    return { title: g.title, description: description.length <= 128 ? description : `${description.slice(0, 127)}…` };
  });
}

/** The app package version: Roster's own (package.json), so each release can be uploaded as an update. */
export function packageVersion(): string {
  const version = String((JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: unknown }).version ?? '');
  const core = /^(\d+\.\d+\.\d+)/.exec(version)?.[1];
  if (!core) throw new Error(`package.json: version "${version}" is not like 1.2.3`);
  return core;
}

function checkManifest(manifest: Record<string, unknown>): void {
  const problems: string[] = [];
  const name = manifest.name as { short: string; full: string };
  const description = manifest.description as { short: string; full: string };
  if (name.short.length > 30) problems.push('name.short is longer than 30 characters');
  if (name.full.length > 100) problems.push('name.full is longer than 100 characters');
  if (description.short.length > 80) problems.push('description.short is longer than 80 characters');
  if (description.full.length > 4000) problems.push('description.full is longer than 4000 characters');
  if (!/^\d+\.\d+\.\d+$/.test(String(manifest.version))) problems.push('version must be like 1.0.0');
  const developer = manifest.developer as Record<string, string>;
  for (const url of ['websiteUrl', 'privacyUrl', 'termsOfUseUrl']) {
    if (!/^https:\/\//.test(developer[url] ?? '')) problems.push(`developer.${url} must be an https URL`);
  }
  for (const bot of manifest.bots as Array<{ commandLists?: Array<{ commands: Array<{ title: string; description: string }> }> }>) {
    for (const list of bot.commandLists ?? []) {
      if (list.commands.length > 10) problems.push('a command list has more than 10 commands');
      for (const c of list.commands) {
        if (c.title.length > 32) problems.push(`command "${c.title}": title longer than 32 characters`);
        if (c.description.length > 128) problems.push(`command "${c.title}": description longer than 128 characters`);
      }
    }
  }
  if (problems.length) throw new Error(`teams-app/manifest.json:\n  ${problems.join('\n  ')}`);
}

/** The package: manifest.json, color.png and outline.png at the root of a ZIP. */
export function buildTeamsPackage(options: PackageOptions): { zip: Buffer; manifest: Record<string, unknown> } {
  const dir = options.dir ?? TEAMS_APP_DIR;
  const manifest = buildManifest(options);
  const icon = (file: string): Uint8Array => {
    const at = path.join(dir, file);
    if (!existsSync(at)) throw new Error(`${path.relative(root, at)} is missing: the Teams package needs both icons.`);
    return readFileSync(at);
  };
  // A fixed time keeps the bytes the same for the same input.
  const mtime = new Date('2025-01-01T00:00:00Z');
  const archive = zipSync(
    {
      'manifest.json': Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`),
      'color.png': icon('color.png'),
      'outline.png': icon('outline.png'),
    },
    { level: 9, mtime },
  );
  return { zip: Buffer.from(archive), manifest };
}

function argument(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function main(): void {
  const args = process.argv.slice(2);
  const botId = argument(args, '--bot-id') ?? process.env.connections__serviceConnection__settings__clientId ?? process.env.TEAMS_BOT_ID;
  if (!botId) {
    process.stderr.write(
      "teams:package needs the Azure Bot's Microsoft App ID: set connections__serviceConnection__settings__clientId or pass --bot-id <guid>.\n",
    );
    process.exit(2);
  }
  const out = path.resolve(argument(args, '--out') ?? path.join(root, 'dist', 'roster-teams.zip'));
  try {
    const { zip: archive } = buildTeamsPackage({
      botId,
      ...(argument(args, '--app-id') ? { appId: argument(args, '--app-id')! } : {}),
      ...(argument(args, '--version') ? { version: argument(args, '--version')! } : {}),
      ...(process.env.TEAMS_APP_DEVELOPER ? { developer: process.env.TEAMS_APP_DEVELOPER } : {}),
      ...(process.env.TEAMS_APP_WEBSITE ? { websiteUrl: process.env.TEAMS_APP_WEBSITE } : {}),
      ...(process.env.TEAMS_APP_PRIVACY_URL ? { privacyUrl: process.env.TEAMS_APP_PRIVACY_URL } : {}),
      ...(process.env.TEAMS_APP_TERMS_URL ? { termsUrl: process.env.TEAMS_APP_TERMS_URL } : {}),
    });
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, archive);
    process.stdout.write(`Teams app package written to ${path.relative(process.cwd(), out)} (${archive.length} bytes).\n`);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
