import type { OrgConfig } from '../config/schemas.js';
import { roleById } from '../config/directory.js';
import type { AgentRecord } from './agents.js';
import { isLinkSignature, linkSignature } from './link-signature.js';

/*
 * A metric's trend as a picture: the daily accuracy of an agent with its baseline and the lines
 * below which a check-in reports drift. Slack shows it as a PNG Roster renders behind a signed,
 * expiring link (ChartLinks); the dashboard draws the same data with uPlot.
 */

const DAY_MS = 86_400_000;

/** One guide line across the chart (the baseline, an alert threshold), as a fraction 0..1. */
export interface ChartGuide {
  label: string;
  value: number;
  kind: 'baseline' | 'watch' | 'degraded';
}

/** A daily accuracy series with its guides. `day` is a UTC day, yyyy-mm-dd; `value` a fraction 0..1. */
export interface TrendChartData {
  title: string;
  /** The value axis' name, e.g. "Accuracy (%)". */
  unitLabel: string;
  points: Array<{ day: string; value: number }>;
  guides: ChartGuide[];
}

/**
 * The baseline accuracy an agent was admitted with and the accuracies at which a check-in calls
 * it "watch" (one drop of the role's `accuracyDropMin` below) and "degraded" (two drops), as the
 * accuracy findings of src/core/checkin-assessment.ts judge them. None without a recorded baseline.
 */
export function accuracyGuides(org: OrgConfig, agent: Pick<AgentRecord, 'baseline' | 'catalogRoleId'> | undefined): ChartGuide[] {
  const baseline = agent?.baseline?.accuracy;
  if (baseline === undefined || !Number.isFinite(baseline)) return [];
  const drop = roleById(org, agent!.catalogRoleId)?.drift.accuracyDropMin ?? 0.05;
  const pct = (v: number) => `${Math.round(v * 1000) / 10}%`;
  return [
    { kind: 'baseline', label: `Baseline ${pct(baseline)}`, value: baseline },
    { kind: 'watch', label: `Watch below ${pct(baseline - drop)}`, value: Math.max(0, baseline - drop) },
    { kind: 'degraded', label: `Degraded below ${pct(baseline - 2 * drop)}`, value: Math.max(0, baseline - 2 * drop) },
  ];
}

/** A daily accuracy series as chart data (the last 31 days that have a value); none below two days. */
export function accuracyTrend(
  series: ReadonlyArray<{ day: string; accuracy: number }> | undefined,
  guides: ChartGuide[],
): TrendChartData | undefined {
  const points = (series ?? [])
    .filter((p) => /^\d{4}-\d{2}-\d{2}$/.test(p.day) && Number.isFinite(p.accuracy))
    .slice(-31)
    .map((p) => ({ day: p.day, value: p.accuracy }));
  if (points.length < 2) return undefined;
  return { title: `Daily accuracy, last ${points.length} days`, unitLabel: 'Accuracy (%)', points, guides };
}

/** What the chart says in words, for screen readers and clients that show no image. */
export function chartAltText(chart: TrendChartData): string {
  const pct = (v: number) => `${Math.round(v * 1000) / 10}%`;
  const first = chart.points[0]!;
  const last = chart.points.at(-1)!;
  const guides = chart.guides.map((g) => g.label.toLowerCase()).join(', ');
  return `${chart.title}: from ${pct(first.value)} on ${first.day} to ${pct(last.value)} on ${last.day}${guides ? `; ${guides}` : ''}.`;
}

/** What a chart link's signature covers; the prefix keeps it from ever matching another kind of link's. */
const signed = (id: string, exp: number) => `roster-chart-v1\n${id}\n${exp}`;

/** Why a chart link was refused. */
export type ChartLinkProblem = 'bad-signature' | 'expired';

/**
 * Signed, expiring links to chart images: `<base>/charts/<id>.png?exp=<unix s>&sig=<HMAC>`, the
 * HMAC-SHA256 of the id and the expiry under a secret of Roster's. The id is the opaque id of a
 * check-in or an alert; nothing else about the agent is in the link. Expiries are rounded up to
 * the hour so a card re-rendered within the hour keeps its link (and chat clients their cached image).
 */
export class ChartLinks {
  constructor(
    private readonly secret: string,
    private readonly baseUrl: string,
    readonly ttlMs = 7 * DAY_MS,
  ) {}

  url(id: string, now = Date.now()): string {
    const exp = Math.ceil((now + this.ttlMs) / 3_600_000) * 3600;
    const base = this.baseUrl.replace(/\/+$/, '');
    return `${base}/charts/${encodeURIComponent(id)}.png?exp=${exp}&sig=${linkSignature(this.secret, signed(id, exp))}`;
  }

  /** Undefined when the link is genuine and unexpired, otherwise why not. */
  check(id: string, exp: number, sig: string, now = Date.now()): ChartLinkProblem | undefined {
    if (!isLinkSignature(this.secret, signed(id, exp), sig)) return 'bad-signature';
    return exp * 1000 <= now ? 'expired' : undefined;
  }
}
