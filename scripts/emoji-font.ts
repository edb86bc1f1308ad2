/*
 * A colour emoji font for the headless Chromium that takes the README's screenshots and runs the
 * browser tests, without installing anything system-wide: Noto Color Emoji from npm
 * (@fontsource/noto-color-emoji, a devDependency), converted from WOFF to TrueType (Chromium only
 * takes TrueType/OpenType files from fontconfig) into .cache/emoji-font, with a fonts.conf that
 * adds that folder to the system's fonts. Point FONTCONFIG_FILE at it when launching Chromium.
 *
 *   node --import tsx scripts/emoji-font.ts     # prepares it and prints the fonts.conf path
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** The family fontconfig knows the font by. */
export const EMOJI_FAMILY = 'Noto Color Emoji';

/**
 * A WOFF 1.0 file (W3C WOFF, section 4) as the TrueType/OpenType file it wraps: the same tables,
 * each inflated when stored compressed, behind a rebuilt sfnt header and table directory.
 */
export function woffToSfnt(woff: Buffer): Buffer {
  if (woff.readUInt32BE(0) !== 0x774f4646) throw new Error('not a WOFF file');
  const flavor = woff.readUInt32BE(4);
  const numTables = woff.readUInt16BE(12);
  const tables = Array.from({ length: numTables }, (_, i) => {
    const at = 44 + i * 20;
    const [tag, offset, compLength, origLength, checksum] = [0, 4, 8, 12, 16].map((o) => woff.readUInt32BE(at + o)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const stored = woff.subarray(offset, offset + compLength);
    const data = compLength < origLength ? inflateSync(stored) : stored;
    if (data.length !== origLength) throw new Error(`table ${tag.toString(16)} inflates to ${data.length} bytes, not ${origLength}`);
    return { tag, checksum, data };
  });
  const log2 = Math.floor(Math.log2(numTables));
  const header = Buffer.alloc(12 + 16 * numTables);
  header.writeUInt32BE(flavor, 0);
  header.writeUInt16BE(numTables, 4);
  header.writeUInt16BE(2 ** log2 * 16, 6);
  header.writeUInt16BE(log2, 8);
  header.writeUInt16BE(numTables * 16 - 2 ** log2 * 16, 10);
  const parts: Buffer[] = [header];
  let offset = header.length;
  tables.forEach((t, i) => {
    const record = 12 + i * 16;
    header.writeUInt32BE(t.tag, record);
    header.writeUInt32BE(t.checksum, record + 4);
    header.writeUInt32BE(offset, record + 8);
    header.writeUInt32BE(t.data.length, record + 12);
    const padded = Buffer.alloc(Math.ceil(t.data.length / 4) * 4);
    t.data.copy(padded);
    parts.push(padded);
    offset += padded.length;
  });
  return Buffer.concat(parts);
}

/**
 * Converts the npm font's WOFF files (once; kept in `cacheDir`) and writes a fonts.conf that
 * includes the system's configuration plus them. Resolves the fonts.conf path, for FONTCONFIG_FILE.
 */
export function emojiFontConfig(cacheDir = path.join(root, '.cache', 'emoji-font')): string {
  const source = path.join(path.dirname(require.resolve('@fontsource/noto-color-emoji/package.json')), 'files');
  const fonts = path.join(cacheDir, 'fonts');
  mkdirSync(fonts, { recursive: true });
  for (const file of readdirSync(source).filter((f) => f.endsWith('.woff'))) {
    const target = path.join(fonts, file.replace(/\.woff$/, '.ttf'));
    if (existsSync(target)) continue;
    // Written aside then renamed: a browser started meanwhile by another test worker never reads half a font.
    const partial = `${target}.${process.pid}.partial`;
    writeFileSync(partial, woffToSfnt(readFileSync(path.join(source, file))));
    renameSync(partial, target);
  }
  const conf = path.join(cacheDir, 'fonts.conf');
  const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const text = `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>${xml(fonts)}</dir>
  <cachedir>${xml(path.join(cacheDir, 'fontconfig-cache'))}</cachedir>
  <alias binding="weak"><family>emoji</family><prefer><family>${EMOJI_FAMILY}</family></prefer></alias>
</fontconfig>
`;
  if (!existsSync(conf) || readFileSync(conf, 'utf8') !== text) {
    writeFileSync(`${conf}.${process.pid}.partial`, text);
    renameSync(`${conf}.${process.pid}.partial`, conf);
  }
  return conf;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(emojiFontConfig());
}
