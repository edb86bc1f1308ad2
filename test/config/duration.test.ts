import { durationSchema, formatDuration, parseDuration } from '../../src/config/duration.js';
import { validateWithSchema } from '../../src/config/zod-messages.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('parseDuration', () => {
  it.each([
    ['45s', 45 * SECOND],
    ['30m', 30 * MINUTE],
    ['8h', 8 * HOUR],
    ['90d', 90 * DAY],
    ['2w', 14 * DAY],
    ['1h30m', 90 * MINUTE],
    ['1w2d', 9 * DAY],
    [' 4h ', 4 * HOUR],
  ])('parses %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['', 'expected a duration such as 30m, 8h, 90d or 1h30m (units s, m, h, d, w), got ""'],
    ['90', 'expected a duration such as 30m, 8h, 90d or 1h30m (units s, m, h, d, w), got "90"'],
    ['4 hours', 'expected a duration such as 30m, 8h, 90d or 1h30m (units s, m, h, d, w), got "4 hours"'],
    ['8H', 'expected a duration such as 30m, 8h, 90d or 1h30m (units s, m, h, d, w), got "8H"'],
    ['1.5h', 'expected a duration such as 30m, 8h, 90d or 1h30m (units s, m, h, d, w), got "1.5h"'],
    ['-1d', 'expected a duration such as 30m, 8h, 90d or 1h30m (units s, m, h, d, w), got "-1d"'],
    ['30m1h', 'expected a duration such as 30m, 8h, 90d or 1h30m (units s, m, h, d, w) with each unit once, largest first, got "30m1h"'],
    ['1h1h', 'expected a duration such as 30m, 8h, 90d or 1h30m (units s, m, h, d, w) with each unit once, largest first, got "1h1h"'],
    ['0d', 'expected a duration greater than zero, got "0d"'],
    ['99999999999999w', 'duration "99999999999999w" is too large'],
  ])('rejects %j', (text, message) => {
    expect(() => parseDuration(text)).toThrow(new RangeError(message));
  });
});

describe('formatDuration', () => {
  it.each([
    [90 * MINUTE, '1h30m'],
    [14 * DAY, '2w'],
    [90 * DAY, '12w6d'],
    [45 * SECOND + 999, '45s'],
    [0, '0s'],
    [-5, '0s'],
  ])('formats %d ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [SECOND, 61 * SECOND, 25 * HOUR, 100 * DAY + 3 * MINUTE]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});

describe('durationSchema', () => {
  it('keeps the text as written (trimmed) and the milliseconds', () => {
    expect(durationSchema.parse(' 90d')).toEqual({ text: '90d', ms: 90 * DAY });
  });

  it('reports a malformed or mistyped duration in the configuration style', () => {
    expect(validateWithSchema(durationSchema, '2 weeks')).toEqual({
      ok: false,
      problems: ['(root): expected a duration such as 30m, 8h, 90d or 1h30m (units s, m, h, d, w), got "2 weeks"'],
    });
    expect(validateWithSchema(durationSchema, 30)).toEqual({ ok: false, problems: ['(root): expected string, got number 30'] });
  });
});
