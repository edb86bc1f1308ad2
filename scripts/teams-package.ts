/*
 * Builds the Teams app package (dist/roster-teams.zip): teams-app/manifest.json with the bot's
 * ids filled in, and the two icons Teams requires (color 192x192, outline 32x32, white on
 * transparent). Icons in teams-app/ are used when present; otherwise they are drawn here, so
 * the package builds from the repository alone.
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
import { deflateRawSync, deflateSync } from 'node:zlib';
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
  /** Directory with manifest.json and optional color.png / outline.png. */
  dir?: string;
}

// ---------------------------------------------------------------------------------------------
// CRC-32, PNG and ZIP, with node:zlib only.

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

type Rgba = [number, number, number, number];

/** An RGBA PNG from a pixel function. */
export function png(width: number, height: number, pixel: (x: number, y: number) => Rgba): Buffer {
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 4 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), row + 1 + x * 4);
  }
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A ZIP archive (deflate) of the given files, in order. */
export function zip(files: Array<{ name: string; data: Buffer }>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const dosTime = 0; // 00:00:00
  const dosDate = ((2025 - 1980) << 9) | (1 << 5) | 1; // 1 Jan 2025: stable bytes for the same input
  for (const file of files) {
    const name = Buffer.from(file.name, 'utf8');
    const compressed = deflateRawSync(file.data);
    const crc = crc32(file.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(file.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, compressed);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(file.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

// ---------------------------------------------------------------------------------------------
// Icons: a roster (three rows, each a bullet and a line), white on the accent colour.

const ACCENT: Rgba = [0x1f, 0x4e, 0x79, 255];
const WHITE: Rgba = [255, 255, 255, 255];
const CLEAR: Rgba = [0, 0, 0, 0];

function rosterGlyph(size: number): (x: number, y: number) => boolean {
  const s = size / 32;
  const rows = [9.5, 16, 22.5].map((r) => r * s);
  const dotX = 8.5 * s;
  const dotR = 2.6 * s;
  const [barFrom, barTo, barHalf] = [13 * s, 25 * s, 1.6 * s];
  return (x, y) => {
    const [px, py] = [x + 0.5, y + 0.5];
    return rows.some((ry) => Math.hypot(px - dotX, py - ry) <= dotR || (px >= barFrom && px <= barTo && Math.abs(py - ry) <= barHalf));
  };
}

export function colorIcon(): Buffer {
  const size = 192;
  const glyph = rosterGlyph(size);
  const radius = 36;
  return png(size, size, (x, y) => {
    const cx = Math.min(Math.max(x + 0.5, radius), size - radius);
    const cy = Math.min(Math.max(y + 0.5, radius), size - radius);
    if (Math.hypot(x + 0.5 - cx, y + 0.5 - cy) > radius) return CLEAR;
    return glyph(x, y) ? WHITE : ACCENT;
  });
}

export function outlineIcon(): Buffer {
  const glyph = rosterGlyph(32);
  return png(32, 32, (x, y) => (glyph(x, y) ? WHITE : CLEAR));
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
  const icon = (file: string, draw: () => Buffer) => (existsSync(path.join(dir, file)) ? readFileSync(path.join(dir, file)) : draw());
  const archive = zip([
    { name: 'manifest.json', data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) },
    { name: 'color.png', data: icon('color.png', colorIcon) },
    { name: 'outline.png', data: icon('outline.png', outlineIcon) },
  ]);
  return { zip: archive, manifest };
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
