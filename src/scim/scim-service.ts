import { randomUUID } from 'node:crypto';
import { KeyedSerial } from '../core/keyed-serial.js';
import { scimPatch, type ScimPatchOperation } from 'scim-patch';
import type { DirectoryService } from '../directory/directory-service.js';
import { UniqueKeyError, type DirectoryStore, type GroupDoc, type UserDoc } from '../store/directory-store.js';
import { toStored } from '../store/outbox-store.js';
import type { PendingEffect } from '../core/ports.js';
import { filterToQuery } from './filter.js';
import {
  canonicalGroup,
  canonicalPath,
  canonicalUser,
  chatOf,
  checkSchemas,
  SCHEMA_ENTERPRISE,
  SCHEMA_GROUP,
  SCHEMA_LIST,
  SCHEMA_PATCH,
  SCHEMA_ROSTER,
  SCHEMA_USER,
  ScimError,
  userEmail,
  userSchemas,
  type Resource,
} from './resources.js';

/** The largest page a list returns (advertised as `filter.maxResults`). */
export const MAX_RESULTS = 200;
const MAX_OPERATIONS = 1000;
/**
 * Compare-and-set rounds on one user or group before a write is answered 409 (the identity
 * provider retries it). Writes in one process take turns (`turns`), so rounds are lost only to
 * other replicas; twelve lets the waits below add up to about 5 s.
 */
const CAS_ATTEMPTS = 12;
/**
 * Before each further round a write waits a random time up to 10 ms, doubled per round (at most
 * 1 s): the writes of a burst to one group (a PATCH per member added) spread out instead of
 * meeting again in lock-step, where each round lets one of them through.
 */
const CAS_BACKOFF = { baseMs: 10, maxMs: 1000 };
const contended = (attempt: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(CAS_BACKOFF.maxMs, CAS_BACKOFF.baseMs * 2 ** attempt)));

/** Paging and projection of a list request, as sent. */
export interface ListParams {
  filter?: string;
  startIndex?: string;
  count?: string;
  attributes?: string;
  excludedAttributes?: string;
}

/** Who wrote: the provisioning source recorded in the audit trail (e.g. "Okta"). */
export interface WriteContext {
  source: string;
  /** Base URL of the SCIM service (`https://roster.example.com/scim/v2`) for `location` and `$ref`. */
  base: string;
}

type Kind = 'User' | 'Group';

/**
 * SCIM 2.0 Users and Groups over the directory store (RFC 7644 §3): create, get, list with
 * filters and paging, replace, PATCH (Entra ID's and Okta's shapes, applied by scim-patch) and
 * delete. Every write is one compare-and-set on one document, so a request either happens
 * entirely or not at all; the live directory follows at once.
 */
export class ScimService {
  /** Writes to one user or group in this process, one at a time. */
  private readonly turns = new KeyedSerial();

  constructor(
    private readonly store: DirectoryStore,
    private readonly directory: DirectoryService,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  // ---- Users -------------------------------------------------------------------------------

  async createUser(body: unknown, ctx: WriteContext): Promise<Resource> {
    checkSchemas(body, 'User');
    const resource = canonicalUser(body);
    this.checkUser(resource);
    const now = this.clock();
    const doc = this.userDoc(randomUUID(), resource, now, now, 1, await this.store.nextSeq());
    const reaction = this.directory.reaction([doc._id], ctx.source, 'deactivated');
    doc.outbox = [toStored(reaction)];
    await this.unique(() => this.store.insertUser(doc), 'User');
    await this.directory.userWritten(doc, reaction);
    return this.renderUser(doc, ctx.base);
  }

  async getUser(id: string, base: string, params: ListParams = {}): Promise<Resource> {
    const doc = await this.store.getUser(id);
    if (!doc) throw notFound('User', id);
    return project(this.renderUser(doc, base), params);
  }

  async listUsers(params: ListParams, base: string): Promise<Resource> {
    const { query, skip, limit, startIndex } = this.listQuery(params, 'User');
    const page = await this.store.findUsers(query, skip, limit);
    return listResponse(
      page.total,
      startIndex,
      page.items.map((doc) => project(this.renderUser(doc, base), params)),
    );
  }

  async replaceUser(id: string, body: unknown, ctx: WriteContext): Promise<Resource> {
    checkSchemas(body, 'User');
    const resource = canonicalUser(body);
    this.checkUser(resource);
    const doc = await this.writeUser(id, () => resource, ctx);
    return this.renderUser(doc, ctx.base);
  }

  async patchUser(id: string, body: unknown, ctx: WriteContext): Promise<Resource> {
    const operations = patchOperations(body, 'User');
    const doc = await this.writeUser(
      id,
      (current) => {
        const patched = applyPatch({ ...current, schemas: [SCHEMA_USER, SCHEMA_ENTERPRISE, SCHEMA_ROSTER] }, operations);
        const resource = canonicalUser(patched);
        this.checkUser(resource);
        return resource;
      },
      ctx,
    );
    return this.renderUser(doc, ctx.base);
  }

  /** Hard delete (Entra ID after its 30-day soft delete; Okta never deletes users). */
  async deleteUser(id: string, ctx: WriteContext): Promise<void> {
    const doc = await this.writeUser(id, null, ctx);
    for (const group of await this.store.groupsWithMember(doc._id)) {
      await this.writeGroup(group._id, (current, members) => ({ resource: current, members: members.filter((m) => m !== id) }), ctx).catch(
        (err: unknown) => {
          if (!(err instanceof ScimError && err.status === 404)) throw err;
        },
      );
    }
  }

  // ---- Groups ------------------------------------------------------------------------------

  async createGroup(body: unknown, ctx: WriteContext): Promise<Resource> {
    checkSchemas(body, 'Group');
    const { resource, members } = this.splitGroup(canonicalGroup(body));
    const now = this.clock();
    const doc = this.groupDoc(randomUUID(), resource, members, now, now, 1, await this.store.nextSeq());
    const reaction = this.directory.reaction(members, ctx.source, 'deactivated');
    doc.outbox = [toStored(reaction)];
    await this.unique(() => this.store.insertGroup(doc), 'Group');
    await this.directory.groupWritten(doc, reaction);
    return this.renderGroup(doc, ctx.base);
  }

  async getGroup(id: string, base: string, params: ListParams = {}): Promise<Resource> {
    const doc = await this.store.getGroup(id);
    if (!doc) throw notFound('Group', id);
    return project(this.renderGroup(doc, base), params);
  }

  async listGroups(params: ListParams, base: string): Promise<Resource> {
    const { query, skip, limit, startIndex } = this.listQuery(params, 'Group');
    const page = await this.store.findGroups(query, skip, limit);
    return listResponse(
      page.total,
      startIndex,
      page.items.map((doc) => project(this.renderGroup(doc, base), params)),
    );
  }

  async replaceGroup(id: string, body: unknown, ctx: WriteContext): Promise<Resource> {
    checkSchemas(body, 'Group');
    const next = this.splitGroup(canonicalGroup(body));
    const doc = await this.writeGroup(id, () => next, ctx);
    return this.renderGroup(doc, ctx.base);
  }

  async patchGroup(id: string, body: unknown, ctx: WriteContext): Promise<void> {
    // Members are matched by id alone: Entra names them as {"$ref": null, "value": id}.
    const operations = patchOperations(body, 'Group').map((op) =>
      op.path === 'members' && Array.isArray(op.value)
        ? {
            ...op,
            value: (op.value as unknown[]).map((m) =>
              typeof m === 'object' && m !== null ? { value: (m as { value?: unknown }).value } : m,
            ),
          }
        : op,
    ) as ScimPatchOperation[];
    await this.writeGroup(
      id,
      (current, members) => {
        const patched = applyPatch({ ...current, members: members.map((value) => ({ value })), schemas: [SCHEMA_GROUP] }, operations);
        return this.splitGroup(canonicalGroup(patched));
      },
      ctx,
    );
  }

  async deleteGroup(id: string, ctx: WriteContext): Promise<void> {
    await this.writeGroup(id, null, ctx);
  }

  // ---- internals ---------------------------------------------------------------------------

  private checkUser(resource: Resource): void {
    if (!userEmail(resource))
      throw new ScimError(400, 'a user needs a work e-mail (emails) or an e-mail address as userName', 'invalidValue');
    const chat = chatOf(resource);
    if (chat?.slackUserId !== undefined && !/^[UW][A-Z0-9]{2,}$/.test(chat.slackUserId))
      throw new ScimError(400, `${SCHEMA_ROSTER}:slackUserId must be a Slack user id like "U024BE7LH"`, 'invalidValue');
    if (
      chat?.teamsAadObjectId !== undefined &&
      !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(chat.teamsAadObjectId)
    )
      throw new ScimError(400, `${SCHEMA_ROSTER}:teamsAadObjectId must be an Entra object id (GUID)`, 'invalidValue');
    if (chat?.preferredChannel !== undefined && !/^(slack|teams)$/i.test(chat.preferredChannel))
      throw new ScimError(400, `${SCHEMA_ROSTER}:preferredChannel must be "slack" or "teams"`, 'invalidValue');
  }

  private userDoc(id: string, resource: Resource, created: Date, now: Date, version: number, seq: number): UserDoc {
    const emails = ((resource.emails as Array<{ value?: string; type?: string }> | undefined) ?? []).filter((e) => e.value);
    const externalId = typeof resource.externalId === 'string' ? resource.externalId : undefined;
    return {
      _id: id,
      userNameKey: String(resource.userName).toLowerCase(),
      emailKey: userEmail(resource)!,
      ...(externalId !== undefined ? { externalId } : {}),
      displayNameKey: String(resource.displayName ?? '').toLowerCase(),
      emailValues: emails.map((e) => e.value!.toLowerCase()),
      emailTyped: emails.map((e) => `${(e.type ?? '').toLowerCase()}:${e.value!.toLowerCase()}`),
      active: resource.active !== false,
      resource: JSON.stringify(resource),
      created,
      lastModified: now,
      version,
      seq,
    };
  }

  private groupDoc(id: string, resource: Resource, members: string[], created: Date, now: Date, version: number, seq: number): GroupDoc {
    const externalId = typeof resource.externalId === 'string' ? resource.externalId : undefined;
    return {
      _id: id,
      displayNameKey: String(resource.displayName).toLowerCase(),
      ...(externalId !== undefined ? { externalId } : {}),
      resource: JSON.stringify(resource),
      members,
      created,
      lastModified: now,
      version,
      seq,
    };
  }

  /** Members are kept apart from the rest of a group; each must be a provisioned user. */
  private splitGroup(group: Resource): { resource: Resource; members: string[] } {
    const { members, ...resource } = group as Resource & { members?: Array<{ value?: string }> };
    const ids = [...new Set((members ?? []).map((m) => m.value).filter((v): v is string => typeof v === 'string'))];
    const unknown = ids.find((id) => !this.directory.live.user(id));
    if (unknown) throw new ScimError(400, `member "${unknown}" is not a provisioned user`, 'invalidValue');
    return { resource, members: ids };
  }

  /**
   * Read, change, compare-and-set (retried on a concurrent write); `change` null deletes. Writes
   * to one user in this process take turns, so only another replica's write can make one retry.
   * A seeded person keeps their people.yaml roles and unit through a user write unless `dropSeed`
   * (their first group membership change): see {@link keptSeed}.
   */
  private writeUser(
    id: string,
    change: ((current: Resource) => Resource) | null,
    ctx: WriteContext,
    options: { dropSeed?: boolean } = {},
  ): Promise<UserDoc> {
    return this.turns.run(`user:${id}`, () => this.casUser(id, change, ctx, options));
  }

  private async casUser(
    id: string,
    change: ((current: Resource) => Resource) | null,
    ctx: WriteContext,
    { dropSeed = false }: { dropSeed?: boolean },
  ): Promise<UserDoc> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const stored = await this.store.getUser(id);
      if (!stored) throw notFound('User', id);
      const now = this.clock();
      const seq = await this.store.nextSeq();
      let next: UserDoc;
      if (change === null) {
        next = {
          ...stored,
          deleted: true,
          active: false,
          userNameKey: `~${id}`,
          emailKey: `~${id}`,
          version: stored.version + 1,
          seq,
          lastModified: now,
        };
        delete next.seed;
      } else {
        next = this.userDoc(id, change(JSON.parse(stored.resource) as Resource), stored.created, now, stored.version + 1, seq);
        const seed = dropSeed ? undefined : keptSeed(stored.seed);
        if (seed) next.seed = seed;
      }
      // The reaction is stored with the write, beside the effects the user still holds.
      const reaction = this.directory.reaction([id], ctx.source, change === null ? 'deleted' : 'deactivated');
      next = withReaction(next, reaction);
      let written = false;
      await this.unique(async () => {
        written = await this.store.replaceUser(next, stored.version);
      }, 'User');
      if (!written) {
        await contended(attempt);
        continue;
      }
      await this.directory.userWritten(next, reaction);
      return next;
    }
    throw new ScimError(409, 'the user kept changing while this request was applied; retry', 'mutability');
  }

  /**
   * As {@link writeUser}, for a group: a burst of member adds to one group (a PATCH per member)
   * is applied in turn instead of meeting in lock-step on the group's version.
   */
  private writeGroup(
    id: string,
    change: ((current: Resource, members: string[]) => { resource: Resource; members: string[] }) | null,
    ctx: WriteContext,
  ): Promise<GroupDoc> {
    return this.turns.run(`group:${id}`, () => this.casGroup(id, change, ctx));
  }

  private async casGroup(
    id: string,
    change: ((current: Resource, members: string[]) => { resource: Resource; members: string[] }) | null,
    ctx: WriteContext,
  ): Promise<GroupDoc> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const stored = await this.store.getGroup(id);
      if (!stored) throw notFound('Group', id);
      const now = this.clock();
      const seq = await this.store.nextSeq();
      let next: GroupDoc;
      if (change === null) {
        next = { ...stored, deleted: true, displayNameKey: `~${id}`, members: [], version: stored.version + 1, seq, lastModified: now };
      } else {
        const { resource, members } = change(JSON.parse(stored.resource) as Resource, stored.members);
        next = this.groupDoc(id, resource, members, stored.created, now, stored.version + 1, seq);
      }
      // Only the members whose roles may change react: all of them when the group is renamed or deleted, else those added or removed.
      const renamed = next.displayNameKey !== stored.displayNameKey;
      const was = new Set(stored.members);
      const is = new Set(next.members);
      const affected = [...stored.members, ...next.members].filter((m) => renamed || !(was.has(m) && is.has(m)));
      const reaction = this.directory.reaction(affected, ctx.source, 'deactivated');
      next = withReaction(next, reaction);
      let written = false;
      await this.unique(async () => {
        written = await this.store.replaceGroup(next, stored.version);
      }, 'Group');
      if (!written) {
        await contended(attempt);
        continue;
      }
      await this.directory.groupWritten(next, reaction);
      // A seeded person in or out of a group is managed by the identity provider from now on:
      // their people.yaml roles are dropped for good (a user write stores no seed).
      const touched = new Set(
        [...stored.members, ...next.members].filter((m) => !(stored.members.includes(m) && next.members.includes(m))),
      );
      for (const userId of touched) {
        if (this.directory.live.user(userId)?.seed)
          await this.writeUser(userId, (current) => current, ctx, { dropSeed: true }).catch(() => undefined);
      }
      return next;
    }
    throw new ScimError(409, 'the group kept changing while this request was applied; retry', 'mutability');
  }

  private async unique(write: () => Promise<void>, kind: Kind): Promise<void> {
    try {
      await write();
    } catch (err) {
      if (!(err instanceof UniqueKeyError)) throw err;
      const what =
        kind === 'Group'
          ? 'a group with this displayName'
          : err.key === 'emailKey'
            ? 'a user with this e-mail'
            : 'a user with this userName';
      throw new ScimError(409, `${what} already exists`, 'uniqueness');
    }
  }

  private listQuery(params: ListParams, kind: Kind) {
    const startIndex = integerParam(params.startIndex, 'startIndex', 1);
    const count = Math.min(integerParam(params.count, 'count', 100), MAX_RESULTS);
    const query = params.filter !== undefined && params.filter.trim() !== '' ? filterToQuery(params.filter, kind) : {};
    return { query, skip: Math.max(1, startIndex) - 1, limit: Math.max(0, count), startIndex: Math.max(1, startIndex) };
  }

  private renderUser(doc: UserDoc, base: string): Resource {
    const resource = JSON.parse(doc.resource) as Resource;
    const groups = this.directory.live
      .groupsOf(doc._id)
      .map((g) => ({ value: g.id, display: g.displayName, $ref: `${base}/Groups/${g.id}` }));
    return {
      schemas: userSchemas(resource),
      id: doc._id,
      ...resource,
      active: doc.active,
      ...(groups.length ? { groups } : {}),
      meta: meta('User', doc, base),
    };
  }

  private renderGroup(doc: GroupDoc, base: string): Resource {
    const resource = JSON.parse(doc.resource) as Resource;
    return {
      schemas: [SCHEMA_GROUP],
      id: doc._id,
      ...resource,
      members: doc.members.map((value) => {
        const user = this.directory.live.user(value);
        return { value, ...(user ? { display: user.name } : {}), $ref: `${base}/Users/${value}`, type: 'User' };
      }),
      meta: meta('Group', doc, base),
    };
  }
}

function notFound(kind: Kind, id: string): ScimError {
  return new ScimError(404, `${kind} ${id} not found`);
}

function meta(kind: Kind, doc: { _id: string; created: Date; lastModified: Date; version: number }, base: string) {
  return {
    resourceType: kind,
    created: new Date(doc.created).toISOString(),
    lastModified: new Date(doc.lastModified).toISOString(),
    location: `${base}/${kind}s/${doc._id}`,
    version: `W/"${doc.version}"`,
  };
}

function integerParam(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d{1,9}$/.test(raw)) throw new ScimError(400, `${name} must be an integer`, 'invalidValue');
  return Number(raw);
}

function listResponse(total: number, startIndex: number, resources: Resource[]): Resource {
  return { schemas: [SCHEMA_LIST], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}

/** `attributes` / `excludedAttributes` (RFC 7644 §3.9) on top-level attributes; id, schemas and meta always stay. */
function project(resource: Resource, params: ListParams): Resource {
  const names = (raw?: string) =>
    (raw ?? '')
      .split(',')
      .map((a) => a.trim().toLowerCase())
      .filter(Boolean)
      .map((a) => a.replace(/^urn:ietf:params:scim:schemas:core:2\.0:(user|group):/, '').split(/[.[]/)[0]!);
  const keep = names(params.attributes);
  const drop = names(params.excludedAttributes);
  if (keep.length === 0 && drop.length === 0) return resource;
  const always = new Set(['id', 'schemas', 'meta']);
  return Object.fromEntries(
    Object.entries(resource).filter(([key]) => {
      const lower = key.toLowerCase();
      if (always.has(lower)) return true;
      if (keep.length > 0 && !keep.some((k) => k === lower || lower.startsWith(`${k}`))) return false;
      return !drop.includes(lower);
    }),
  );
}

/** Validates a PatchOp body (RFC 7644 §3.5.2) and canonicalises its operations. */
function patchOperations(body: unknown, kind: Kind): ScimPatchOperation[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ScimError(400, 'the body must be a PatchOp object', 'invalidSyntax');
  const { schemas, Operations } = Object.fromEntries(
    Object.entries(body).map(([k, v]) => [k.toLowerCase() === 'operations' ? 'Operations' : k, v]),
  ) as {
    schemas?: unknown;
    Operations?: unknown;
  };
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === SCHEMA_PATCH.toLowerCase()))
    throw new ScimError(400, `schemas must be ["${SCHEMA_PATCH}"]`, 'invalidSyntax');
  if (!Array.isArray(Operations) || Operations.length === 0)
    throw new ScimError(400, 'Operations must be a non-empty list', 'invalidSyntax');
  if (Operations.length > MAX_OPERATIONS) throw new ScimError(400, `at most ${MAX_OPERATIONS} operations per request`, 'tooMany');
  return Operations.map((raw, i): ScimPatchOperation => {
    if (typeof raw !== 'object' || raw === null) throw new ScimError(400, `Operations[${i}] must be an object`, 'invalidSyntax');
    const entries = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v])) as {
      op?: unknown;
      path?: unknown;
      value?: unknown;
    };
    const op = typeof entries.op === 'string' ? entries.op.toLowerCase() : undefined;
    if (op !== 'add' && op !== 'remove' && op !== 'replace')
      throw new ScimError(400, `Operations[${i}].op must be add, remove or replace`, 'invalidSyntax');
    if (entries.path !== undefined && typeof entries.path !== 'string')
      throw new ScimError(400, `Operations[${i}].path must be a string`, 'invalidPath');
    const path = entries.path === undefined || entries.path.trim() === '' ? undefined : canonicalPath(entries.path, kind);
    if (op === 'remove') {
      if (!path) throw new ScimError(400, `Operations[${i}]: remove needs a path`, 'noTarget');
      return { op, path, ...(entries.value !== undefined ? { value: entries.value } : {}) };
    }
    if (entries.value === undefined) throw new ScimError(400, `Operations[${i}]: ${op} needs a value`, 'invalidValue');
    if (!path && (typeof entries.value !== 'object' || entries.value === null || Array.isArray(entries.value)))
      throw new ScimError(400, `Operations[${i}]: ${op} without a path needs an object value`, 'invalidValue');
    return { op, ...(path ? { path } : {}), value: entries.value };
  });
}

/** Applies operations with scim-patch; its errors become 400s with the matching scimType. */
function applyPatch(resource: Resource, operations: ScimPatchOperation[]): Resource {
  try {
    return scimPatch({ ...resource, meta: { created: new Date(0), lastModified: new Date(0) } } as never, operations, {
      mutateDocument: false,
    }) as unknown as Resource;
  } catch (err) {
    const e = err as { name?: string; message?: string; scimType?: string; constructor?: { name?: string } };
    const name = e.constructor?.name ?? e.name ?? '';
    const scimType =
      name === 'NoTarget' ? 'noTarget' : name === 'InvalidScimPatchOp' || name === 'NoPathInScimPatchOp' ? 'invalidPath' : 'invalidValue';
    throw new ScimError(400, e.message ?? 'the patch cannot be applied', scimType);
  }
}

/**
 * The document to write over the stored one, with `reaction` as the effect to add: the store adds
 * it to the effects the record still holds, never writing those back (a copy read before would
 * bring back one performed and removed meanwhile, performed again later: it compared the person
 * before it with the person after this write, and audited and queued this write's change twice).
 */
function withReaction<T extends UserDoc | GroupDoc>(next: T, reaction: PendingEffect): T {
  const { outbox: _pending, outboxLeaseUntil: _lease, ...fields } = next;
  return { ...fields, outbox: [toStored(reaction)] } as T;
}

/**
 * What of people.yaml a user write keeps. The identity provider speaks of roles only through
 * group memberships, so a seeded person's roles (and their unit, which a `department` or a
 * group's unit overrides) stay until a membership change drops them for good: a write about
 * anything else (Entra setting their manager on its first sync) must not take an approver's role
 * away, which would re-route their waiting requests to whoever holds the role at that moment.
 * The manager is a user attribute the write itself carries, so people.yaml's is dropped.
 */
function keptSeed(seed: UserDoc['seed']): UserDoc['seed'] {
  return seed ? { roles: seed.roles, businessUnit: seed.businessUnit } : undefined;
}
