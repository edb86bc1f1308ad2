/*
 * The statistics behind check-ins: small, exact and dependency-free, so that every finding can
 * be explained with its method, statistic and threshold.
 */

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 via erf; absolute error < 1.5e-7). */
export function normalCdf(z: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(z)) / Math.SQRT2);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(z * z) / 2);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

export interface ProportionTest {
  /** Proportion in the baseline and the current window. */
  p1: number;
  p2: number;
  /** z statistic of (p2 − p1). */
  z: number;
  /** One-sided p-value for a drop (p2 < p1) or a rise (p2 > p1), per `direction`. */
  pValue: number;
}

/**
 * Two-proportion z-test with a pooled standard error: did the current window's proportion drop
 * (or rise) compared with the baseline? Undefined when either window is empty.
 */
export function twoProportionZTest(
  successes1: number,
  n1: number,
  successes2: number,
  n2: number,
  direction: 'drop' | 'rise',
): ProportionTest | undefined {
  if (n1 <= 0 || n2 <= 0) return undefined;
  const p1 = successes1 / n1;
  const p2 = successes2 / n2;
  const pooled = (successes1 + successes2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return { p1, p2, z: 0, pValue: 1 };
  const z = (p2 - p1) / se;
  const pValue = direction === 'drop' ? normalCdf(z) : 1 - normalCdf(z);
  return { p1, p2, z, pValue };
}

/**
 * Population stability index between two histograms over the same bins. Empty bins get a small
 * floor so the statistic stays finite. 0.1 is a common "watch" and 0.2–0.25 a "shift" threshold.
 */
export function psi(baseline: readonly number[], current: readonly number[], floor = 1e-4): number {
  const total1 = baseline.reduce((a, b) => a + b, 0);
  const total2 = current.reduce((a, b) => a + b, 0);
  if (total1 === 0 || total2 === 0) return 0;
  let sum = 0;
  const bins = Math.max(baseline.length, current.length);
  for (let i = 0; i < bins; i++) {
    const a = Math.max((baseline[i] ?? 0) / total1, floor);
    const b = Math.max((current[i] ?? 0) / total2, floor);
    sum += (b - a) * Math.log(b / a);
  }
  return sum;
}

/**
 * Page–Hinkley test for a gradual decrease of a series (e.g. daily accuracy): alarms when the
 * cumulative drop below the running mean exceeds `lambda`. Returns the index of the first alarm.
 */
export function pageHinkleyDecrease(series: readonly number[], delta = 0.005, lambda = 0.05): { alarmAt?: number; statistic: number } {
  let mean = 0;
  let cumulative = 0;
  let minimum = 0;
  let statistic = 0;
  for (let i = 0; i < series.length; i++) {
    const x = series[i]!;
    mean += (x - mean) / (i + 1);
    cumulative += mean - x - delta;
    minimum = Math.min(minimum, cumulative);
    statistic = cumulative - minimum;
    if (statistic > lambda) return { alarmAt: i, statistic };
  }
  return { statistic };
}

export interface DisparateImpact {
  /** Favourable-outcome rate per segment with enough events. */
  rates: Record<string, { rate: number; n: number }>;
  /** Lowest rate divided by highest rate (1 when fewer than two segments qualify). */
  ratio: number;
  lowest?: string;
  highest?: string;
  /** Segments left out for having fewer than the minimum sample. */
  excluded: string[];
}

/** Disparate-impact ratio across segments (the four-fifths rule flags a ratio below 0.8). */
export function disparateImpact(segments: Record<string, { favourable: number; total: number }>, minSample: number): DisparateImpact {
  const rates: DisparateImpact['rates'] = {};
  const excluded: string[] = [];
  for (const [segment, { favourable, total }] of Object.entries(segments)) {
    if (total < minSample) excluded.push(segment);
    else rates[segment] = { rate: favourable / total, n: total };
  }
  const entries = Object.entries(rates).sort((a, b) => a[1].rate - b[1].rate);
  if (entries.length < 2 || entries.at(-1)![1].rate === 0) return { rates, ratio: 1, excluded };
  return { rates, ratio: entries[0]![1].rate / entries.at(-1)![1].rate, lowest: entries[0]![0], highest: entries.at(-1)![0], excluded };
}

/**
 * Fixed log-scale bins for latency (ms) and cost (USD): percentiles come from bin counts, so
 * rollups stay small and mergeable. Bin i covers [base·2^(i-1), base·2^i); bin 0 is below base.
 */
export const LATENCY_BINS = { base: 10, count: 24 } as const;
export const COST_BINS = { base: 0.0001, count: 24 } as const;

export function binOf(value: number, bins: { base: number; count: number }): number {
  if (!(value >= bins.base)) return 0;
  return Math.min(bins.count - 1, Math.floor(Math.log2(value / bins.base)) + 1);
}

/** Upper edge of a bin, used as the percentile estimate (conservative). */
export function binUpper(bin: number, bins: { base: number; count: number }): number {
  return bins.base * 2 ** bin;
}

/** The q-quantile (0..1) estimated from bin counts: the upper edge of the bin holding it. */
export function quantileFromBins(counts: readonly number[], q: number, bins: { base: number; count: number }): number | undefined {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const target = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] ?? 0;
    if (seen >= target) return binUpper(i, bins);
  }
  return binUpper(counts.length - 1, bins);
}

/** A text sparkline for a series (cards show trends without images). */
export function sparkline(series: readonly number[]): string {
  const ticks = '▁▂▃▄▅▆▇█';
  if (series.length === 0) return '';
  const min = Math.min(...series);
  const max = Math.max(...series);
  return series.map((v) => ticks[max === min ? 3 : Math.round(((v - min) / (max - min)) * (ticks.length - 1))]).join('');
}
