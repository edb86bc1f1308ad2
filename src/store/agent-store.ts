import { OUTBOX_FIELD, toStored, withEffects, withoutOutbox } from './outbox-store.js';
import { Schema, type Connection } from 'mongoose';
import type { AgentCredential, AgentFilter, AgentRecord, AgentRepository, GrantRecord, GrantRepository } from '../core/agents.js';
import { nameKey } from '../core/agents.js';
import { DuplicateError } from '../core/errors.js';
import type { PendingEffect } from '../core/ports.js';
import { isLiveStatus, type AgentStatus } from '../core/lifecycle.js';
import { pagesOf, readAllPages } from './paging.js';
import { telling } from './access-writes.js';
import { trustedId } from '../core/ids.js';
import { keyed } from './keyed.js';

const DUPLICATE_KEY = 11000;

/** How many documents a list reads per round trip (tests shrink it to prove nothing is cut). */
export interface PagingOptions {
  pageSize?: number;
}

/** An agent as stored, without its storage fields (name key, outbox). */
export function agentFromDoc(doc: Record<string, unknown>): AgentRecord {
  const { _id, liveNameKey: _k, outbox: _outbox, outboxLeaseUntil: _lease, ...rest } = doc;
  return { id: trustedId('AgentId', String(_id)), ...(rest as Omit<AgentRecord, 'id'>) };
}

/** A grant as stored, without its outbox. */
export function grantFromDoc({ _id, outbox: _outbox, outboxLeaseUntil: _lease, ...rest }: Record<string, unknown>): GrantRecord {
  return { id: trustedId('GrantId', String(_id)), ...(rest as Omit<GrantRecord, 'id'>) };
}

/**
 * Agents, one document each. Name uniqueness per business unit among live agents is a unique
 * index on `liveNameKey`, which is set to a unique tombstone once an agent is rejected or retired.
 */
export function createAgentRepository(
  connection: Connection,
  options: PagingOptions = {},
): AgentRepository & { ensureIndexes(): Promise<void> } {
  const schema = new Schema(
    {
      _id: String,
      liveNameKey: { type: String, unique: true },
      businessUnit: String,
      sponsors: [String],
      requestedBy: String,
      status: String,
    },
    { collection: 'agents', strict: false, minimize: false, versionKey: false },
  );
  schema.index({ sponsors: 1 });
  schema.index({ businessUnit: 1, status: 1 });
  // `find` pages in name order; requesters see their own agents through `requestedBy`.
  schema.index({ name: 1, _id: 1 });
  schema.index({ requestedBy: 1 });
  // `find`'s visibility rule is an $or; each branch needs an index or the whole query scans.
  schema.index({ 'proposedSponsors.email': 1 });
  schema.index({ catalogRoleId: 1, status: 1 });
  // Telemetry and token requests find the agent by its key's hash: one index look-up, never a scan.
  schema.index({ 'credentials.hash': 1 });
  const Agent = connection.models.Agent ?? connection.model('Agent', schema);

  const liveKey = (a: Pick<AgentRecord, 'businessUnit' | 'name' | 'status' | 'id'>) =>
    isLiveStatus(a.status) ? `${a.businessUnit}/${nameKey(a.name)}` : `${a.businessUnit}/${nameKey(a.name)}#${a.id}`;
  const fromDoc = agentFromDoc;
  const listQuery = (filter: Omit<AgentFilter, 'limit'>): Record<string, unknown> => {
    const query: Record<string, unknown> = {};
    if (filter.ids) query._id = { $in: filter.ids.map(String) };
    if (filter.sponsor) query.sponsors = String(filter.sponsor);
    if (filter.requestedBy) query.requestedBy = String(filter.requestedBy);
    if (filter.businessUnit) query.businessUnit = String(filter.businessUnit);
    if (filter.status) query.status = { $in: filter.status.map(String) };
    return query;
  };

  const repo: AgentRepository & { ensureIndexes(): Promise<void> } = {
    async ensureIndexes() {
      await Agent.init();
    },
    async insert(agent, effects = []) {
      const { id, ...rest } = withoutOutbox(agent as unknown as Record<string, unknown>) as unknown as AgentRecord;
      try {
        await keyed(Agent).insertOne({
          _id: id,
          liveNameKey: liveKey(agent),
          ...rest,
          ...(effects.length > 0 ? { [OUTBOX_FIELD]: effects.map(toStored) } : {}),
        });
      } catch (err) {
        if ((err as { code?: number }).code === DUPLICATE_KEY) {
          throw new DuplicateError(`There is already an agent called "${agent.name}" in ${agent.businessUnit}. Pick another name.`, {
            name: agent.name,
          });
        }
        throw err;
      }
    },
    async get(id) {
      if (typeof id !== 'string') return undefined;
      const doc = await keyed(Agent).findOne({ _id: id });
      return doc ? fromDoc(doc) : undefined;
    },
    async findByName(businessUnit, name) {
      const doc = await keyed(Agent).findOne({ liveNameKey: `${String(businessUnit)}/${nameKey(String(name))}` });
      return doc ? fromDoc(doc) : undefined;
    },
    async list(filter) {
      const docs = await readAllPages(keyed(Agent), listQuery(filter), {
        field: 'createdAt',
        ...(filter.limit ? { max: filter.limit } : {}),
        ...(options.pageSize ? { pageSize: options.pageSize } : {}),
      });
      return docs.map(fromDoc);
    },
    async *listPages(filter) {
      for await (const page of pagesOf(keyed(Agent), listQuery(filter), {
        field: 'createdAt',
        ...(options.pageSize ? { pageSize: options.pageSize } : {}),
      }))
        yield page.map(fromDoc);
    },
    async search(filter, page) {
      const and: Array<Record<string, unknown>> = [];
      if (filter.visibleTo) {
        and.push({
          $or: [
            { sponsors: String(filter.visibleTo.email) },
            { 'proposedSponsors.email': String(filter.visibleTo.email) },
            { requestedBy: String(filter.visibleTo.email) },
            { businessUnit: { $in: filter.visibleTo.businessUnits.map(String) } },
          ],
        });
      }
      if (filter.statuses) and.push({ status: { $in: filter.statuses.map(String) } });
      if (filter.roleIds) and.push({ catalogRoleId: { $in: filter.roleIds.map(String) } });
      if (filter.businessUnit) and.push({ businessUnit: String(filter.businessUnit) });
      if (filter.sponsor) and.push({ sponsors: String(filter.sponsor) });
      for (const ids of filter.idsIn ?? []) and.push({ _id: { $in: ids.map(String) } });
      if (filter.idsNotIn?.length) and.push({ _id: { $nin: filter.idsNotIn.map(String) } });
      if (filter.nameContains) {
        const escaped = String(filter.nameContains).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        and.push({ name: { $regex: escaped, $options: 'i' } });
      }
      const query = (and.length ? { $and: and } : {}) as never;
      const [docs, total] = await Promise.all([
        keyed(Agent).find(query).sort({ name: 1, _id: 1 }).skip(page.skip).limit(page.limit).toArray(),
        keyed(Agent).countDocuments(query),
      ]);
      return { agents: docs.map(fromDoc), total };
    },
    async transition(id, from, to, patch = {}, effects = []) {
      const current = await keyed(Agent).findOne({ _id: id });
      if (!current) return false;
      const now = new Date().toISOString();
      const next = { ...withoutOutbox(patch as Record<string, unknown>), status: to, statusChangedAt: now, updatedAt: now };
      const liveNameKey = liveKey({ businessUnit: current.businessUnit, name: current.name, status: to, id });
      const result = await keyed(Agent).updateOne({ _id: id, status: from }, withEffects({ $set: { ...next, liveNameKey } }, effects));
      return result.modifiedCount === 1;
    },
    async update(id, patch, effects = []) {
      const { id: _ignored, ...fields } = withoutOutbox(patch as Record<string, unknown>);
      await keyed(Agent).updateOne({ _id: id }, withEffects({ $set: { ...fields, updatedAt: new Date().toISOString() } }, effects));
    },
    async answerSponsorship(id, email, accept, effects = []) {
      const result = await keyed(Agent).updateOne(
        { _id: id, 'proposedSponsors.email': String(email) },
        withEffects(
          {
            $pull: { proposedSponsors: { email: String(email) } },
            ...(accept ? { $addToSet: { sponsors: String(email) } } : {}),
            $set: { updatedAt: new Date().toISOString() },
          },
          effects,
        ),
      );
      return result.modifiedCount === 1;
    },
    async proposeSponsor(id, proposal, effects = []) {
      const result = await keyed(Agent).updateOne(
        { _id: id, sponsors: { $ne: proposal.email }, 'proposedSponsors.email': { $ne: proposal.email } },
        withEffects({ $push: { proposedSponsors: { ...proposal } }, $set: { updatedAt: new Date().toISOString() } }, effects),
      );
      return result.modifiedCount === 1;
    },
    async addFirstCredential(id: string, credential: AgentCredential, effects: readonly PendingEffect[] = []) {
      const result = await keyed(Agent).updateOne(
        { _id: id, credentials: { $size: 0 } },
        withEffects({ $push: { credentials: credential } }, effects) as never,
      );
      return result.modifiedCount === 1;
    },
    async findByKeyHash(hash: string) {
      if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) return undefined;
      const doc = await keyed(Agent).findOne({ 'credentials.hash': hash });
      return doc ? fromDoc(doc) : undefined;
    },
    async replaceCredentials(
      id: string,
      expectedIds: string[],
      statuses: AgentStatus[],
      next: AgentCredential[],
      effects: readonly PendingEffect[] = [],
    ) {
      const filter: Record<string, unknown> = { _id: id, status: { $in: statuses.map(String) } };
      filter.credentials = { $size: expectedIds.length };
      if (expectedIds.length > 0) filter['credentials.id'] = { $all: expectedIds.map(String) };
      const result = await keyed(Agent).updateOne(
        filter as never,
        withEffects({ $set: { credentials: next, updatedAt: new Date().toISOString() } }, effects) as never,
      );
      return result.modifiedCount === 1;
    },
  };
  // Every write tells the connection's access listeners which agent it changed (src/store/access-writes.ts).
  const byId = (args: [string, ...unknown[]]) => [String(args[0])];
  return {
    ...repo,
    insert: telling(connection, repo.insert, ([agent]) => [agent.id]),
    transition: telling(connection, repo.transition, byId),
    update: telling(connection, repo.update, byId),
    answerSponsorship: telling(connection, repo.answerSponsorship, byId),
    proposeSponsor: telling(connection, repo.proposeSponsor, byId),
    addFirstCredential: telling(connection, repo.addFirstCredential, byId),
    replaceCredentials: telling(connection, repo.replaceCredentials, byId),
  };
}

export function createGrantRepository(
  connection: Connection,
  options: PagingOptions = {},
): GrantRepository & { ensureIndexes(): Promise<void> } {
  const schema = new Schema(
    { _id: String, agentId: String, status: String, expiresAt: String },
    { collection: 'grants', strict: false, versionKey: false },
  );
  schema.index({ agentId: 1, status: 1 });
  schema.index({ status: 1, expiresAt: 1 });
  schema.index({ scope: 1, status: 1 });
  const Grant = connection.models.Grant ?? connection.model('Grant', schema);
  const fromDoc = grantFromDoc;
  const repo: GrantRepository & { ensureIndexes(): Promise<void> } = {
    async ensureIndexes() {
      await Grant.init();
    },
    async insertMany(grants: GrantRecord[]) {
      for (const grant of grants) {
        const { id, ...rest } = grant;
        await keyed(Grant).updateOne({ _id: id }, { $setOnInsert: rest }, { upsert: true });
      }
    },
    async insert(grant, effects = []) {
      const { id, ...rest } = grant;
      const result = await keyed(Grant).updateOne(
        { _id: id },
        { $setOnInsert: { ...rest, ...(effects.length > 0 ? { [OUTBOX_FIELD]: effects.map(toStored) } : {}) } },
        { upsert: true },
      );
      return result.upsertedCount === 1;
    },
    async holdersOf(scope) {
      return (await keyed(Grant).distinct('agentId', { scope: String(scope), status: 'active' })).map((id) => trustedId('AgentId', id));
    },
    async listForAgent(agentId) {
      const docs = await keyed(Grant).find({ agentId: agentId }).toArray();
      return docs.map(fromDoc);
    },
    async get(id) {
      const doc = await keyed(Grant).findOne({ _id: id });
      return doc ? fromDoc(doc) : undefined;
    },
    async list(filter) {
      const query: Record<string, unknown> = {};
      if (filter.agentIds) query.agentId = { $in: filter.agentIds.map(String) };
      if (filter.status) query.status = { $in: filter.status.map(String) };
      if (filter.source) query.source = String(filter.source);
      if (filter.reviewCycle) query['review.cycle'] = String(filter.reviewCycle);
      if (filter.requestedBy) query.requestedBy = String(filter.requestedBy);
      return (
        await readAllPages(keyed(Grant), query, { field: 'createdAt', ...(options.pageSize ? { pageSize: options.pageSize } : {}) })
      ).map(fromDoc);
    },
    async transition(id, from, patch, effects = []) {
      const { id: _ignored, ...fields } = withoutOutbox(patch as Record<string, unknown>);
      const result = await keyed(Grant).updateOne({ _id: id, status: { $in: from.map(String) } }, withEffects({ $set: fields }, effects));
      if (result.modifiedCount !== 1) return undefined;
      const doc = await keyed(Grant).findOne({ _id: id });
      return doc ? fromDoc(doc) : undefined;
    },
    async markReminded(id, offsetMs, effects = []) {
      const result = await keyed(Grant).updateOne(
        { _id: id, status: 'active', remindedBefore: { $ne: offsetMs } },
        withEffects({ $addToSet: { remindedBefore: offsetMs } }, effects) as never,
      );
      return result.modifiedCount === 1;
    },
    async answerReview(id, cycle, answer, effects = []) {
      const result = await keyed(Grant).updateOne(
        { _id: id, 'review.cycle': String(cycle), 'review.answer': { $exists: false } },
        withEffects({ $set: { 'review.answer': answer.answer, 'review.by': answer.by, 'review.at': answer.at } }, effects),
      );
      return result.modifiedCount === 1;
    },
  };
  // Every write tells the connection's access listeners which agent's grants it changed; a grant
  // named by its id tells its agent once read back, and any agent when it is not (nothing changed, or a failure).
  return {
    ...repo,
    insertMany: telling(connection, repo.insertMany, ([grants]) => grants.map((g) => g.agentId)),
    insert: telling(connection, repo.insert, ([grant]) => [grant.agentId]),
    transition: telling(connection, repo.transition, (_args, grant) => [grant?.agentId]),
    markReminded: telling(connection, repo.markReminded, () => undefined),
    answerReview: telling(connection, repo.answerReview, () => undefined),
  };
}
