import {
  displayDate,
  durationInWords,
  formatInZone,
  localiseText,
  nextWorkingTime,
  relativeInWords,
  slackDateToken,
} from '../../src/core/time.js';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { personSchema, orgSettingsSchema } from '../../src/config/schemas.js';
import { decisionLine, type RuntimeApprovalRecord } from '../../src/core/runtime-approvals.js';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sources(full) : full.endsWith('.ts') ? [full] : [];
  });

const WEEK = { start: '09:00', end: '17:00', days: ['mon', 'tue', 'wed', 'thu', 'fri'] as const };

describe('time where people are (src/core/time.ts)', () => {
  const at = new Date('2025-06-03T14:02:00Z');

  it('names the zone; UTC reads exactly as before', () => {
    expect(formatInZone(at, 'UTC')).toBe(displayDate(at));
    expect(formatInZone(at, 'Etc/UTC')).toBe('3 Jun 2025, 14:02 UTC');
    expect(formatInZone(at, 'Europe/Paris')).toBe('3 Jun 2025, 16:02 Europe/Paris');
    expect(formatInZone(at, 'Asia/Kolkata')).toBe('3 Jun 2025, 19:32 Asia/Kolkata');
    expect(formatInZone(at, 'Not/AZone')).toBe('3 Jun 2025, 14:02 UTC');
  });

  it('rewrites every displayed instant in a text, and nothing else', () => {
    expect(localiseText('From 3 Jun 2025, 14:02 UTC to 31 Dec 2025, 23:30 UTC (UTC is fine).', 'America/New_York')).toBe(
      'From 3 Jun 2025, 10:02 America/New_York to 31 Dec 2025, 18:30 America/New_York (UTC is fine).',
    );
    expect(slackDateToken(at, 'x')).toBe(`<!date^${at.getTime() / 1000}^{date_short_pretty} at {time}|x>`);
  });

  it('instants the core writes into card text are written by displayDate, so each reader sees them in their zone', () => {
    const line = decisionLine({ createdAt: at.toISOString(), actionTitle: 'Refund', status: 'pending' } as RuntimeApprovalRecord);
    expect(localiseText(line, 'Asia/Tokyo')).toBe('3 Jun 2025, 23:02 Asia/Tokyo · Refund: waiting for a decision');
    // The hand-made "2025-06-03 14:02 UTC" is not recognised by localiseText: nothing in src writes it.
    const handMade = sources(src).filter((file) => /\.slice\(0, 16\)\.replace\('T', ' '\)/.test(readFileSync(file, 'utf8')));
    expect(handMade.map((file) => path.relative(src, file))).toEqual([]);
  });

  it('says durations in words', () => {
    expect(durationInWords(86_400_000)).toBe('1 day');
    expect(durationInWords(3 * 86_400_000)).toBe('3 days');
    expect(durationInWords(14 * 86_400_000)).toBe('2 weeks');
    expect(durationInWords(90 * 60_000)).toBe('1 hour');
    expect(relativeInWords(new Date(at.getTime() + 3 * 86_400_000), at)).toBe('in 3 days');
    expect(relativeInWords(new Date(at.getTime() - 2 * 3_600_000), at)).toBe('2 hours ago');
  });

  it('says a configured or chosen duration exactly, in words, never as "90d"', () => {
    const DAY = 86_400_000;
    expect(durationInWords(90 * DAY, { exact: true })).toBe('90 days');
    expect(durationInWords(365 * DAY, { exact: true })).toBe('365 days');
    expect(durationInWords(14 * DAY, { exact: true })).toBe('2 weeks');
    expect(durationInWords(4 * 3_600_000, { exact: true })).toBe('4 hours');
    expect(durationInWords(24 * 3_600_000, { exact: true })).toBe('1 day');
    expect(durationInWords(90 * 60_000, { exact: true })).toBe('1 hour and 30 minutes');
    expect(durationInWords(36 * 3_600_000, { exact: true })).toBe('1 day and 12 hours');
    expect(durationInWords(DAY + 2 * 3_600_000 + 60_000, { exact: true })).toBe('1 day, 2 hours and 1 minute');
    expect(durationInWords(3000, { exact: true })).toBe('3 seconds');
    expect(durationInWords(400, { exact: true })).toBe('0 seconds');
  });

  it('durations people read go through durationInWords: no configured duration\'s own text ("90d") reaches a card', () => {
    // A Duration's `text` is the configuration as written; only config validation messages (to IT) quote it.
    const configText =
      /\b(maxTtl|maxAccessTtl|retrainingCadence|checkInCadence|breakGlassMaxTtl|keyRotationGrace|window|per|wait|usableFor|expiresAfter|remindAfter|escalateAfter|rerunEvery|caseTimeout|budget)\.text\b/;
    const quoting = sources(src)
      .filter((file) => !file.startsWith(path.join(src, 'config')) && file !== path.join(src, 'flows', 'loader.ts'))
      .filter((file) => configText.test(readFileSync(file, 'utf8')));
    expect(quoting.map((file) => path.relative(src, file))).toEqual([]);
    // The compact form ("1h30m") is for the audit and for parsing again, never for people.
    const compact = sources(src).filter((file) => /\bformatDuration\(/.test(readFileSync(file, 'utf8')));
    expect(compact.map((file) => path.relative(src, file)).sort()).toEqual(['config/duration.ts', 'core/access.ts']);
  });

  it("finds the next working-hours window in the person's zone, across a daylight-saving change", () => {
    // Tuesday 16:02 in Paris: inside.
    expect(nextWorkingTime(at, 'Europe/Paris', WEEK)).toEqual(at);
    // Tuesday 22:00 in Paris: Wednesday 09:00 there.
    expect(nextWorkingTime(new Date('2025-06-03T20:00:00Z'), 'Europe/Paris', WEEK).toISOString()).toBe('2025-06-04T07:00:00.000Z');
    // Friday evening in Los Angeles: Monday 09:00 there.
    expect(nextWorkingTime(new Date('2025-06-07T03:00:00Z'), 'America/Los_Angeles', WEEK).toISOString()).toBe('2025-06-09T16:00:00.000Z');
    // Saturday 29 March 2025 in Paris; clocks go forward on Sunday: Monday 09:00 CEST.
    expect(nextWorkingTime(new Date('2025-03-29T20:00:00Z'), 'Europe/Paris', WEEK).toISOString()).toBe('2025-03-31T07:00:00.000Z');
  });

  it('takes a time zone only when it is an IANA zone, for people and the organisation', () => {
    const person = { email: 'a@b.example', name: 'A', businessUnit: 'finance' };
    expect(personSchema.parse({ ...person, timeZone: 'Europe/Berlin' }).timeZone).toBe('Europe/Berlin');
    expect(personSchema.safeParse({ ...person, timeZone: 'CEST+2' }).success).toBe(false);
    const settings = orgSettingsSchema.parse({ alertRotation: 'ai-ops' });
    expect(settings.timeZone).toBe('UTC');
    expect(settings.workingHours).toEqual({ start: '09:00', end: '17:00', days: ['mon', 'tue', 'wed', 'thu', 'fri'] });
    expect(orgSettingsSchema.safeParse({ alertRotation: 'ai-ops', workingHours: { start: '18:00', end: '09:00' } }).success).toBe(false);
  });
});
