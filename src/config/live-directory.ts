import { emptyPeopleIndex, indexPerson, registerPeopleIndex, unindexPerson, type PeopleIndex } from './directory.js';
import type { BusinessUnit, Channel, DirectorySettings, OrgConfig, Person } from './schemas.js';

/**
 * A user as the directory store holds it, reduced to what Roster needs. `seed` carries the
 * people.yaml roles, unit and manager of a seeded person: the manager until the identity provider
 * first writes the user, roles and unit until it first changes their group memberships; from
 * then on roles and unit come from group memberships (the unit also from `department`) only.
 */
export interface DirectoryUser {
  /** The SCIM id. */
  id: string;
  /** Lower-cased e-mail: the person's key in Roster. */
  email: string;
  name: string;
  active: boolean;
  /** Lower-cased SCIM userName when it is a UPN (an address), for Teams look-ups. */
  upn?: string;
  managerId?: string;
  department?: string;
  slackUserId?: string;
  teamsAadObjectId?: string;
  preferredChannel?: Channel;
  /** IANA time zone (SCIM `timezone`). */
  timeZone?: string;
  seed?: { roles: string[]; businessUnit: string; manager?: string };
}

/** A group as the directory store holds it; `members` are user ids. */
export interface DirectoryGroup {
  id: string;
  displayName: string;
  members: string[];
}

/** Chat identities linked to a person by a verified e-mail (not provisioned). */
export interface IdentityLink {
  kind: 'slack' | 'teams';
  /** Slack user id, or lower-cased AAD object id. */
  id: string;
  email: string;
}

/** How one write changed one person as Roster sees them (absent = not in the directory). */
export interface PersonChange {
  userId: string;
  before?: Person;
  after?: Person;
}

/**
 * The people of a running Roster, provisioned over SCIM: users and groups in memory, the Roster
 * person of each active user derived from them (roles and unit from the group mappings in
 * org.yaml), and an index kept up to date on every change, so the synchronous look-ups of
 * directory.ts stay O(1) whatever the size. `people` is the list the OrgConfig exposes; it is
 * changed in place. Only the directory store writes here (a SCIM write in this process, or
 * changes another replica made).
 */
export class LiveDirectory {
  /** Active people, in provisioning order. */
  readonly people: Person[] = [];
  private readonly index: PeopleIndex = emptyPeopleIndex();
  private readonly users = new Map<string, DirectoryUser>();
  private readonly groups = new Map<string, DirectoryGroup>();
  private readonly groupsOfUser = new Map<string, Set<string>>();
  private readonly reportsOf = new Map<string, Set<string>>();
  private readonly personOf = new Map<string, Person>();
  private readonly positions = new Map<Person, number>();
  private readonly userIdByEmail = new Map<string, string>();
  private readonly links = new Map<string, { slack?: string; teams?: string }>();
  private readonly mappings: ReadonlyMap<string, { roles: string[]; businessUnit?: string; order: number }>;
  private readonly unitByName: ReadonlyMap<string, string>;

  constructor(
    private readonly settings: DirectorySettings,
    businessUnits: readonly BusinessUnit[],
  ) {
    registerPeopleIndex(this.people, this.index);
    this.mappings = new Map(
      settings.groups.map((m, order) => [
        m.group.toLowerCase(),
        { roles: m.roles, ...(m.businessUnit ? { businessUnit: m.businessUnit } : {}), order },
      ]),
    );
    this.unitByName = new Map(businessUnits.flatMap((u) => [[u.id.toLowerCase(), u.id] as const, [u.name.toLowerCase(), u.id] as const]));
  }

  /** An OrgConfig whose people are this directory's (everything else from `base`). */
  orgConfig(base: OrgConfig): OrgConfig {
    return { ...base, people: this.people };
  }

  /** How many users (active or not) and groups are held. */
  get size(): { users: number; groups: number; people: number } {
    return { users: this.users.size, groups: this.groups.size, people: this.people.length };
  }

  user(id: string): DirectoryUser | undefined {
    return this.users.get(id);
  }

  /** The SCIM user id of the person with this e-mail, if provisioned. */
  userIdOf(email: string): string | undefined {
    return this.userIdByEmail.get(email.toLowerCase());
  }

  group(id: string): DirectoryGroup | undefined {
    return this.groups.get(id);
  }

  /** Ids and names of the groups a user belongs to (for the read-only `groups` of a SCIM user). */
  groupsOf(userId: string): DirectoryGroup[] {
    return [...(this.groupsOfUser.get(userId) ?? [])].flatMap((id) => this.groups.get(id) ?? []);
  }

  /** The Roster person of a user as of now (undefined when absent or deactivated). */
  personOfUser(userId: string): Person | undefined {
    return this.personOf.get(userId);
  }

  /** The users whose manager this user is (their person names the manager). */
  reportsOfUser(userId: string): string[] {
    return [...(this.reportsOf.get(userId) ?? [])];
  }

  /** Adds or replaces a user. */
  putUser(user: DirectoryUser): PersonChange[] {
    const previous = this.users.get(user.id);
    if (previous && previous.email !== user.email && this.userIdByEmail.get(previous.email) === user.id)
      this.userIdByEmail.delete(previous.email);
    if (previous?.managerId && previous.managerId !== user.managerId) this.reportsOf.get(previous.managerId)?.delete(user.id);
    this.users.set(user.id, user);
    this.userIdByEmail.set(user.email, user.id);
    if (user.managerId) {
      let reports = this.reportsOf.get(user.managerId);
      if (!reports) this.reportsOf.set(user.managerId, (reports = new Set()));
      reports.add(user.id);
    }
    const changes = [this.rebuild(user.id)];
    // Reports name their manager by e-mail: a new e-mail, or a manager who came or went, changes them.
    if (!previous || previous.email !== user.email || previous.active !== user.active) {
      for (const report of this.reportsOf.get(user.id) ?? []) changes.push(this.rebuild(report));
    }
    return changes.filter(changed);
  }

  /** Removes a user (hard delete) and their memberships. */
  removeUser(id: string): PersonChange[] {
    const user = this.users.get(id);
    if (!user) return [];
    for (const groupId of this.groupsOfUser.get(id) ?? []) {
      const group = this.groups.get(groupId);
      if (group) group.members = group.members.filter((m) => m !== id);
    }
    this.groupsOfUser.delete(id);
    if (user.managerId) this.reportsOf.get(user.managerId)?.delete(id);
    this.users.delete(id);
    if (this.userIdByEmail.get(user.email) === id) this.userIdByEmail.delete(user.email);
    const changes = [this.rebuild(id)];
    for (const report of this.reportsOf.get(id) ?? []) changes.push(this.rebuild(report));
    return changes.filter(changed);
  }

  /** Adds or replaces a group (name and members); members' roles and units follow. */
  putGroup(group: DirectoryGroup): PersonChange[] {
    const previous = this.groups.get(group.id);
    const members = new Set(group.members);
    const before = new Set(previous?.members ?? []);
    for (const id of before) if (!members.has(id)) this.groupsOfUser.get(id)?.delete(group.id);
    for (const id of members) {
      let groups = this.groupsOfUser.get(id);
      if (!groups) this.groupsOfUser.set(id, (groups = new Set()));
      groups.add(group.id);
    }
    this.groups.set(group.id, { ...group, members: [...members] });
    const renamed = previous !== undefined && previous.displayName.toLowerCase() !== group.displayName.toLowerCase();
    const affected = renamed || !previous ? new Set([...before, ...members]) : symmetricDifference(before, members);
    return [...affected].map((id) => this.rebuild(id)).filter(changed);
  }

  removeGroup(id: string): PersonChange[] {
    const group = this.groups.get(id);
    if (!group) return [];
    this.groups.delete(id);
    for (const member of group.members) this.groupsOfUser.get(member)?.delete(id);
    return group.members.map((member) => this.rebuild(member)).filter(changed);
  }

  /** Records a chat identity found by a verified e-mail; the person's Slack or Teams id follows. */
  putLink(link: IdentityLink): PersonChange[] {
    const entry = this.links.get(link.email) ?? {};
    if (link.kind === 'slack') entry.slack = link.id;
    else entry.teams = link.id.toLowerCase();
    this.links.set(link.email, entry);
    const userId = this.userIdByEmail.get(link.email);
    return userId ? [this.rebuild(userId)].filter(changed) : [];
  }

  /** The Roster person of a user: undefined when absent or deactivated. */
  private derive(user: DirectoryUser | undefined): Person | undefined {
    if (!user?.active) return undefined;
    // A seeded person keeps their people.yaml roles until the identity provider manages them (a group).
    const managed = (this.groupsOfUser.get(user.id)?.size ?? 0) > 0;
    const roles = new Set<string>(managed ? [] : (user.seed?.roles ?? []));
    let unit: { id: string; order: number } | undefined;
    for (const groupId of this.groupsOfUser.get(user.id) ?? []) {
      const group = this.groups.get(groupId);
      const mapping = group ? this.mappings.get(group.displayName.toLowerCase()) : undefined;
      if (!mapping) continue;
      for (const role of mapping.roles) roles.add(role);
      if (mapping.businessUnit && (!unit || mapping.order < unit.order)) unit = { id: mapping.businessUnit, order: mapping.order };
    }
    // What the identity provider says of the unit (a group, a department) wins over people.yaml.
    const businessUnit =
      unit?.id ??
      (user.department ? this.unitByName.get(user.department.toLowerCase()) : undefined) ??
      user.seed?.businessUnit ??
      this.settings.defaultBusinessUnit;
    const manager = user.managerId ? this.users.get(user.managerId) : undefined;
    const managerEmail = manager?.active ? manager.email : manager ? undefined : user.seed?.manager;
    const link = this.links.get(user.email);
    const slackUserId = user.slackUserId ?? link?.slack;
    const teamsAadObjectId = user.teamsAadObjectId ?? link?.teams;
    return {
      email: user.email,
      name: user.name,
      ...(slackUserId ? { slackUserId } : {}),
      ...(teamsAadObjectId ? { teamsAadObjectId } : {}),
      ...(user.upn ? { teamsUpn: user.upn } : {}),
      businessUnit,
      ...(managerEmail && managerEmail !== user.email ? { manager: managerEmail } : {}),
      ...(user.preferredChannel ? { preferredChannel: user.preferredChannel } : {}),
      ...(user.timeZone ? { timeZone: user.timeZone } : {}),
      roles: [...roles],
    };
  }

  /** Re-derives one user's person and swaps it into the list and the index. */
  private rebuild(userId: string): PersonChange {
    const before = this.personOf.get(userId);
    const after = this.derive(this.users.get(userId));
    if (before && after && samePerson(before, after)) return { userId, before, after: before };
    if (before) {
      unindexPerson(this.index, before);
      this.personOf.delete(userId);
    }
    if (after) {
      this.personOf.set(userId, after);
      indexPerson(this.index, after);
    }
    // Positions are tracked so that a change costs O(1) whatever the size; a leaver's place is
    // taken by the last person (the list's order carries no meaning).
    if (before) {
      const at = this.positions.get(before)!;
      this.positions.delete(before);
      if (after) {
        this.people[at] = after;
        this.positions.set(after, at);
      } else {
        const last = this.people.pop()!;
        if (last !== before) {
          this.people[at] = last;
          this.positions.set(last, at);
        }
      }
    } else if (after) {
      this.positions.set(after, this.people.length);
      this.people.push(after);
    }
    return { userId, ...(before ? { before } : {}), ...(after ? { after } : {}) };
  }
}

function changed(change: PersonChange): boolean {
  return change.before !== change.after;
}

function samePerson(a: Person, b: Person): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function symmetricDifference<T>(a: Set<T>, b: Set<T>): Set<T> {
  const out = new Set<T>();
  for (const x of a) if (!b.has(x)) out.add(x);
  for (const x of b) if (!a.has(x)) out.add(x);
  return out;
}
