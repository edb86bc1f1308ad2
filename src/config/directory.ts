import type { BusinessUnit, CatalogRole, OrgConfig, Person, Scope } from './schemas.js';

/*
 * Pure look-ups on a loaded OrgConfig: no I/O, no platform types. E-mails, Teams object ids
 * and UPNs are stored lower-cased by the loader, so look-ups on them ignore case.
 */

/** The person with this e-mail (case-insensitive), if any. */
export function findPersonByEmail(config: OrgConfig, email: string): Person | undefined {
  const wanted = email.trim().toLowerCase();
  return config.people.find((person) => person.email === wanted);
}

/** The person with this Slack user id (exact, Slack ids are upper case), if any. */
export function findPersonBySlackId(config: OrgConfig, slackUserId: string): Person | undefined {
  return config.people.find((person) => person.slackUserId === slackUserId);
}

/**
 * The person with this Teams identity: an AAD object id or a UPN, compared case-insensitively
 * with `teamsAadObjectId` and `teamsUpn`.
 */
export function findPersonByTeamsId(config: OrgConfig, aadObjectIdOrUpn: string): Person | undefined {
  const wanted = aadObjectIdOrUpn.trim().toLowerCase();
  return config.people.find((person) => person.teamsAadObjectId === wanted || person.teamsUpn === wanted);
}

/** True when the person holds `role`; everyone holds `requester`. */
export function hasRole(person: Person, role: string): boolean {
  return role === 'requester' || person.roles.includes(role);
}

/** Everyone holding `role` (e.g. `approver:finance`, `oncall:ai-ops`), in directory order; `requester` is everyone. */
export function peopleWithRole(config: OrgConfig, role: string): Person[] {
  return config.people.filter((person) => hasRole(person, role));
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
 * unknown rotation. (The loader guarantees every listed e-mail is a person in the directory.)
 */
export function rotationLevels(config: OrgConfig, rotationId: string): Person[][] | undefined {
  const rotation = config.rotations.find((candidate) => candidate.id === rotationId);
  if (rotation === undefined) return undefined;
  return rotation.levels.map((level) => level.flatMap((email) => findPersonByEmail(config, email) ?? []));
}
