import { z } from 'zod';

/** Milliseconds per duration unit: seconds, minutes, hours, days and weeks. */
const UNIT_MS = {
  w: 7 * 24 * 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
  h: 60 * 60 * 1000,
  m: 60 * 1000,
  s: 1000,
} as const;

type DurationUnit = keyof typeof UNIT_MS;

const DURATION_PATTERN = /^(?:\d+[wdhms])+$/;
const PART_PATTERN = /(\d+)([wdhms])/g;

/** Shown when a duration cannot be parsed; names the accepted syntax. */
export const DURATION_HINT = 'a duration such as 30m, 8h, 90d or 1h30m (units s, m, h, d, w)';

/**
 * Parses a duration such as `90d`, `8h`, `30m`, `45s`, `2w` or a compound `1h30m` into
 * milliseconds. Surrounding whitespace is ignored; units are case-sensitive, each unit may
 * appear once, largest first. The result is a positive safe integer.
 *
 * @throws RangeError when the text is not a duration, is zero, or is too large.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (!DURATION_PATTERN.test(trimmed)) {
    throw new RangeError(`expected ${DURATION_HINT}, got ${JSON.stringify(text)}`);
  }
  const order = Object.keys(UNIT_MS) as DurationUnit[];
  let lastIndex = -1;
  let total = 0;
  for (const [, digits, unit] of trimmed.matchAll(PART_PATTERN)) {
    const index = order.indexOf(unit as DurationUnit);
    if (index <= lastIndex) {
      throw new RangeError(`expected ${DURATION_HINT} with each unit once, largest first, got ${JSON.stringify(text)}`);
    }
    lastIndex = index;
    total += Number(digits) * UNIT_MS[unit as DurationUnit];
  }
  if (total === 0) throw new RangeError(`expected a duration greater than zero, got ${JSON.stringify(text)}`);
  if (!Number.isSafeInteger(total)) throw new RangeError(`duration ${JSON.stringify(text)} is too large`);
  return total;
}

/**
 * Formats milliseconds as the shortest compound duration, e.g. `5400000` → `1h30m`,
 * `604800000` → `1w`. Sub-second remainders are dropped; anything under a second is `0s`.
 * `parseDuration(formatDuration(ms)) === ms` for every whole number of seconds above zero.
 */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.floor(ms / 1000)) * 1000;
  if (rest === 0) return '0s';
  let text = '';
  for (const unit of Object.keys(UNIT_MS) as DurationUnit[]) {
    const count = Math.floor(rest / UNIT_MS[unit]);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * UNIT_MS[unit];
    }
  }
  return text;
}

/**
 * A parsed duration. Configuration keeps both forms: `text` exactly as written (for messages
 * and cards, e.g. "up to 90d") and `ms` for arithmetic.
 */
export interface Duration {
  /** The duration as written in the configuration, trimmed, e.g. `90d`. */
  readonly text: string;
  /** The duration in milliseconds. */
  readonly ms: number;
}

/**
 * Zod schema for a duration string: accepts `90d`-style text and outputs a {@link Duration}
 * (`{ text, ms }`). A malformed value is reported as `expected a duration such as …, got "x"`.
 */
export const durationSchema = z.string().transform((text, ctx): Duration => {
  try {
    return { text: text.trim(), ms: parseDuration(text) };
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message, input: text });
    return z.NEVER;
  }
});
