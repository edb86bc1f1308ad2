import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateRawSync, inflateSync } from 'node:zlib';
import { buildTeamsPackage, TEAMS_APP_DIR } from '../../../scripts/teams-package.js';
import { CHAT_COMMANDS } from '../../../src/channels/chat.js';

const BOT_ID = '0b3f5a8e-7c1d-4e2f-9a6b-1c2d3e4f5a6b';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 as ZIP readers compute it (node:zlib has none before Node 22). */
function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Reads a ZIP through its central directory, checking each entry's CRC as an unzip tool would. */
function unzip(archive: Buffer): Map<string, Buffer> {
  const end = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = archive.readUInt16LE(end + 10);
  let at = archive.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    expect(archive.readUInt32LE(at)).toBe(0x02014b50);
    const method = archive.readUInt16LE(at + 10);
    const crc = archive.readUInt32LE(at + 16);
    const size = archive.readUInt32LE(at + 20);
    const nameLength = archive.readUInt16LE(at + 28);
    const local = archive.readUInt32LE(at + 42);
    const name = archive.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const dataAt = local + 30 + archive.readUInt16LE(local + 26) + archive.readUInt16LE(local + 28);
    const raw = archive.subarray(dataAt, dataAt + size);
    const data = method === 8 ? inflateRawSync(raw) : raw;
    expect(crc32(data)).toBe(crc);
    files.set(name, data);
    at += 46 + nameLength;
  }
  return files;
}

/** Width, height and RGBA pixels of one of our (unfiltered, RGBA, single IDAT) PNGs. */
function readPng(data: Buffer) {
  const width = data.readUInt32BE(16);
  const height = data.readUInt32BE(20);
  const idatAt = data.indexOf('IDAT');
  const pixels = inflateSync(data.subarray(idatAt + 4, idatAt + 4 + data.readUInt32BE(idatAt - 4)));
  const pixel = (x: number, y: number) => [...pixels.subarray(y * (width * 4 + 1) + 1 + x * 4, y * (width * 4 + 1) + 5 + x * 4)];
  return { width, height, pixel };
}

describe('the Teams app package', () => {
  it('holds a manifest with the bot, its three scopes and the chat commands, and both icons', () => {
    const { zip } = buildTeamsPackage({ botId: BOT_ID, version: '1.4.0' });
    const files = unzip(zip);
    expect([...files.keys()]).toEqual(['manifest.json', 'color.png', 'outline.png']);

    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'));
    expect(manifest).toMatchObject({
      manifestVersion: '1.22',
      id: BOT_ID,
      version: '1.4.0',
      icons: { color: 'color.png', outline: 'outline.png' },
    });
    const [bot] = manifest.bots;
    expect(bot).toMatchObject({ botId: BOT_ID, scopes: ['personal', 'team', 'groupChat'] });
    expect(bot.commandLists).toHaveLength(1);
    expect(bot.commandLists[0].scopes).toEqual(['personal', 'team', 'groupChat']);
    const commands = bot.commandLists[0].commands as Array<{ title: string; description: string }>;
    // Issue 22: every chat command is on the menu, grouped into at most 10 entries whose titles are commands.
    const words = CHAT_COMMANDS.map((c) => c.usage.split(' ')[0]!);
    expect(commands.length).toBeLessThanOrEqual(10);
    for (const c of commands) expect(words).toContain(c.title);
    const listed = (word: string) =>
      commands.some((c) => c.title === word || (c.description.split('Also: ')[1] ?? '').replace(/\.$/, '').split(', ').includes(word));
    for (const word of words) expect({ word, listed: listed(word) }).toEqual({ word, listed: true });
    expect(commands.find((c) => c.title === 'catalog')?.description).toBe(
      'Browse the agent roles your business unit may request. Also: request.',
    );
    expect(commands.find((c) => c.title === 'list')?.description).toContain('Also: show');
    for (const c of commands) expect(c.description.length).toBeLessThanOrEqual(128);
    for (const c of commands) expect(c.title.length).toBeLessThanOrEqual(32);
    expect(JSON.stringify(manifest)).not.toContain('{{');

    const color = readPng(files.get('color.png')!);
    expect([color.width, color.height]).toEqual([192, 192]);
    const outline = readPng(files.get('outline.png')!);
    expect([outline.width, outline.height]).toEqual([32, 32]);
    // An outline icon is white on transparent, nothing else.
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const [r, g, b, a] = outline.pixel(x, y);
        expect(a === 0 || (r === 255 && g === 255 && b === 255 && a === 255)).toBe(true);
      }
    }
  });

  it("takes package.json's version unless told otherwise, so each release uploads as an update", () => {
    const own = (JSON.parse(readFileSync(path.join(TEAMS_APP_DIR, '..', 'package.json'), 'utf8')) as { version: string }).version;
    const manifest = (zip: Buffer) => JSON.parse(unzip(zip).get('manifest.json')!.toString('utf8')) as { version: string };
    expect(manifest(buildTeamsPackage({ botId: BOT_ID }).zip).version).toBe(own);
    expect(manifest(buildTeamsPackage({ botId: BOT_ID, version: '2.0.1' }).zip).version).toBe('2.0.1');
  });

  it('ships the icon files from teams-app/ byte for byte, and refuses to build without them', () => {
    const files = unzip(buildTeamsPackage({ botId: BOT_ID }).zip);
    expect(files.get('color.png')!.equals(readFileSync(path.join(TEAMS_APP_DIR, 'color.png')))).toBe(true);
    expect(files.get('outline.png')!.equals(readFileSync(path.join(TEAMS_APP_DIR, 'outline.png')))).toBe(true);
    const bare = mkdtempSync(path.join(os.tmpdir(), 'roster-teams-app-'));
    try {
      writeFileSync(path.join(bare, 'manifest.json'), readFileSync(path.join(TEAMS_APP_DIR, 'manifest.json')));
      writeFileSync(path.join(bare, 'color.png'), readFileSync(path.join(TEAMS_APP_DIR, 'color.png')));
      expect(() => buildTeamsPackage({ botId: BOT_ID, dir: bare })).toThrow(/outline\.png is missing: the Teams package needs both icons/);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it('refuses ids that are not an Azure app id', () => {
    expect(() => buildTeamsPackage({ botId: 'my-bot' })).toThrow(/must be a GUID/);
    expect(() => buildTeamsPackage({ botId: BOT_ID, appId: '{{TEAMS_APP_ID}}' })).toThrow(/must be a GUID/);
  });

  it('is byte-for-byte the same for the same input', () => {
    expect(buildTeamsPackage({ botId: BOT_ID }).zip.equals(buildTeamsPackage({ botId: BOT_ID }).zip)).toBe(true);
  });
});
