import { readFileSync } from 'node:fs';
import path from 'node:path';
import { emojiFontConfig, woffToSfnt } from '../../scripts/emoji-font.js';
import { browserAvailable, launchChromium } from '../helpers/browser.js';
import { projectRoot } from '../helpers/roster-process.js';

/*
 * Issue 23 item 3: screenshots are taken with a colour emoji font. The browser the tests and
 * `npm run screenshots` launch (test/helpers/browser.ts) gets Noto Color Emoji from npm through
 * FONTCONFIG_FILE; this draws the cards' emoji in it and counts coloured pixels, which an empty
 * box or a black-and-white glyph does not have.
 */

describe('the colour emoji font for screenshots', () => {
  it('turns the npm font into TrueType files fontconfig and Chromium accept', () => {
    const woff = readFileSync(
      path.join(projectRoot, 'node_modules/@fontsource/noto-color-emoji/files/noto-color-emoji-emoji-400-normal.woff'),
    );
    const sfnt = woffToSfnt(woff);
    expect(sfnt.readUInt32BE(0)).toBe(woff.readUInt32BE(4));
    const tables = Array.from({ length: sfnt.readUInt16BE(4) }, (_, i) => sfnt.subarray(12 + i * 16, 16 + i * 16).toString('latin1'));
    expect(tables).toEqual(expect.arrayContaining(['cmap', 'head', 'name']));
    expect(tables.some((t) => ['CBDT', 'COLR', 'sbix'].includes(t))).toBe(true);
    expect(readFileSync(emojiFontConfig(), 'utf8')).toContain('<family>Noto Color Emoji</family>');
  });

  // CI must run this (a missing Chromium fails it there); elsewhere it is skipped without Chromium.
  const itWithChromium = browserAvailable() ? it : it.skip;

  itWithChromium(
    "Chromium draws the cards' emoji in colour",
    async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.setContent('<canvas id="c" width="400" height="80"></canvas>');
        const colours = await page.evaluate(() => {
          // Plain objects: the test's TypeScript has no DOM types.
          const doc = (globalThis as unknown as { document: { getElementById(id: string): unknown } }).document;
          type Context = {
            font: string;
            fillText(text: string, x: number, y: number): void;
            getImageData(...box: number[]): { data: ArrayLike<number> };
          };
          const canvas = doc.getElementById('c') as { getContext(kind: '2d'): Context };
          const ctx = canvas.getContext('2d');
          const count = (emoji: string, wanted: (r: number, g: number, b: number) => boolean) => {
            ctx.font = '64px sans-serif';
            ctx.fillText(emoji, 0, 70);
            const { data } = ctx.getImageData(0, 0, 80, 80);
            let n = 0;
            for (let i = 0; i < data.length; i += 4) if (data[i + 3]! > 200 && wanted(data[i]!, data[i + 1]!, data[i + 2]!)) n += 1;
            return n;
          };
          const red = count('🔴', (r, g, b) => r > 180 && g < 110 && b < 110);
          (ctx as unknown as { clearRect(...box: number[]): void }).clearRect(0, 0, 400, 80);
          const green = count('💚', (r, g, b) => g > 140 && r < 160 && b < 120);
          return { red, green };
        });
        expect(colours.red).toBeGreaterThan(500);
        expect(colours.green).toBeGreaterThan(500);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
