import type { BusinessUnit, CatalogRole, OrgConfig, Person, Scope } from './schemas.js';

/*
 * Pure look-ups on a loaded OrgConfig: no I/O, no platform types. E-mails, Teams object ids
 * and UPNs are stored lower-cased by the loader, so look-ups on them ignore case.
 *
 * People are found through an index (maps by e-mail, Slack id, Teams id and role), never by
 * scanning the list, so a decision costs the same with fifteen people or fifty thousand. A list
 * from people.yaml is indexed once, the first time it is asked about; the live directory
 * (live-directory.ts) keeps its own index up to date on every change and registers it here.
 */

/** The maps behind the look-ups; `byRole` keeps directory order (insertion order of each set). */
export interface PeopleIndex {
  readonly byEmail: Map<string, Person>;
  readonly bySlackId: Map<string, Person>;
  /** AAD object ids and UPNs, lower-cased. */
  readonly byTeamsId: Map<string, Person>;
  readonly byRole: Map<string, Set<Person>>;
}

const indexes = new WeakMap<readonly Person[], PeopleIndex>();

/** An empty index. */
export function emptyPeopleIndex(): PeopleIndex {
  return { byEmail: new Map(), bySlackId: new Map(), byTeamsId: new Map(), byRole: new Map() };
}

/** Adds a person to an index (the later of two people with one key wins that key). */
export function indexPerson(index: PeopleIndex, person: Person): void {
  index.byEmail.set(person.email, person);
  if (person.slackUserId) index.bySlackId.set(person.slackUserId, person);
  if (person.teamsAadObjectId) index.byTeamsId.set(person.teamsAadObjectId, person);
  if (person.teamsUpn) index.byTeamsId.set(person.teamsUpn, person);
  for (const role of person.roles) {
    let holders = index.byRole.get(role);
    if (!holders) index.byRole.set(role, (holders = new Set()));
    holders.add(person);
  }
}

/** Removes a person from an index; keys another person has taken since are left alone. */
export function unindexPerson(index: PeopleIndex, person: Person): void {
  const drop = (map: Map<string, Person>, key: string | undefined) => {
    if (key !== undefined && map.get(key) === person) map.delete(key);
  };
  drop(index.byEmail, person.email);
  drop(index.bySlackId, person.slackUserId);
  drop(index.byTeamsId, person.teamsAadObjectId);
  drop(index.byTeamsId, person.teamsUpn);
  for (const role of person.roles) {
    const holders = index.byRole.get(role);
    holders?.delete(person);
    if (holders?.size === 0) index.byRole.delete(role);
  }
}

/** Makes `index` the one used for `people` (the live directory keeps both up to date together). */
export function registerPeopleIndex(people: readonly Person[], index: PeopleIndex): void {
  indexes.set(people, index);
}

/** The index of a people list, built on first use for a list nobody registered. */
export function peopleIndex(config: Pick<OrgConfig, 'people'>): PeopleIndex {
  let index = indexes.get(config.people);
  if (!index) {
    index = emptyPeopleIndex();
    for (const person of config.people) indexPerson(index, person);
    indexes.set(config.people, index);
  }
  return index;
}

/** The person with this e-mail (case-insensitive), if any. */
export function findPersonByEmail(config: OrgConfig, email: string): Person | undefined {
  return peopleIndex(config).byEmail.get(email.trim().toLowerCase());
}

/** The person with this Slack user id (exact, Slack ids are upper case), if any. */
export function findPersonBySlackId(config: OrgConfig, slackUserId: string): Person | undefined {
  return peopleIndex(config).bySlackId.get(slackUserId);
}

/**
 * The person with this Teams identity: an AAD object id or a UPN, compared case-insensitively
 * with `teamsAadObjectId` and `teamsUpn`.
 */
export function findPersonByTeamsId(config: OrgConfig, aadObjectIdOrUpn: string): Person | undefined {
  return peopleIndex(config).byTeamsId.get(aadObjectIdOrUpn.trim().toLowerCase());
}

/** True when the person holds `role`; everyone holds `requester`. */
export function hasRole(person: Person, role: string): boolean {
  return role === 'requester' || person.roles.includes(role);
}

/** Everyone holding `role` (e.g. `approver:finance`, `oncall:ai-ops`), in directory order; `requester` is everyone. */
export function peopleWithRole(config: OrgConfig, role: string): Person[] {
  if (role === 'requester') return [...config.people];
  return [...(peopleIndex(config).byRole.get(role) ?? [])];
}

/** The scope with this id, if any. */
export function scopeById(config: OrgConfig, scopeId: string): Scope | undefined {
  return config.scopes.find((scope) => scope.id === scopeId);
}

/** The catalog role with this id, if any. */
export function roleById(config: OrgConfig, roleId: string): CatalogRole | undefined {
  return config.catalog.find((role) => role.id === roleId);
}

/** The business unit with this id, if any. */
export function businessUnitById(config: OrgConfig, businessUnitId: string): BusinessUnit | undefined {
  return config.businessUnits.find((unit) => unit.id === businessUnitId);
}

/** Catalog roles the business unit may request: those listing it, and those listing no unit. */
export function catalogRolesFor(config: OrgConfig, businessUnitId: string): CatalogRole[] {
  return config.catalog.filter((role) => role.businessUnits === undefined || role.businessUnits.includes(businessUnitId));
}

/**
 * The escalation levels of a rotation as people: element 0 is paged first. `undefined` for an
 * unknown rotation. People no longer in the directory (leavers) are left out.
 */
export function rotationLevels(config: OrgConfig, rotationId: string): Person[][] | undefined {
  const rotation = config.rotations.find((candidate) => candidate.id === rotationId);
  if (rotation === undefined) return undefined;
  return rotation.levels.map((level) => level.flatMap((email) => findPersonByEmail(config, email) ?? []));
}

/**
 * People whose name or e-mail contains `text` (case-insensitive; every word of it, in any order),
 * in directory order, at most `limit`: the directory search of people pickers. The directory holds
 * active people only (the live directory drops deactivated users).
 */
export function findPeople(config: Pick<OrgConfig, 'people'>, text: string, limit: number): Person[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean).slice(0, 5);
  const out: Person[] = [];
  for (const person of config.people) {
    if (out.length >= limit) break;
    const haystack = `${person.name.toLowerCase()} ${person.email}`;
    if (words.every((w) => haystack.includes(w))) out.push(person);
  }
  return out;
}
