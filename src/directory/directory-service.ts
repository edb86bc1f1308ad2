import { randomUUID } from 'node:crypto';
import type { LiveDirectory, DirectoryUser, PersonChange } from '../config/live-directory.js';
import type { Person } from '../config/schemas.js';
import type { AuditInput, AuditLog } from '../core/audit.js';
import type { Outbox } from '../core/outbox.js';
import type { PendingEffect } from '../core/ports.js';
import type { Logger } from '../logger.js';
import type { DirectoryStore, GroupDoc, LinkDoc, UserDoc } from '../store/directory-store.js';
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

/** Data of a {@link DIRECTORY_REACT_EFFECT}: the people a write may change, as they were just before it. */
export interface DirectoryReaction {
  source: string;
  reason: 'deactivated' | 'deleted';
  before: Array<{ userId: string; person?: Person }>;
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
      perform: (data, { effectId }) => this.react(data, effectId),
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
   * user written, or a group's members before and after) as they are now. Performed after the
   * write, it compares them with the people they have become: a crash in between leaves it to the
   * worker, which catches up with the directory first.
   */
  reaction(userIds: readonly string[], source: string, reason: DirectoryReaction['reason']): PendingEffect<DirectoryReaction> {
    const before = [...new Set(userIds)].map((userId) => {
      const person = this.deps.live.personOfUser(userId);
      return { userId, ...(person ? { person } : {}) };
    });
    return this.deps.outbox.effect<DirectoryReaction>(DIRECTORY_REACT_EFFECT, { source, reason, before });
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
   * Audits what a write changed for each person it may have changed, and hands leavers and lost
   * roles to the scheduler: each keyed by the effect and the person, so performing it again
   * (a crash after part of it) records and schedules each once.
   */
  private async react({ source, reason, before: people }: DirectoryReaction, effectId: string): Promise<void> {
    // The worker of another process (or after a restart) sees the write once it has caught up.
    await this.refresh();
    const actor = { kind: 'system' as const, name: 'scim' };
    for (const { userId, person: before } of people) {
      const after = this.deps.live.personOfUser(userId);
      if (!before && !after) continue;
      const email = (before ?? after)!.email;
      const subject = { type: 'person', id: email };
      const key = `${effectId}:${userId}`;
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
          continue;
        }
        await append({ actor, action: 'directory.person-joined', subject, details: { email, roles: after.roles, source } });
      } else if (before && after && before.email === after.email) {
        const removed = before.roles.filter((r) => !after.roles.includes(r));
        const added = after.roles.filter((r) => !before.roles.includes(r));
        if (removed.length === 0 && added.length === 0 && before.businessUnit === after.businessUnit) continue;
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
}
