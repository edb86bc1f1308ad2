import { didYouMean } from './did-you-mean.js';
import {
  APPROVER_ROLE_FORMS,
  isRelativeApproverRole,
  parseDirectoryRole,
  PLAIN_ROLES,
  RELATIVE_APPROVER_ROLES,
  ROLE_FORMS,
  type ParsedRole,
} from './roles.js';
import type { Boundaries, CatalogFile, OrgFile, PeopleFile, Scope, ScopesFile } from './schemas.js';

/** The four configuration files, by key. */
export type ConfigFileKey = 'org' | 'people' | 'scopes' | 'catalog';

/** The order files are loaded and reported in. */
export const FILE_ORDER: readonly ConfigFileKey[] = ['org', 'people', 'scopes', 'catalog'];

/** The files that passed schema validation; a file that did not is absent. */
export interface ParsedConfigFiles {
  org?: OrgFile | undefined;
  people?: PeopleFile | undefined;
  scopes?: ScopesFile | undefined;
  catalog?: CatalogFile | undefined;
}

/** A cross-reference problem: the file it is reported in, a `a.b[2].c` path and a message. */
export interface CrossReferenceProblem {
  readonly file: ConfigFileKey;
  readonly path: string;
  readonly message: string;
}

type Report = (file: ConfigFileKey, path: string, message: string) => void;

const MAX_KNOWN = 8;

/** ` (known: a, b, c)`, or a did-you-mean hint when one candidate is a likely typo. */
function hint(value: string, candidates: readonly string[]): string {
  const suggestion = didYouMean(value, candidates);
  if (suggestion !== '' || candidates.length === 0) return suggestion;
  const shown = candidates.slice(0, MAX_KNOWN).join(', ');
  return ` (known: ${shown}${candidates.length > MAX_KNOWN ? ', …' : ''})`;
}

/** The system of a scope id: the part before the first colon (`finance` for `finance:ledger:write`). */
export function scopeSystem(scopeId: string): string {
  const colon = scopeId.indexOf(':');
  return colon < 0 ? scopeId : scopeId.slice(0, colon);
}

/** Reports every item whose key repeats an earlier item's key. */
function reportDuplicates<T>(
  items: readonly T[],
  key: (item: T) => string | undefined,
  path: (index: number) => string,
  message: (value: string, firstIndex: number) => string,
  report: (path: string, message: string) => void,
): void {
  const first = new Map<string, number>();
  items.forEach((item, index) => {
    const value = key(item);
    if (value === undefined) return;
    const earlier = first.get(value);
    if (earlier === undefined) first.set(value, index);
    else report(path(index), message(value, earlier));
  });
}

/** What the loader knows about the organisation, from whichever files parsed. */
interface Known {
  businessUnits?: readonly string[];
  rotations?: readonly string[];
  /** Roles per person, by e-mail: its keys are the directory. */
  rolesByEmail?: ReadonlyMap<string, readonly string[]>;
  /** Every role held by someone in the directory. */
  heldRoles?: ReadonlySet<string>;
  /** Systems named by at least one scope. */
  systems?: readonly string[];
  scopes?: ReadonlyMap<string, Scope>;
}

function knownFrom(files: ParsedConfigFiles): Known {
  const known: Known = {};
  if (files.org) {
    known.businessUnits = files.org.businessUnits.map((unit) => unit.id);
    known.rotations = files.org.rotations.map((rotation) => rotation.id);
  }
  if (files.people) {
    known.rolesByEmail = new Map(files.people.people.map((person) => [person.email, person.roles]));
    known.heldRoles = new Set(files.people.people.flatMap((person) => person.roles));
  }
  if (files.scopes) {
    known.systems = [...new Set(files.scopes.scopes.map((scope) => scopeSystem(scope.id)))];
    known.scopes = new Map(files.scopes.scopes.map((scope) => [scope.id, scope]));
  }
  return known;
}

/**
 * Problems with the targets of a parsed directory role (`approver:<business-unit>`,
 * `oncall:<rotation>`, `data-owner:<system>`), checked only against files that parsed.
 */
function roleTargetProblem(role: string, parsed: ParsedRole, known: Known): string | undefined {
  if (
    (parsed.kind === 'approver' || parsed.kind === 'requester-for') &&
    known.businessUnits &&
    !known.businessUnits.includes(parsed.businessUnit)
  ) {
    return `role "${role}" names unknown business unit "${parsed.businessUnit}"${hint(parsed.businessUnit, known.businessUnits)}`;
  }
  if (parsed.kind === 'oncall' && known.rotations && !known.rotations.includes(parsed.rotation)) {
    return `role "${role}" names unknown rotation "${parsed.rotation}"${hint(parsed.rotation, known.rotations)}`;
  }
  if (parsed.kind === 'data-owner' && known.systems && !known.systems.includes(parsed.system)) {
    return `role "${role}" names system "${parsed.system}", which no scope in scopes.yaml uses${hint(parsed.system, known.systems)}`;
  }
  return undefined;
}

function checkOrg(org: OrgFile, known: Known, report: Report): void {
  const add = (path: string, message: string): void => report('org', path, message);
  reportDuplicates(
    org.businessUnits,
    (unit) => unit.id,
    (i) => `businessUnits[${i}].id`,
    (id, j) => `duplicate business unit id "${id}" (first at businessUnits[${j}])`,
    add,
  );
  reportDuplicates(
    org.rotations,
    (rotation) => rotation.id,
    (i) => `rotations[${i}].id`,
    (id, j) => `duplicate rotation id "${id}" (first at rotations[${j}])`,
    add,
  );
  const rotationIds = org.rotations.map((rotation) => rotation.id);
  if (!rotationIds.includes(org.settings.alertRotation)) {
    add('settings.alertRotation', `unknown rotation "${org.settings.alertRotation}"${hint(org.settings.alertRotation, rotationIds)}`);
  }
  org.rotations.forEach((rotation, r) => {
    const levelOf = new Map<string, number>();
    rotation.levels.forEach((level, l) => {
      level.forEach((email, k) => {
        const path = `rotations[${r}].levels[${l}][${k}]`;
        const earlier = levelOf.get(email);
        if (earlier !== undefined) {
          add(path, `"${email}" is already on level ${earlier + 1} of this rotation`);
          return;
        }
        levelOf.set(email, l);
        if (known.rolesByEmail && !known.rolesByEmail.has(email)) {
          add(path, `unknown person "${email}"${didYouMean(email, known.rolesByEmail.keys())}`);
        } else if (known.rolesByEmail && !known.rolesByEmail.get(email)?.includes(`oncall:${rotation.id}`)) {
          add(path, `"${email}" is on this rotation but does not have role "oncall:${rotation.id}" in people.yaml`);
        }
      });
    });
  });
  if (org.directory) checkGroupMappings(org, known, add);
  if (known.heldRoles) {
    org.businessUnits.forEach((unit, b) => {
      if (!known.heldRoles?.has(`approver:${unit.id}`)) add(`businessUnits[${b}]`, `nobody in people.yaml has role "approver:${unit.id}"`);
    });
  }
}

/** `directory` in org.yaml: every mapped role and business unit must exist; group names are unique. */
function checkGroupMappings(org: OrgFile, known: Known, add: (path: string, message: string) => void): void {
  const directory = org.directory!;
  const units = known.businessUnits ?? [];
  if (!units.includes(directory.defaultBusinessUnit)) {
    add(
      'directory.defaultBusinessUnit',
      `unknown business unit "${directory.defaultBusinessUnit}"${hint(directory.defaultBusinessUnit, units)}`,
    );
  }
  reportDuplicates(
    directory.groups,
    (mapping) => mapping.group.toLowerCase(),
    (i) => `directory.groups[${i}].group`,
    (name, j) => `group "${name}" is already mapped at directory.groups[${j}] (names are compared ignoring case)`,
    add,
  );
  directory.groups.forEach((mapping, g) => {
    const at = `directory.groups[${g}]`;
    if (mapping.roles.length === 0 && mapping.businessUnit === undefined)
      add(at, 'maps the group to nothing: give roles, a businessUnit or both');
    if (mapping.businessUnit !== undefined && !units.includes(mapping.businessUnit)) {
      add(`${at}.businessUnit`, `unknown business unit "${mapping.businessUnit}"${hint(mapping.businessUnit, units)}`);
    }
    const seen = new Set<string>();
    mapping.roles.forEach((role, k) => {
      const path = `${at}.roles[${k}]`;
      if (seen.has(role)) return add(path, `duplicate role "${role}"`);
      seen.add(role);
      if (role === 'sponsor')
        return add(path, '"sponsor" is not a directory role: sponsors are named per agent when the agent is requested');
      if (role === 'requester') return add(path, '"requester" needs no group: everyone is a requester');
      const parsed = parseDirectoryRole(role);
      if (parsed === undefined) {
        const suggestion = didYouMean(role, PLAIN_ROLES);
        return add(path, `unknown role "${role}"${suggestion === '' ? ` (expected ${ROLE_FORMS})` : suggestion}`);
      }
      const problem = roleTargetProblem(role, parsed, known);
      if (problem !== undefined) add(path, problem);
    });
  });
}

function checkPeople(people: PeopleFile, org: OrgFile | undefined, known: Known, report: Report): void {
  const add = (path: string, message: string): void => report('people', path, message);
  const list = people.people;
  reportDuplicates(
    list,
    (p) => p.email,
    (i) => `people[${i}].email`,
    (email, j) => `duplicate e-mail "${email}" (first at people[${j}])`,
    add,
  );
  reportDuplicates(
    list,
    (p) => p.slackUserId,
    (i) => `people[${i}].slackUserId`,
    (id, j) => `Slack user id "${id}" is already used by people[${j}] (${list[j]?.email})`,
    add,
  );
  reportDuplicates(
    list,
    (p) => p.teamsAadObjectId,
    (i) => `people[${i}].teamsAadObjectId`,
    (id, j) => `Teams AAD object id "${id}" is already used by people[${j}] (${list[j]?.email})`,
    add,
  );
  reportDuplicates(
    list,
    (p) => p.teamsUpn,
    (i) => `people[${i}].teamsUpn`,
    (upn, j) => `Teams UPN "${upn}" is already used by people[${j}] (${list[j]?.email})`,
    add,
  );
  const emails = list.map((person) => person.email);
  const rotationMembers = new Map((org?.rotations ?? []).map((rotation) => [rotation.id, new Set(rotation.levels.flat())]));

  list.forEach((person, i) => {
    const at = `people[${i}]`;
    const hasTeams = person.teamsAadObjectId !== undefined || person.teamsUpn !== undefined;
    if (person.slackUserId === undefined && !hasTeams) {
      add(at, 'no chat identity: add slackUserId, teamsAadObjectId or teamsUpn');
    } else if (person.preferredChannel === 'slack' && person.slackUserId === undefined) {
      add(`${at}.preferredChannel`, '"slack" needs slackUserId');
    } else if (person.preferredChannel === 'teams' && !hasTeams) {
      add(`${at}.preferredChannel`, '"teams" needs teamsAadObjectId or teamsUpn');
    }
    if (known.businessUnits && !known.businessUnits.includes(person.businessUnit)) {
      add(`${at}.businessUnit`, `unknown business unit "${person.businessUnit}"${hint(person.businessUnit, known.businessUnits)}`);
    }
    if (person.manager === person.email) {
      add(`${at}.manager`, 'a person cannot be their own manager');
    } else if (person.manager !== undefined && !known.rolesByEmail?.has(person.manager)) {
      add(`${at}.manager`, `unknown person "${person.manager}"${didYouMean(person.manager, emails)}`);
    }
    const seen = new Set<string>();
    person.roles.forEach((role, k) => {
      const path = `${at}.roles[${k}]`;
      if (seen.has(role)) {
        add(path, `duplicate role "${role}"`);
        return;
      }
      seen.add(role);
      if (role === 'sponsor') {
        add(path, '"sponsor" is not a directory role: sponsors are named per agent when the agent is requested');
        return;
      }
      const parsed = parseDirectoryRole(role);
      if (parsed === undefined) {
        const suggestion = didYouMean(role, PLAIN_ROLES);
        add(path, `unknown role "${role}"${suggestion === '' ? ` (expected ${ROLE_FORMS})` : suggestion}`);
        return;
      }
      const problem = roleTargetProblem(role, parsed, known);
      if (problem !== undefined) add(path, problem);
      else if (
        parsed.kind === 'oncall' &&
        rotationMembers.has(parsed.rotation) &&
        !rotationMembers.get(parsed.rotation)?.has(person.email)
      ) {
        add(path, `"${person.email}" has role "${role}" but is on no level of rotation "${parsed.rotation}" in org.yaml`);
      }
    });
  });
}

function checkScopes(scopes: ScopesFile, known: Known, report: Report): void {
  const add = (path: string, message: string): void => report('scopes', path, message);
  reportDuplicates(
    scopes.scopes,
    (s) => s.id,
    (i) => `scopes[${i}].id`,
    (id, j) => `duplicate scope id "${id}" (first at scopes[${j}])`,
    add,
  );
  scopes.scopes.forEach((scope, i) => {
    const seen = new Set<string>();
    scope.requiredApprovers.forEach((role, k) => {
      const path = `scopes[${i}].requiredApprovers[${k}]`;
      if (seen.has(role)) {
        add(path, `duplicate approver role "${role}"`);
        return;
      }
      seen.add(role);
      if (role === 'data-owner') {
        const owner = `data-owner:${scopeSystem(scope.id)}`;
        if (known.heldRoles && !known.heldRoles.has(owner))
          add(path, `"data-owner" needs someone with role "${owner}" in people.yaml, and nobody has it`);
        return;
      }
      if (isRelativeApproverRole(role)) return;
      if (role === 'requester') {
        add(path, '"requester" cannot be a required approver: everyone is a requester');
        return;
      }
      const parsed = parseDirectoryRole(role);
      if (parsed === undefined) {
        const suggestion = didYouMean(role, [...PLAIN_ROLES, ...RELATIVE_APPROVER_ROLES]);
        add(path, `unknown role "${role}"${suggestion === '' ? ` (expected ${APPROVER_ROLE_FORMS})` : suggestion}`);
        return;
      }
      if (parsed.kind === 'requester-for') {
        add(path, `"${role}" cannot be a required approver: it only lets its holder request agents for that business unit`);
        return;
      }
      const problem = roleTargetProblem(role, parsed, known);
      if (problem !== undefined) add(path, problem);
      else if (known.heldRoles && !known.heldRoles.has(role)) add(path, `nobody in people.yaml has role "${role}"`);
    });
  });
}

function checkCatalog(catalog: CatalogFile, known: Known, report: Report): void {
  const add = (path: string, message: string): void => report('catalog', path, message);
  reportDuplicates(
    catalog.roles,
    (r) => r.id,
    (i) => `roles[${i}].id`,
    (id, j) => `duplicate catalog role id "${id}" (first at roles[${j}])`,
    add,
  );
  const scopeIds = known.scopes ? [...known.scopes.keys()] : [];
  catalog.roles.forEach((role, i) => {
    const at = `roles[${i}]`;
    role.businessUnits?.forEach((unit, k) => {
      if (known.businessUnits && !known.businessUnits.includes(unit)) {
        add(`${at}.businessUnits[${k}]`, `unknown business unit "${unit}"${hint(unit, known.businessUnits)}`);
      }
    });
    const rotation = role.escalation?.rotation;
    if (rotation !== undefined && known.rotations && !known.rotations.includes(rotation)) {
      add(`${at}.escalation.rotation`, `unknown rotation "${rotation}"${hint(rotation, known.rotations)}`);
    }
    const declared = new Set<string>(role.dataClasses);
    const forbiddenAt = new Map(role.forbiddenScopes.map((entry, k) => [entry.scope, k]));
    const allowedAt = new Map(role.allowedScopes.map((scope, k) => [scope, k]));
    const checkScope = (scopeId: string, path: string, grantable: boolean): void => {
      const scope = known.scopes?.get(scopeId);
      if (known.scopes && scope === undefined) {
        add(path, `unknown scope "${scopeId}"${didYouMean(scopeId, scopeIds)}`);
        return;
      }
      if (!grantable || scope === undefined) return;
      const undeclared = scope.dataClasses.filter((dataClass) => !declared.has(dataClass));
      if (undeclared.length > 0) {
        add(path, `scope "${scopeId}" touches ${undeclared.join(' and ')} data, which this role does not list in dataClasses`);
      }
    };
    role.defaultScopes.forEach((scopeId, k) => {
      const path = `${at}.defaultScopes[${k}]`;
      checkScope(scopeId, path, true);
      const forbidden = forbiddenAt.get(scopeId);
      if (forbidden !== undefined) add(path, `default scope "${scopeId}" is also forbidden (forbiddenScopes[${forbidden}])`);
    });
    role.allowedScopes.forEach((scopeId, k) => checkScope(scopeId, `${at}.allowedScopes[${k}]`, true));
    role.forbiddenScopes.forEach((entry, k) => {
      const path = `${at}.forbiddenScopes[${k}].scope`;
      checkScope(entry.scope, path, false);
      const allowed = allowedAt.get(entry.scope);
      if (allowed !== undefined) add(path, `scope "${entry.scope}" is both allowed (allowedScopes[${allowed}]) and forbidden`);
    });
    if (role.boundaries) checkBoundaries(role.boundaries, `${at}.boundaries`, known, add);
  });
}

/** Problems with who decides or works a queue: `sponsor`, `business-unit-approver` or a directory role someone holds. */
function deciderProblem(decider: string, known: Known): string | undefined {
  if (decider === 'sponsor' || decider === 'business-unit-approver') return undefined;
  if (decider.includes('@')) {
    return known.rolesByEmail && !known.rolesByEmail.has(decider.toLowerCase()) ? `unknown person "${decider}"` : undefined;
  }
  const parsed = parseDirectoryRole(decider);
  if (!parsed) return `unknown approver "${decider}": expected sponsor, business-unit-approver or ${ROLE_FORMS}`;
  const target = roleTargetProblem(decider, parsed, known);
  if (target) return target;
  if (known.heldRoles && decider !== 'requester' && !known.heldRoles.has(decider)) return `nobody in people.yaml holds "${decider}"`;
  return undefined;
}

function checkBoundaries(boundaries: Boundaries, at: string, known: Known, add: (path: string, message: string) => void): void {
  for (const [name, boundary] of Object.entries(boundaries.actions)) {
    const path = `${at}.actions.${name}`;
    for (const [field, spec] of Object.entries(boundary.fields)) {
      if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max)
        add(`${path}.fields.${field}.max`, `must not be below min (${spec.min})`);
    }
    if (boundary.mode !== 'needs-approval') continue;
    boundary.approvers.forEach((decider, k) => {
      const problem = deciderProblem(decider, known);
      if (problem) add(`${path}.approvers[${k}]`, problem);
    });
    if (boundary.escalateTo) {
      const problem = deciderProblem(boundary.escalateTo, known);
      if (problem) add(`${path}.escalateTo`, problem);
    }
    if (boundary.when) {
      const field = boundary.fields[boundary.when.field];
      if (!field)
        add(`${path}.when.field`, `unknown field "${boundary.when.field}"${hint(boundary.when.field, Object.keys(boundary.fields))}`);
      else if (field.type !== 'number')
        add(`${path}.when.field`, `field "${boundary.when.field}" is a ${field.type}; a threshold needs a number field`);
    }
  }
  for (const [id, queue] of Object.entries(boundaries.queues)) {
    queue.people.forEach((decider, k) => {
      const problem = deciderProblem(decider, known);
      if (problem) add(`${at}.queues.${id}.people[${k}]`, problem);
    });
    if (queue.escalateTo) {
      const problem = deciderProblem(queue.escalateTo, known);
      if (problem) add(`${at}.queues.${id}.escalateTo`, problem);
    }
  }
  const queues = Object.keys(boundaries.queues);
  for (const [kind, queue] of Object.entries(boundaries.handoffs)) {
    if (!boundaries.queues[queue]) add(`${at}.handoffs.${kind}`, `unknown queue "${queue}"${hint(queue, queues)}`);
  }
}

/**
 * Checks references within and between the files that passed schema validation: unknown
 * business units, rotations, people, scopes and roles; duplicate ids, e-mails and chat ids;
 * scopes both allowed and forbidden; data classes a role touches but does not declare; roles
 * nobody holds. A check that needs a file which failed validation is skipped, so one broken
 * file does not hide problems in the others (nor flood the report with consequences).
 * Problems are ordered by file ({@link FILE_ORDER}), then by path.
 */
export function checkCrossReferences(files: ParsedConfigFiles): CrossReferenceProblem[] {
  const problems: CrossReferenceProblem[] = [];
  const report: Report = (file, path, message) => problems.push({ file, path, message });
  const known = knownFrom(files);
  if (files.org) checkOrg(files.org, known, report);
  if (files.people) checkPeople(files.people, files.org, known, report);
  if (files.scopes) checkScopes(files.scopes, known, report);
  if (files.catalog) checkCatalog(files.catalog, known, report);
  return problems.sort((a, b) => FILE_ORDER.indexOf(a.file) - FILE_ORDER.indexOf(b.file) || comparePaths(a.path, b.path));
}

/** Orders paths by their segments, numbers numerically: `people[2].manager` before `people[13].roles[0]`. */
function comparePaths(a: string, b: string): number {
  const left = a.match(/[^.[\]]+/g) ?? [];
  const right = b.match(/[^.[\]]+/g) ?? [];
  for (let i = 0; i < Math.min(left.length, right.length); i += 1) {
    const x = left[i] ?? '';
    const y = right[i] ?? '';
    if (x === y) continue;
    const numeric = /^\d+$/.test(x) && /^\d+$/.test(y);
    return numeric ? Number(x) - Number(y) : x < y ? -1 : 1;
  }
  return left.length - right.length;
}
