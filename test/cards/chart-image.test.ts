import { readFileSync } from 'node:fs';
import path from 'node:path';
import { renderTrendPng, trendChartSvg } from '../../src/cards/chart-image.js';
import { checkRenderedCard } from '../../src/cards/checks.js';
import { renderCard } from '../../src/cards/render.js';
import type { CardModel } from '../../src/cards/index.js';
import { ChartLinks, accuracyTrend, chartAltText, type ChartGuide } from '../../src/core/trend-chart.js';
import { FIXTURES_DIR, HOSTILE_MIX } from './support.js';

/*
 * The trend chart drawn for Slack's image block: axes, day labels, the baseline and the alert
 * thresholds in the SVG; a real PNG out of it; its link signed and expiring; and the card's
 * image block carrying the link and the words, escaped.
 */

const DAY = 86_400_000;
const series = Array.from({ length: 20 }, (_, i) => ({
  day: new Date(Date.UTC(2026, 10, 1 + i)).toISOString().slice(0, 10),
  accuracy: i < 10 ? 0.92 : 0.8,
}));
const guides: ChartGuide[] = [
  { kind: 'baseline', label: 'Baseline 92%', value: 0.92 },
  { kind: 'watch', label: 'Watch below 87%', value: 0.87 },
  { kind: 'degraded', label: 'Degraded below 82%', value: 0.82 },
];

describe('the trend chart image', () => {
  it('draws value and date axes, the baseline and both thresholds, with text escaped', () => {
    const chart = accuracyTrend(series, guides)!;
    const svg = trendChartSvg({ ...chart, title: `Accuracy ${HOSTILE_MIX}` });
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    for (const label of ['1 Nov', '20 Nov', 'Accuracy (%)', 'Baseline 92%', 'Watch below 87%', 'Degraded below 82%', '80%', '90%'])
      expect(svg).toContain(`>${label}<`);
    expect(svg.match(/stroke-dasharray/g)!.length).toBeGreaterThanOrEqual(3);
    // Hostile text stays character data: no tag or attribute of its own.
    expect(svg).not.toContain('<script');
    expect(svg).not.toMatch(/<[^>]*onerror/i);
  });

  it('renders to a PNG twice the drawing size', async () => {
    const png = await renderTrendPng(accuracyTrend(series, guides)!);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1440, 640]);
  });

  it('has no chart below two days, and says in words what it shows', () => {
    expect(accuracyTrend(series.slice(0, 1), guides)).toBeUndefined();
    expect(chartAltText(accuracyTrend(series, guides)!)).toBe(
      'Daily accuracy, last 20 days: from 92% on 2026-11-01 to 80% on 2026-11-20; baseline 92%, watch below 87%, degraded below 82%.',
    );
  });

  it('signs links with an expiry rounded up to the hour, and refuses altered or expired ones', () => {
    const links = new ChartLinks('s'.repeat(40), 'https://roster.example.com/');
    const now = Date.UTC(2026, 10, 30, 9, 12);
    const url = new URL(links.url('chk_0123456789abcdef', now));
    expect(url.pathname).toBe('/charts/chk_0123456789abcdef.png');
    const exp = Number(url.searchParams.get('exp'));
    expect(exp % 3600).toBe(0);
    expect(exp * 1000 - now).toBeGreaterThanOrEqual(7 * DAY);
    expect(links.url('chk_0123456789abcdef', now + 60_000)).toBe(url.href);
    const sig = url.searchParams.get('sig')!;
    expect(links.check('chk_0123456789abcdef', exp, sig, now)).toBeUndefined();
    expect(links.check('chk_0123456789abcdee', exp, sig, now)).toBe('bad-signature');
    expect(links.check('chk_0123456789abcdef', exp + 1, sig, now)).toBe('bad-signature');
    expect(links.check('chk_0123456789abcdef', exp, sig, exp * 1000)).toBe('expired');
  });

  it("a Slack check-in with a chart image shows an image block instead of the sparkline, its words escaped, and passes Slack's rules", () => {
    const fixture = JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'checkin.degraded.json'), 'utf8')) as CardModel;
    const url = new ChartLinks('s'.repeat(40), 'https://roster.example.com').url('chk_3f9a1c2b7d4e5f60');
    const model = { ...fixture, data: { ...fixture.data, chartImage: { url, alt: `Daily accuracy ${HOSTILE_MIX}` } } } as CardModel;
    const card = renderCard('slack', model);
    expect(checkRenderedCard(card)).toEqual([]);
    if (card.surface !== 'message') throw new Error('expected a message');
    const blocks = card.blocks as Array<{ type: string; image_url?: string; alt_text?: string }>;
    const image = blocks.find((b) => b.type === 'image')!;
    expect(image.image_url).toBe(url);
    expect(image.alt_text).toContain('Daily accuracy');
    expect(image.alt_text).not.toMatch(/<[!@#]|<http/);
    expect(JSON.stringify(blocks)).not.toContain('███████▇▇▇▇▆▅▄▃▂▁');
    // Without the image the sparkline is back.
    expect(JSON.stringify((renderCard('slack', fixture) as { blocks: unknown }).blocks)).toContain('███████▇▇▇▇▆▅▄▃▂▁');
    // Teams keeps its native chart and ignores the image.
    expect(JSON.stringify(renderCard('teams', model))).not.toContain(url);
  });
});
