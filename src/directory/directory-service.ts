import { randomUUID } from 'node:crypto';
import type { LiveDirectory, DirectoryUser, PersonChange } from '../config/live-directory.js';
import type { Person } from '../config/schemas.js';
import { canonicalZone, isTimeZone } from '../core/time.js';
import type { AuditInput, AuditLog } from '../core/audit.js';
import type { Outbox } from '../core/outbox.js';
import type { PendingEffect } from '../core/ports.js';
import type { Logger } from '../logger.js';
import type { AuditedDoc, AuditedPerson, DirectoryStore, GroupDoc, LinkDoc, UserDoc } from '../store/directory-store.js';
import { chatOf, enterpriseOf, SCHEMA_ROSTER, userDisplayName, type Resource } from '../scim/resources.js';

/** Work the directory hands to the scheduler: durable, run once across replicas, within seconds. */
export type DirectoryJob =
  | { kind: 'leaver'; email: string; manager?: string; source: string; reason: 'deactivated' | 'deleted' }
  | { kind: 'roles-removed'; email: string; roles: string[]; source: string };

/** The holder kinds of directory users and groups in the outbox: the reaction to a write is stored with it. */
export const DIRECTORY_USER_HOLDER = 'directory-user';
export const DIRECTORY_GROUP_HOLDER = 'directory-group';

/** The outbox effect that audits a directory write's consequences and hands them to the scheduler. */
export const DIRECTORY_REACT_EFFECT = 'directory.react';

/**
 * Data of a {@link DIRECTORY_REACT_EFFECT}: the users a write may change. What changed for them is
 * measured from each one's last audited state, so nothing of how the writer saw them is stored.
 */
export interface DirectoryReaction {
  source: string;
  reason: 'deactivated' | 'deleted';
  users?: string[];
  /** What versions before `users` stored instead: the people as the writer saw them, of whom only the ids are read. */
  before?: Array<{ userId: string; person?: Person }>;
}

export interface DirectoryServiceDeps {
  store: DirectoryStore;
  live: LiveDirectory;
  audit: AuditLog;
  /** Where each write's reaction is stored with the write (Roster's shared outbox). */
  outbox: Outbox;
  /** Queues a leaver or role-loss job (Agenda `directory.change`) once per `key`. */
  schedule: (job: DirectoryJob, key: string) => Promise<void>;
  log: Logger;
  clock?: () => Date;
}

/** Rounds of reading and claiming a person's audited state before a reaction gives up (the worker retries it). */
const AUDIT_ATTEMPTS = 8;

/** What of a person the audit trail follows (leaving, joining, roles, unit, and the manager a leaver is handed to). */
function auditedOf(person: Person | undefined): AuditedPerson | null {
  if (!person) return null;
  return {
    email: person.email,
    roles: [...person.roles].sort(),
    businessUnit: person.businessUnit,
    ...(person.manager ? { manager: person.manager } : {}),
  };
}

function sameAudited(a: AuditedPerson | null, b: AuditedPerson | null): boolean {
  if (!a || !b) return a === b;
  return (
    a.email === b.email &&
    a.businessUnit === b.businessUnit &&
    a.manager === b.manager &&
    a.roles.length === b.roles.length &&
    a.roles.every((r) => b.roles.includes(r))
  );
}

/** Changes re-read on each refresh below the last seen number: writes that took a number but committed late. */
const OVERLAP = 200;

/** The directory user Roster derives people from, from a stored user. */
export function directoryUserOf(doc: UserDoc): DirectoryUser {
  const resource = JSON.parse(doc.resource) as Resource;
  const enterprise = enterpriseOf(resource);
  const chat = chatOf(resource);
  const userName = String(resource.userName ?? '');
  const channel = chat?.preferredChannel?.toLowerCase();
  return {
    id: doc._id,
    email: doc.emailKey,
    name: userDisplayName(resource),
    active: doc.active,
    ...(userName.includes('@') ? { upn: userName.toLowerCase() } : {}),
    ...(enterprise?.manager?.value ? { managerId: enterprise.manager.value } : {}),
    ...(enterprise?.department ? { department: enterprise.department } : {}),
    ...(chat?.slackUserId ? { slackUserId: chat.slackUserId } : {}),
    ...(chat?.teamsAadObjectId ? { teamsAadObjectId: chat.teamsAadObjectId.toLowerCase() } : {}),
    ...(channel === 'slack' || channel === 'teams' ? { preferredChannel: channel } : {}),
    // SCIM's `timezone` is an IANA zone by RFC 7643; anything else an IdP sends is ignored, not shown.
    ...(isTimeZone(resource.timezone) ? { timeZone: canonicalZone(resource.timezone) } : {}),
    ...(doc.seed ? { seed: doc.seed } : {}),
  };
}

/**
 * The live directory's owner: loads it from the store at start (seeding it once from
 * people.yaml), applies this process's writes at once, catches up with other replicas' writes
 * (polling one counter, and on demand before a decision), and turns changes into consequences:
 * a person who left or lost a role is audited with the provisioning source and handed to the
 * scheduler, which starts the leaver process or re-routes their pending approvals.
 */
export class DirectoryService {
  private lastSeq = 0;
  private readonly applied = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly clock: () => Date;

  constructor(private readonly deps: DirectoryServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
    deps.outbox.register<DirectoryReaction>({
      type: DIRECTORY_REACT_EFFECT,
      perform: (data) => this.react(data),
    });
  }

  get live(): LiveDirectory {
    return this.deps.live;
  }

  /** Loads the directory; a database never seeded gets the people of people.yaml first. */
  async load(seed: readonly Person[]): Promise<void> {
    await this.deps.store.ensureIndexes();
    if (!(await this.deps.store.seeded())) {
      for (const person of seed) await this.seedPerson(person);
      await this.deps.store.markSeeded();
      if (seed.length) this.deps.log.info({ people: seed.length }, 'directory seeded from people.yaml');
    }
    await this.catchUp(0);
    if (!(await this.deps.store.auditedSeeded())) {
      // Everyone provisioned before audited states were kept counts as audited as they are now:
      // a user without one is from then on one provisioned since, audited from "no person".
      const states = this.deps.live.people.flatMap((person) => {
        const userId = this.deps.live.userIdOf(person.email);
        return userId ? [{ userId, state: auditedOf(person), seq: this.lastSeq }] : [];
      });
      await this.deps.store.seedAudited(states);
      await this.deps.store.markAuditedSeeded();
    }
  }

  /** Polls for other replicas' writes every `everyMs` (a second by default). */
  startPolling(everyMs = 1000): void {
    this.stopPolling();
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.deps.log.warn({ err }, 'directory refresh failed'));
    }, everyMs);
    this.timer.unref();
  }

  stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Catches up with writes other replicas made: one read of the counter when nothing changed. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const current = await this.deps.store.currentSeq();
        if (current > this.lastSeq) await this.catchUp(Math.max(0, this.lastSeq - OVERLAP));
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /**
   * The reaction to a write about to be stored, to store with it: the people of `userIds` (the
   * user written, or a group's members before and after). Performed after the write, it audits
   * what changed for them since the audit trail last recorded them: a crash in between leaves it
   * to the worker, which catches up with the directory first.
   */
  reaction(userIds: readonly string[], source: string, reason: DirectoryReaction['reason']): PendingEffect<DirectoryReaction> {
    return this.deps.outbox.effect<DirectoryReaction>(DIRECTORY_REACT_EFFECT, { source, reason, users: [...new Set(userIds)] });
  }

  /** Applies a user this process just stored with `reaction`, and performs the reaction. */
  async userWritten(doc: UserDoc, reaction: PendingEffect<DirectoryReaction>): Promise<void> {
    this.applyUser(doc);
    await this.deps.outbox.settle({ kind: DIRECTORY_USER_HOLDER, id: doc._id }, [reaction], 'directory.reacted');
  }

  /** Applies a group this process just stored with `reaction`, and performs the reaction. */
  async groupWritten(doc: GroupDoc, reaction: PendingEffect<DirectoryReaction>): Promise<void> {
    this.applyGroup(doc);
    await this.deps.outbox.settle({ kind: DIRECTORY_GROUP_HOLDER, id: doc._id }, [reaction], 'directory.reacted');
  }

  /** Links a chat identity found by a verified e-mail, for good (later look-ups go by the id). */
  async link(kind: 'slack' | 'teams', id: string, email: string): Promise<void> {
    const seq = await this.deps.store.nextSeq();
    const link = { kind, id: kind === 'teams' ? id.toLowerCase() : id, email: email.toLowerCase(), seq };
    await this.deps.store.putLink(link);
    this.applyLink({ _id: `${kind}:${link.id}`, ...link });
  }

  private async seedPerson(person: Person): Promise<void> {
    const now = this.clock();
    const resource: Resource = {
      userName: person.email,
      displayName: person.name,
      active: true,
      emails: [{ value: person.email, type: 'work', primary: true }],
      ...(person.timeZone ? { timezone: person.timeZone } : {}),
      ...(person.slackUserId || person.teamsAadObjectId || person.preferredChannel
        ? {
            [SCHEMA_ROSTER]: {
              ...(person.slackUserId ? { slackUserId: person.slackUserId } : {}),
              ...(person.teamsAadObjectId ? { teamsAadObjectId: person.teamsAadObjectId } : {}),
              ...(person.preferredChannel ? { preferredChannel: person.preferredChannel } : {}),
            },
          }
        : {}),
    };
    const upn = person.teamsUpn && person.teamsUpn !== person.email ? person.teamsUpn : undefined;
    if (upn) resource.userName = upn;
    await this.deps.store.insertUser({
      _id: randomUUID(),
      userNameKey: String(resource.userName).toLowerCase(),
      emailKey: person.email,
      displayNameKey: person.name.toLowerCase(),
      emailValues: [person.email],
      emailTyped: [`work:${person.email}`],
      active: true,
      resource: JSON.stringify(resource),
      seed: { roles: person.roles, businessUnit: person.businessUnit, ...(person.manager ? { manager: person.manager } : {}) },
      created: now,
      lastModified: now,
      version: 1,
      seq: await this.deps.store.nextSeq(),
    });
  }

  private async catchUp(since: number): Promise<void> {
    const changes = await this.deps.store.changesSince(since);
    // Users first, so that groups and links find the people they name.
    for (const doc of changes.users.sort((a, b) => a.seq - b.seq)) this.applyUser(doc);
    for (const doc of changes.groups.sort((a, b) => a.seq - b.seq)) this.applyGroup(doc);
    for (const doc of changes.links.sort((a, b) => a.seq - b.seq)) this.applyLink(doc);
  }

  private fresh(key: string, seq: number): boolean {
    this.lastSeq = Math.max(this.lastSeq, seq);
    if ((this.applied.get(key) ?? 0) >= seq) return false;
    this.applied.set(key, seq);
    return true;
  }

  private applyUser(doc: UserDoc): PersonChange[] {
    if (!this.fresh(`u:${doc._id}`, doc.seq)) return [];
    return doc.deleted ? this.deps.live.removeUser(doc._id) : this.deps.live.putUser(directoryUserOf(doc));
  }

  private applyGroup(doc: GroupDoc): PersonChange[] {
    if (!this.fresh(`g:${doc._id}`, doc.seq)) return [];
    if (doc.deleted) return this.deps.live.removeGroup(doc._id);
    const displayName = String((JSON.parse(doc.resource) as Resource).displayName ?? '');
    return this.deps.live.putGroup({ id: doc._id, displayName, members: doc.members });
  }

  private applyLink(doc: LinkDoc): void {
    if (!this.fresh(`l:${doc._id}`, doc.seq)) return;
    this.deps.live.putLink({ kind: doc.kind, id: doc.id, email: doc.email });
  }

  /**
   * Audits what changed for each person a write may have changed since the audit trail last
   * recorded them (their audited state, not how the writer saw them: a reaction performed late,
   * or with another replica's view, would record a later write's change again), and hands leavers
   * and lost roles to the scheduler. Each move of a person's audited state is claimed by one
   * compare-and-set, recorded under keys naming the person and the move (so whoever finishes a
   * claimed move, or performs it again after a crash, records and schedules it once), then
   * completed. A reaction that finds nothing changed since the audited state does nothing.
   */
  private async react({ source, reason, users, before }: DirectoryReaction): Promise<void> {
    // The worker of another process (or after a restart) sees the write once it has caught up.
    await this.refresh();
    let todo = [...new Set(users ?? (before ?? []).map(({ userId }) => userId))];
    for (let attempt = 0; todo.length > 0; attempt++) {
      if (attempt >= AUDIT_ATTEMPTS) throw new Error(`the audited state of ${todo.length} directory user(s) kept changing`);
      const stored = new Map((await this.deps.store.auditedStates(todo)).map((doc) => [doc._id, doc] as const));
      const again: string[] = [];
      let behind = false;
      for (const userId of todo) {
        const doc = stored.get(userId);
        if (doc?.pending) {
          // A move claimed by a reaction that died (or is still at it): finished once, then ours.
          await this.record(userId, doc.n + 1, doc.pending);
          await this.deps.store.completeAudited(doc);
          again.push(userId);
          continue;
        }
        // Never audited: provisioned after audited states were seeded, so no person before it.
        const from = doc ? doc.state : null;
        const seq = this.lastSeq;
        if (doc && seq < doc.seq) {
          // Audited from a newer view than ours: an older one never moves it back, so catch up and
          // measure again. Skipping would lose this write's change when that view lacked it (its
          // number taken before the auditor's write, stored after the auditor last looked).
          behind = true;
          again.push(userId);
          continue;
        }
        const to = auditedOf(this.deps.live.personOfUser(userId));
        if (sameAudited(from, to)) continue;
        const pending = { from, to, seq, source, reason };
        if (!(await this.deps.store.claimAudited(userId, doc, pending))) {
          again.push(userId);
          continue;
        }
        const n = doc ? doc.n : 0;
        await this.record(userId, n + 1, pending);
        await this.deps.store.completeAudited({ _id: userId, n, seq: doc?.seq ?? 0, state: from, pending });
      }
      todo = again;
      if (behind) await this.refresh();
    }
  }

  /** Audits one move of a person's audited state and queues its job, keyed by the user and the move. */
  private async record(
    userId: string,
    move: number,
    { from: before, to: after, source, reason }: NonNullable<AuditedDoc['pending']>,
  ): Promise<void> {
    if (!before && !after) return;
    const actor = { kind: 'system' as const, name: 'scim' };
    const email = (before ?? after)!.email;
    const subject = { type: 'person', id: email };
    const key = `directory:${userId}:${move}`;
    const append = (entry: AuditInput) => this.deps.audit.append(entry, { key });
    if (before && !after) {
      await append({
        actor,
        action: 'directory.person-left',
        subject,
        details: { email, reason, source, ...(before.manager ? { manager: before.manager } : {}), roles: before.roles },
      });
      await this.deps.schedule({ kind: 'leaver', email, source, reason, ...(before.manager ? { manager: before.manager } : {}) }, key);
    } else if (!before && after) {
      // Joining without roles (every new user: memberships follow by group writes) changes no
      // one's authority; what does (roles, leaving) is audited. Keeps bulk provisioning off the chain.
      if (after.roles.length === 0) {
        this.deps.log.info({ email, source }, 'person provisioned');
        return;
      }
      await append({ actor, action: 'directory.person-joined', subject, details: { email, roles: after.roles, source } });
    } else if (before && after && before.email === after.email) {
      const removed = before.roles.filter((r) => !after.roles.includes(r));
      const added = after.roles.filter((r) => !before.roles.includes(r));
      if (removed.length === 0 && added.length === 0 && before.businessUnit === after.businessUnit) return;
      await append({
        actor,
        action: 'directory.roles-changed',
        subject,
        details: { email, added, removed, businessUnit: after.businessUnit, source },
      });
      if (removed.length > 0) await this.deps.schedule({ kind: 'roles-removed', email, roles: removed, source }, key);
    }
  }
}
