import type { OrgConfig, Person } from '../config/schemas.js';
import type { CardTime } from '../cards/localise.js';
import { canonicalZone, isTimeZone } from '../core/time.js';

/**
 * The zone a reader sees times in: the one their chat client reports (Slack's user `tz`, the
 * Teams client's time zone), else the directory's `timeZone` for them, else the organisation's.
 */
export function readerTime(org: OrgConfig, person: Pick<Person, 'timeZone'> | undefined, reported?: string): CardTime {
  if (isTimeZone(reported)) return { zone: canonicalZone(reported) };
  if (person?.timeZone && isTimeZone(person.timeZone)) return { zone: person.timeZone };
  return sharedTime(org);
}

/** The zone of a card many people see at once (a channel post): the organisation's, named. */
export function sharedTime(org: OrgConfig): CardTime {
  return { zone: isTimeZone(org.settings.timeZone) ? canonicalZone(org.settings.timeZone) : 'UTC' };
}
