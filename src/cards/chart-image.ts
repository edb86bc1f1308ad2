import { createRequire } from 'node:module';
import { renderAsync } from '@resvg/resvg-js';
import type { TrendChartData } from '../core/trend-chart.js';

/*
 * The trend chart as a PNG for Slack's image blocks: an SVG drawn here (axes, day labels, the
 * baseline and alert thresholds) rendered by resvg with the Inter font shipped in node_modules, so
 * the picture is the same on a machine without any system font (a slim container).
 */

const require = createRequire(import.meta.url);
const FONT_FILES = [
  require.resolve('@expo-google-fonts/inter/400Regular/Inter_400Regular.ttf'),
  require.resolve('@expo-google-fonts/inter/600SemiBold/Inter_600SemiBold.ttf'),
];

/** The drawing's size in SVG units; the PNG is twice as large, for sharp text on dense screens. */
export const CHART_SIZE = { width: 720, height: 320 } as const;
const SCALE = 2;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const GUIDE_STYLE = {
  baseline: { stroke: '#57606a', dash: '6 4' },
  watch: { stroke: '#bf8700', dash: '4 4' },
  degraded: { stroke: '#cf222e', dash: '4 4' },
} as const;

/** Text as SVG character data: the five XML specials escaped, control characters dropped. */
function xml(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- control characters are not allowed in XML 1.0
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

const dayLabel = (day: string) => `${Number(day.slice(8, 10))} ${MONTHS[Number(day.slice(5, 7)) - 1] ?? ''}`;

/** Round tick values (in percent) covering [low, high]. */
function ticks(low: number, high: number): number[] {
  const span = Math.max(high - low, 1);
  const step = [1, 2, 5, 10, 20, 25].find((s) => span / s <= 6) ?? 25;
  const out: number[] = [];
  const last = Math.ceil(high / step - 1e-9) * step;
  for (let v = Math.floor(low / step) * step; v <= last + 1e-9; v += step) out.push(Math.round(v * 100) / 100);
  return out;
}

/** The chart as an SVG document. */
export function trendChartSvg(chart: TrendChartData): string {
  const { width, height } = CHART_SIZE;
  const left = 58;
  const right = width - 24;
  const top = 52;
  const bottom = height - 64;
  const values = [...chart.points.map((p) => p.value), ...chart.guides.map((g) => g.value)].map((v) => v * 100);
  const pad = Math.max((Math.max(...values) - Math.min(...values)) * 0.1, 1);
  const yTicks = ticks(Math.max(0, Math.min(...values) - pad), Math.min(100, Math.max(...values) + pad / 2));
  const yMin = yTicks[0]!;
  const yMax = Math.max(yTicks.at(-1)!, yMin + 1);
  const x = (i: number) => left + (chart.points.length > 1 ? (i / (chart.points.length - 1)) * (right - left) : 0);
  const y = (fraction: number) => bottom - ((fraction * 100 - yMin) / (yMax - yMin)) * (bottom - top);
  const every = Math.max(1, Math.ceil(chart.points.length / 7));
  const parts: string[] = [];
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${left}" y="28" font-size="17" font-weight="600" fill="#1f2328">${xml(chart.title)}</text>`);
  for (const t of yTicks) {
    const ty = y(t / 100).toFixed(1);
    parts.push(`<line x1="${left}" x2="${right}" y1="${ty}" y2="${ty}" stroke="#eaeef2" stroke-width="1"/>`);
    parts.push(`<text x="${left - 8}" y="${ty}" dy="4" font-size="12" text-anchor="end" fill="#57606a">${xml(`${t}%`)}</text>`);
  }
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#8c959f" stroke-width="1"/>`);
  parts.push(`<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#8c959f" stroke-width="1"/>`);
  chart.points.forEach((p, i) => {
    if (i % every !== 0 && i !== chart.points.length - 1) return;
    const tx = x(i).toFixed(1);
    parts.push(`<line x1="${tx}" x2="${tx}" y1="${bottom}" y2="${bottom + 5}" stroke="#8c959f"/>`);
    parts.push(`<text x="${tx}" y="${bottom + 20}" font-size="12" text-anchor="middle" fill="#57606a">${xml(dayLabel(p.day))}</text>`);
  });
  parts.push(
    `<text x="16" y="${(top + bottom) / 2}" font-size="12" fill="#57606a" text-anchor="middle" transform="rotate(-90 16 ${(top + bottom) / 2})">${xml(chart.unitLabel)}</text>`,
  );
  for (const guide of chart.guides) {
    const style = GUIDE_STYLE[guide.kind];
    const gy = y(guide.value).toFixed(1);
    parts.push(
      `<line x1="${left}" x2="${right}" y1="${gy}" y2="${gy}" stroke="${style.stroke}" stroke-width="1.5" stroke-dasharray="${style.dash}"/>`,
    );
  }
  const line = chart.points.map((p, i) => `${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
  parts.push(`<polyline points="${line}" fill="none" stroke="#0969da" stroke-width="2.5" stroke-linejoin="round"/>`);
  chart.points.forEach((p, i) => parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="2.5" fill="#0969da"/>`));
  // The legend under the axis: the series, then each guide with its value.
  let lx = left;
  const legend = [{ label: chart.unitLabel.replace(/ \(%\)$/, ''), stroke: '#0969da', dash: '' }].concat(
    chart.guides.map((g) => ({ label: g.label, stroke: GUIDE_STYLE[g.kind].stroke, dash: GUIDE_STYLE[g.kind].dash })),
  );
  for (const item of legend) {
    const ly = height - 18;
    parts.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${item.stroke}" stroke-width="2.5"${item.dash ? ` stroke-dasharray="${item.dash}"` : ''}/>`,
    );
    parts.push(`<text x="${lx + 28}" y="${ly}" font-size="12" fill="#1f2328">${xml(item.label)}</text>`);
    lx += 40 + item.label.length * 7;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Inter">${parts.join('')}</svg>`;
}

/** The chart as a PNG (1440×640), rendered off the event loop. */
export async function renderTrendPng(chart: TrendChartData): Promise<Buffer> {
  const image = await renderAsync(trendChartSvg(chart), {
    font: { loadSystemFonts: false, fontFiles: FONT_FILES, defaultFontFamily: 'Inter', sansSerifFamily: 'Inter' },
    fitTo: { mode: 'zoom', value: SCALE },
    background: '#ffffff',
    logLevel: 'off',
  });
  return image.asPng();
}
