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
 * commands Roster understands (CHAT_COMMANDS), so the menu and `help` never disagree.
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
    APP_VERSION: options.version ?? '1.0.0',
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

/** The command menu: one entry per chat command (Teams shows at most 10), its usage in the description. */
export function menuCommands(): Array<{ title: string; description: string }> {
  return CHAT_COMMANDS.slice(0, 10).map((c) => {
    const title = c.usage.split(' ')[0]!;
    const usage = c.usage === title ? '' : ` Usage: ${c.usage}`;
    const description = `${c.description}${usage}`;
    return { title, description: description.length <= 128 ? description : `${description.slice(0, 127)}…` };
  });
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
