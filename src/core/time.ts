/*
 * Time as people read it: one module for every date, time and duration Roster shows.
 *
 * Cards are built once by the core (dates written with `displayDate`, "3 Jun 2025, 14:02 UTC")
 * and rendered later for a reader by a channel adapter, which knows the reader's time zone. The
 * adapter rewrites each displayed instant with `localiseText` (Teams, Slack plain text) or as a
 * Slack date token (Slack mrkdwn, localised by each Slack client), so no card builder needs to
 * know who reads it. Durations are said in words ("3 days", "in 2 hours").
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The zone shown as plain "UTC" (and the default when nothing else is known). */
export const UTC = 'UTC';

/**
 * How many zone names {@link isTimeZone} and {@link partsIn} remember: far more than there are
 * zones, so only a flood of made-up names (clients report zones) empties them.
 */
const MAX_REMEMBERED_ZONES = 1000;

/** A map that forgets everything when full. */
function remember<V>(map: Map<string, V>, key: string, value: V): V {
  if (map.size >= MAX_REMEMBERED_ZONES) map.clear();
  map.set(key, value);
  return value;
}

/** The answers of {@link isTimeZone}: building a formatter to check a zone is costly, and every date shown asks. */
const zoneChecks = new Map<string, boolean>();

/** Whether `zone` is an IANA time zone this runtime knows (e.g. `Europe/Berlin`, `UTC`). */
export function isTimeZone(zone: unknown): zone is string {
  if (typeof zone !== 'string' || zone.length === 0 || zone.length > 64) return false;
  const known = zoneChecks.get(zone);
  if (known !== undefined) return known;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return remember(zoneChecks, zone, true);
  } catch {
    return remember(zoneChecks, zone, false);
  }
}

/**
 * A zone as shown: UTC and its aliases (`Etc/UTC`, `GMT`, `Zulu`…) as `UTC`, any other zone as
 * given (ICU would rename some to legacy ids, `Asia/Kolkata` to `Asia/Calcutta`).
 */
export function canonicalZone(zone: string): string {
  return /^(Etc\/)?(UTC|GMT|Zulu|Universal|UCT|Greenwich)([+-]?0)?$/i.test(zone) ? UTC : zone;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** "3 Jun 2025, 14:02 UTC": the instant as cards carry it until a reader's zone is known. */
export function displayDate(iso: string | Date): string {
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

/** One formatter per zone for {@link partsIn}, built once: building one costs far more than formatting. */
const calendars = new Map<string, Intl.DateTimeFormat>();

/** The calendar fields of an instant in a zone. */
function partsIn(at: Date, zone: string) {
  const calendar =
    calendars.get(zone) ??
    remember(
      calendars,
      zone,
      new Intl.DateTimeFormat('en-GB', {
        timeZone: zone,
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        weekday: 'short',
        hourCycle: 'h23',
      }),
    );
  const parts = calendar.formatToParts(at);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    year: Number(get('year')),
    month: Number(get('month')),
    day: Number(get('day')),
    hour: Number(get('hour')) % 24,
    minute: Number(get('minute')),
    weekday: WEEKDAYS.indexOf(get('weekday').slice(0, 3).toLowerCase() as Weekday),
  };
}

/**
 * An instant in a reader's zone, with the zone named: "3 Jun 2025, 16:02 Europe/Paris", or
 * "3 Jun 2025, 14:02 UTC" for UTC (exactly {@link displayDate}).
 */
export function formatInZone(at: Date, zone: string = UTC): string {
  const name = isTimeZone(zone) ? canonicalZone(zone) : UTC;
  if (name === UTC) return displayDate(at);
  const p = partsIn(at, name);
  return `${p.day} ${MONTHS[p.month - 1]} ${p.year}, ${pad(p.hour)}:${pad(p.minute)} ${name}`;
}

/** Finds the instants {@link displayDate} wrote into a text. */
const DISPLAYED = /\b(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}), (\d{2}):(\d{2}) UTC\b/g;

/** Rewrites every instant {@link displayDate} wrote in `text` with `show`. */
export function replaceDisplayedDates(text: string, show: (at: Date, original: string) => string): string {
  if (!text.includes(' UTC')) return text;
  return text.replace(DISPLAYED, (original, day: string, month: string, year: string, hour: string, minute: string) => {
    const at = new Date(Date.UTC(Number(year), MONTHS.indexOf(month), Number(day), Number(hour), Number(minute)));
    return Number.isNaN(at.getTime()) ? original : show(at, original);
  });
}

/** Every displayed instant in `text`, in the reader's zone, zone named. */
export function localiseText(text: string, zone: string): string {
  return replaceDisplayedDates(text, (at) => formatInZone(at, zone));
}

/**
 * A Slack date token: each Slack client shows the instant in its own user's zone
 * ("Tomorrow at 4:02 PM"); `fallback` is what clients that cannot format it show.
 */
export function slackDateToken(at: Date, fallback: string): string {
  return `<!date^${Math.floor(at.getTime() / 1000)}^{date_short_pretty} at {time}|${fallback}>`;
}

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['week', 7 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

/** The largest unit that counts a duration in whole numbers, rounded down (90 min → 1 hour; 36 h → 1 day). */
function largestUnit(ms: number): [Intl.RelativeTimeFormatUnit, number] {
  const abs = Math.abs(ms);
  for (const [unit, size] of UNITS) {
    if (unit === 'week' && abs % size !== 0) continue;
    if (abs >= size) return [unit, Math.floor(abs / size)];
  }
  return ['second', Math.floor(abs / 1000)];
}

const counted = (count: number, unit: string) => `${count} ${unit}${count === 1 ? '' : 's'}`;

/**
 * A duration in words, the one way Roster says how long something lasts (a configured maximum,
 * a grant, a cadence, a wait): "3 days", "1 hour", "2 weeks", "45 minutes".
 *
 * By default it is said roughly, in its largest whole unit, rounded down, as people say how long
 * something has waited or how soon it comes ("1 hour" for 90 minutes). `exact` says every unit of
 * a duration that is not a whole number of one ("1 day and 12 hours", "1 hour and 30 minutes"),
 * for durations a person set or the configuration fixes; whole weeks are said in weeks, any other
 * number of days in days ("90 days", "2 weeks"). Under a second is "0 seconds".
 */
export function durationInWords(ms: number, options: { exact?: boolean } = {}): string {
  const [unit, count] = largestUnit(ms);
  if (!options.exact) return counted(count, unit);
  let rest = Math.floor(Math.abs(ms) / 1000) * 1000;
  if (rest === 0) return counted(0, 'second');
  const parts: string[] = [];
  for (const [name, size] of UNITS) {
    if (name === 'week' && rest % size !== 0) continue;
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(counted(n, name));
    rest -= n * size;
  }
  return parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)!}`;
}

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'always' });

/** How far an instant is from now, in words: "in 3 days", "2 hours ago". */
export function relativeInWords(at: Date, now: Date): string {
  const ms = at.getTime() - now.getTime();
  const [unit, count] = largestUnit(ms);
  return relative.format(ms < 0 ? -count : count, unit);
}

/** Days of the week as working hours name them. */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
/** A day of the week, see {@link WEEKDAYS}. */
export type Weekday = (typeof WEEKDAYS)[number];

/** A person's working hours: `start` to `end` (24-hour "HH:MM", in their zone) on `days`. */
export interface WorkingHours {
  start: string;
  end: string;
  days: readonly Weekday[];
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * The first instant at or after `now` inside the working hours of someone in `zone`: `now`
 * itself during working hours, else the start of the next working day's window. Computed on the
 * zone's wall clock, so daylight-saving changes move the instant, not the local hour.
 */
export function nextWorkingTime(now: Date, zone: string, hours: WorkingHours): Date {
  const name = isTimeZone(zone) ? zone : UTC;
  const start = minutesOf(hours.start);
  const end = minutesOf(hours.end);
  if (hours.days.length === 0 || end <= start) return now;
  const p = partsIn(now, name);
  const minute = p.hour * 60 + p.minute;
  if (hours.days.includes(WEEKDAYS[p.weekday]!) && minute >= start && minute < end) return now;
  for (let ahead = 0; ahead <= 7; ahead++) {
    const weekday = WEEKDAYS[(p.weekday + ahead) % 7]!;
    if (!hours.days.includes(weekday)) continue;
    if (ahead === 0 && minute >= start) continue;
    return wallToInstant(Date.UTC(p.year, p.month - 1, p.day + ahead, Math.floor(start / 60), start % 60), name);
  }
  return now;
}

/** The zone's offset from UTC at an instant (wall clock minus UTC), in ms, to the minute. */
function offsetAt(at: Date, zone: string): number {
  const p = partsIn(at, zone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - Math.floor(at.getTime() / 60_000) * 60_000;
}

/** The instant at which the zone's wall clock shows `wall` (a UTC-based ms count of that wall time). */
function wallToInstant(wall: number, zone: string): Date {
  // Corrected twice: the first guess may fall on the other side of a daylight-saving change.
  const first = wall - offsetAt(new Date(wall), zone);
  return new Date(wall - offsetAt(new Date(first), zone));
}
