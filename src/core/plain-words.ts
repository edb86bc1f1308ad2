/*
 * Check-in findings said the way a sponsor would say them: what changed, by how much, over
 * which days, and how sure Roster is. The statistics stay in the finding's summary and method,
 * one click away on the card; these sentences are derived from the same numbers.
 */

/**
 * How sure Roster is that a change is real. `measured`: Roster re-ran the same cases itself,
 * so there is no sampling to doubt.
 */
export type Confidence = 'very-unlikely-chance' | 'unlikely-chance' | 'could-be-chance' | 'measured';

/** The words of each confidence band, as the second half of a sentence. */
export const CONFIDENCE_WORDS: Readonly<Record<Confidence, string>> = {
  'very-unlikely-chance': 'this is very unlikely to be chance',
  'unlikely-chance': 'this is unlikely to be chance',
  'could-be-chance': 'this could be chance',
  measured: 'Roster measured this itself on the same test cases',
};

/**
 * The band of a one-sided p-value against the policy's significance level: a hundredth of the
 * level or less is "very unlikely", below the level "unlikely", anything else "could be chance".
 */
export function confidenceOfPValue(pValue: number, significance: number): Confidence {
  if (pValue <= significance / 100) return 'very-unlikely-chance';
  if (pValue < significance) return 'unlikely-chance';
  return 'could-be-chance';
}

/**
 * The band of a population stability index: at or above the policy's "degraded" threshold the
 * whole distribution moved, at or above "watch" it moved noticeably, below that it may be noise.
 */
export function confidenceOfPsi(value: number, watch: number, degraded: number): Confidence {
  if (value >= degraded) return 'very-unlikely-chance';
  if (value >= watch) return 'unlikely-chance';
  return 'could-be-chance';
}

/**
 * What a number measures, which decides how it is written: `share` a proportion 0..1 shown as
 * a percentage, `ms` milliseconds, `usd` US dollars, `per-day` tasks a day.
 */
export type Unit = 'share' | 'ms' | 'usd' | 'per-day';

/** A metric that moved between the baseline and the current window. */
export interface Change {
  /** The metric, capitalised as the start of a sentence, e.g. "Accuracy", "p95 latency". */
  label: string;
  unit: Unit;
  from: number;
  to: number;
  /** Days in the current window. */
  days: number;
  confidence?: Confidence;
}

const grouped = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

/** Percentages: whole numbers when they tell the two apart, one decimal for small or close values. */
function percentPair(from: number, to: number): [string, string] {
  const whole = (x: number) => `${Math.round(x * 100)}%`;
  const tenth = (x: number) => `${(x * 100).toFixed(1)}%`;
  const fine = Math.min(from, to) < 0.1 || whole(from) === whole(to);
  return fine && tenth(from) !== tenth(to) ? [tenth(from), tenth(to)] : [whole(from), whole(to)];
}

function usd(x: number): string {
  if (Math.abs(x) >= 1) return `$${x.toFixed(2)}`;
  if (x === 0) return '$0';
  // Costs per task are fractions of a cent: two significant digits say enough.
  return `$${x.toPrecision(2)}`;
}

/** Two values in the metric's unit, written the same way so that they compare at a glance. */
export function formatPair(unit: Unit, from: number, to: number): [string, string] {
  switch (unit) {
    case 'share':
      return percentPair(from, to);
    case 'ms':
      return [`${grouped(from)} ms`, `${grouped(to)} ms`];
    case 'usd':
      return [usd(from), usd(to)];
    case 'per-day':
      return [`${grouped(from)} tasks a day`, `${grouped(to)} tasks a day`];
  }
}

const daysText = (days: number) => `${days} ${days === 1 ? 'day' : 'days'}`;

/**
 * One sentence for a change, e.g. "Accuracy fell from 92% to 80% over 7 days; this is very
 * unlikely to be chance." Values that read the same once written "held steady", with no
 * confidence clause: there is nothing to be sure about.
 */
export function describeChange(change: Change): string {
  const [from, to] = formatPair(change.unit, change.from, change.to);
  if (from === to) return `${change.label} held steady at ${to} over ${daysText(change.days)}.`;
  const verb = change.to > change.from ? 'rose' : 'fell';
  const sure = change.confidence ? `; ${CONFIDENCE_WORDS[change.confidence]}` : '';
  return `${change.label} ${verb} from ${from} to ${to} over ${daysText(change.days)}${sure}.`;
}

/**
 * A distribution that moved (population stability index): a change of its typical value when the
 * two values differ once written; otherwise the spread is what moved, and the sentence says so
 * rather than "held steady" beside a finding.
 */
export function describeShift(change: Omit<Change, 'from' | 'to'> & { from?: number | undefined; to?: number | undefined }): string {
  const sure = change.confidence ? `; ${CONFIDENCE_WORDS[change.confidence]}` : '';
  if (change.from === undefined || change.to === undefined) return `${change.label} changed shape over ${daysText(change.days)}${sure}.`;
  const [from, to] = formatPair(change.unit, change.from, change.to);
  if (from !== to) return describeChange({ ...change, from: change.from, to: change.to });
  return `${change.label} stayed at ${to}, but how the values are spread changed over ${daysText(change.days)}${sure}.`;
}

/** A slow slide found day by day (Page-Hinkley), rather than a jump between two windows. */
export function describeGradualDecline(label: string, from: number, to: number, days: number): string {
  const [a, b] = formatPair('share', from, to);
  return `${label} has been slipping day after day, from ${a} to ${b} over ${daysText(days)}; a steady slide like this is unlikely to be chance.`;
}

/** Favourable outcomes that differ between groups beyond the four-fifths rule. */
export function describeDisparity(lowest: string, low: number, highest: string, high: number, minimumRatio: number): string {
  const [a, b] = formatPair('share', low, high);
  const share = high > 0 ? Math.round((low / high) * 100) : 0;
  return `${lowest} got a favourable outcome ${a} of the time against ${b} for ${highest}: ${share}% of their rate, below the ${Math.round(minimumRatio * 100)}% the four-fifths rule asks for.`;
}
