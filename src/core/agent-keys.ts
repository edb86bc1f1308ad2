import { timingSafeEqual } from 'node:crypto';
import { displayDate } from './time.js';
import type { OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail } from '../config/directory.js';
import { AGENT_HOLDER, issueTelemetryKey, sha256, type AgentCredential, type AgentRecord, type AgentRepository } from './agents.js';
import type { AuditInput, AuditLog } from './audit.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import type { Outbox } from './outbox.js';
import { ConflictError, InvalidTransitionError, NotFoundError, NotWaitingError, UnknownPersonError } from './errors.js';
import type { AgentStatus } from './lifecycle.js';
import type { Notifier, OutgoingCard } from './notifications.js';
import type { KeyCache } from './key-cache.js';
import { assertMayRevokeKeys } from './policies.js';
import type { AgentId, RunId } from './ids.js';

/*
 * An agent's keys: the one-time key issued at onboarding, rotation with a grace period, a new key
 * when the first one never arrived, revocation, and the one check every door uses to accept a key.
 * Only hashes are stored; a key is shown once, to one person, and never logged or audited.
 *
 * The audit entry of each change is stored in the agent's outbox with the credentials it records.
 * The key itself never goes into the outbox (it would sit in the database in clear until performed):
 * its one-time card is sent directly by the writer, and a crash before it is sent leaves a key
 * nobody saw, which **Issue a new key** / **Rotate key** replace.
 */

/** Why a presented key was refused. */
export type KeyRefusal =
  /** Not a Roster key at all (wrong shape). */
  | 'malformed'
  /** No agent holds a key with this hash. */
  | 'unknown'
  /** Revoked (retirement, a new key issued after a failed delivery, or explicitly). */
  | 'revoked'
  /** Replaced by **Rotate key** and past its grace period. */
  | 'rotated-out'
  /** The agent is retired or was rejected: none of its keys work. */
  | 'agent-retired';

/** The answer of {@link AgentKeys.verifyAgentKey}. */
export type KeyVerification =
  | { ok: true; agent: AgentRecord; credential: AgentCredential }
  | { ok: false; reason: KeyRefusal; agent?: AgentRecord; credential?: AgentCredential };

/** A key just issued: the secret (show it once, to one person) and what is stored of it. */
export interface IssuedKey {
  agentId: AgentId;
  key: string;
  credential: AgentCredential;
  /** The keys it replaced, with the time each stops working (now for revoked ones). */
  replaced: Array<{ credentialId: string; prefix: string; validUntil: string }>;
}

/** Statuses in which an agent's keys may be rotated or re-issued. */
const MANAGEABLE: AgentStatus[] = ['active', 'probation', 'suspended'];

/** Whether an agent in this status can get a new key (not while requested, retiring, retired or rejected). */
export function keysManageable(status: AgentStatus): boolean {
  return MANAGEABLE.includes(status);
}

/** A presented key is at most this long; anything longer is refused before hashing. */
const MAX_KEY_LENGTH = 512;

export interface AgentKeysDeps {
  org: OrgConfig;
  agents: AgentRepository;
  audit: AuditLog;
  notifier: Notifier;
  /** Where each key change's audit entry is stored with the change (never the key). */
  outbox: Outbox;
  /** The cards that show a key once or say it was not delivered. */
  cards: AgentKeyCards;
  clock: () => Date;
  /** Where a failed key delivery is reported for IT (never with the key). */
  log?: { warn(facts: Record<string, unknown>, message: string): void };
  /**
   * Recently looked-up keys for {@link AgentKeys.verifyAgentKey} with `cached` (the telemetry
   * door); the store drops an agent's entries on every write to it (src/store/index.ts).
   */
  keyCache?: KeyCache;
}

// The key rules live with every other who-may rule; re-exported for the importers of this module.
export { mayReissueKey, mayRotateKey } from './policies.js';

/** Two SHA-256 hex digests compared in constant time. */
function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === 32 && x.length === y.length && timingSafeEqual(x, y);
}

const live = (k: AgentCredential, now: Date) => !k.revokedAt && !(k.expiresAt && Date.parse(k.expiresAt) <= now.getTime());

/** Presenter port: the cards about agent keys (src/views/agent-key-cards.ts). */
export interface AgentKeyCards {
  /** Shows a key once, to the person who asked for it (or the requester at onboarding). */
  oneTimeKey(agent: Pick<AgentRecord, 'id' | 'name'>, key: string, title: string, intro?: string): OutgoingCard;
  /** Tells the requester and sponsors that the onboarding key was not delivered, with a button to issue a new one. */
  undelivered(agent: Pick<AgentRecord, 'id' | 'name'>, credentialId: string, requesterName: string, reason: string): OutgoingCard;
}

/**
 * Issuing, rotating, re-issuing, revoking and verifying agent keys. Every change is a
 * compare-and-set on the agent's credentials, so two clicks at once issue one key, and is audited
 * with the credential's id and prefix, never the key.
 */
export class AgentKeys {
  constructor(private readonly deps: AgentKeysDeps) {}

  /**
   * The one check for a presented agent key (telemetry, OAuth client secret): an indexed look-up
   * by the key's SHA-256 hash. `ok` means the key is current and the agent is neither retired nor
   * rejected; callers decide what the agent's status allows (e.g. no token while suspended).
   * `cached` (telemetry only) may answer from the key cache: a change made by another replica is
   * seen after at most the cache's lifetime. `known` (the token endpoint) is the record of the agent
   * the caller claims to be, as the caller read it (the agent API's live access, bounded the same
   * way): a key among its credentials is decided from it; any other key is looked up, so a key
   * issued a moment ago by another replica is never refused for being unknown to that record.
   */
  async verifyAgentKey(secret: string, options: { cached?: boolean; known?: AgentRecord } = {}): Promise<KeyVerification> {
    if (typeof secret !== 'string' || secret.length < 8 || secret.length > MAX_KEY_LENGTH || /\s/.test(secret)) {
      return { ok: false, reason: 'malformed' };
    }
    const hash = sha256(secret);
    const held = options.known?.credentials.find((k) => sameHash(k.hash, hash));
    if (options.known && held) return this.verdict(options.known, held);
    const cache = options.cached ? this.deps.keyCache : undefined;
    const hit = cache?.get(hash);
    if (hit) return this.verdict(hit.agent, hit.credential);
    const started = cache?.begin() ?? 0;
    const agent = await this.deps.agents.findByKeyHash(hash);
    const credential = agent?.credentials.find((k) => k.hash === hash);
    if (!agent || !credential) return { ok: false, reason: 'unknown' };
    cache?.set(hash, started, agent, credential);
    return this.verdict(agent, credential);
  }

  /** The verdict on a found key, decided at every use (a cached key's grace period ends on time). */
  private verdict(agent: AgentRecord, credential: AgentCredential): KeyVerification {
    if (agent.status === 'retired' || agent.status === 'rejected') return { ok: false, reason: 'agent-retired', agent, credential };
    if (credential.revokedAt) return { ok: false, reason: 'revoked', agent, credential };
    if (credential.expiresAt && Date.parse(credential.expiresAt) <= this.deps.clock().getTime()) {
      return { ok: false, reason: 'rotated-out', agent, credential };
    }
    return { ok: true, agent, credential };
  }

  /**
   * The onboarding key, exactly once per agent, sent to the requester. When it cannot be delivered
   * (no channel reaches them, or the platform refused the message) the requester and the sponsors
   * are told on whichever channel works, with **Issue a new key**; the key itself is never resent.
   */
  async issueOnboardingKey(input: { agentId: AgentId; agentName: string; requester: string; sponsors: string[]; runId: RunId }) {
    const now = this.deps.clock();
    const { key, credential } = issueTelemetryKey(input.agentId, now);
    const effects = [
      this.audited({
        actor: { kind: 'system', name: 'flow-engine' },
        action: 'credential.issued',
        subject: { type: 'agent', id: input.agentId, agentId: input.agentId },
        details: { credentialId: credential.id, prefix: credential.prefix },
      }),
    ];
    if (!(await this.deps.agents.addFirstCredential(input.agentId, credential, effects))) return;
    await this.deps.outbox.settle({ kind: AGENT_HOLDER, id: input.agentId }, effects, 'credential.issued');
    // The key is sent directly, never stored for a retry (see the module comment).
    let failure: string | undefined;
    try {
      const ref = await this.deps.notifier.send(
        input.requester,
        this.deps.cards.oneTimeKey({ id: input.agentId, name: input.agentName }, key, `${input.agentName} is onboarded: its telemetry key`),
      );
      if (!ref) failure = 'no chat channel reaches the requester';
    } catch (err) {
      failure = describeFailure(err);
    }
    if (failure) await this.deliveryFailed(input, credential, failure);
  }

  /**
   * **Rotate key**: a new key for a sponsor or IT admin, shown once to them; the previous keys keep
   * working for the organisation's `keyRotationGrace` (`graceMs` overrides it; 0 revokes them now).
   * `agent` is {@link keyed}'s, and who may is the `agent.key.rotate` command's rule, asked before.
   */
  async rotateKey(actor: Person, agent: AgentRecord, options: { graceMs?: number } = {}): Promise<IssuedKey> {
    const graceMs = Math.max(0, options.graceMs ?? this.deps.org.settings.keyRotationGrace.ms);
    return this.replace(actor, agent, graceMs, 'credential.rotated', (credential, replaced) => ({
      actor: { kind: 'person', email: actor.email },
      action: 'credential.rotated',
      subject: { type: 'agent', id: agent.id, agentId: agent.id },
      details: { credentialId: credential.id, prefix: credential.prefix, graceMs, replaced },
    }));
  }

  /**
   * **Issue a new key** after the onboarding key was not delivered: the undelivered key (and any
   * other) is revoked at once, the new one is shown to the clicker only. `replacing` is the
   * credential the button was offered for: once someone has replaced it, a second click issues nothing.
   * `agent` is {@link keyed}'s, and who may is the `agent.key.reissue` command's rule, asked before.
   */
  async reissueKey(actor: Person, agent: AgentRecord, replacing?: string): Promise<IssuedKey> {
    if (replacing && !agent.credentials.some((k) => k.id === replacing && !k.revokedAt)) {
      const newer = agent.credentials.filter((k) => !k.revokedAt).at(-1);
      const by = newer?.issuedBy ? (findPersonByEmail(this.deps.org, newer.issuedBy)?.name ?? newer.issuedBy) : 'someone';
      throw new NotWaitingError(
        `${agent.name} already has a new key: ${by} got it${newer ? ` on ${displayDate(newer.issuedAt)}` : ''}. Ask them, or use Rotate key on its profile.`,
        { agentId: agent.id },
      );
    }
    return this.replace(actor, agent, 0, 'credential.reissued', (credential, replaced) => ({
      actor: { kind: 'person', email: actor.email },
      action: 'credential.reissued',
      subject: { type: 'agent', id: agent.id, agentId: agent.id },
      details: { credentialId: credential.id, prefix: credential.prefix, revoked: replaced.map((r) => r.credentialId) },
    }));
  }

  /** Revokes every key of the agent now (e.g. a leaked key); audited. Returns how many were live. */
  async revokeKeys(actorEmail: string, agentId: AgentId, reason: string): Promise<number> {
    const { actor, agent } = await this.load(actorEmail, agentId);
    assertMayRevokeKeys(actor, agent);
    const now = this.deps.clock();
    const revoked = agent.credentials.filter((k) => !k.revokedAt);
    const next = agent.credentials.map((k) => (k.revokedAt ? k : { ...k, revokedAt: now.toISOString() }));
    const statuses: AgentStatus[] = [agent.status];
    const effects = [
      this.audited({
        actor: { kind: 'person', email: actor.email },
        action: 'credential.revoked',
        subject: { type: 'agent', id: agent.id, agentId: agent.id },
        details: { credentialIds: revoked.map((k) => k.id), reason: String(reason).slice(0, 500) },
      }),
    ];
    if (!(await this.deps.agents.replaceCredentials(agent.id, ids(agent), statuses, next, effects))) throw new ConflictError(agent.id);
    await this.deps.outbox.settle({ kind: AGENT_HOLDER, id: agent.id }, effects, 'credential.revoked');
    return revoked.filter((k) => live(k, now)).length;
  }

  /** An agent that may get a new key (active, on probation or suspended); refused "not found" or in the wrong status. */
  async keyed(agentId: AgentId): Promise<AgentRecord> {
    const agent = await this.deps.agents.get(agentId);
    if (!agent) throw new NotFoundError('the agent', agentId);
    if (!MANAGEABLE.includes(agent.status)) throw new InvalidTransitionError(`${agent.name}'s key`, agent.status, 'a new key');
    return agent;
  }

  /** The person revoking and the agent, whatever its status ({@link keyed} is the check of one that may get a new key). */
  private async load(actorEmail: string, agentId: AgentId): Promise<{ actor: Person; agent: AgentRecord }> {
    const actor = findPersonByEmail(this.deps.org, String(actorEmail));
    if (!actor) throw new UnknownPersonError(String(actorEmail));
    const agent = await this.deps.agents.get(agentId);
    if (!agent) throw new NotFoundError('the agent', agentId);
    return { actor, agent };
  }

  /** An audit entry to store in the agent's outbox with the change it records. */
  private audited(entry: AuditInput) {
    return this.deps.outbox.effect<AuditInput>(AUDIT_EFFECT, { ...entry, at: this.deps.clock() });
  }

  /**
   * Adds a new key and retires the current ones (after `graceMs`, or now), atomically against the
   * agent read, with the audit entry `entry` builds (from the new credential, never the key).
   */
  private async replace(
    actor: Person,
    agent: AgentRecord,
    graceMs: number,
    label: string,
    entry: (credential: AgentCredential, replaced: IssuedKey['replaced']) => AuditInput,
  ): Promise<IssuedKey> {
    const now = this.deps.clock();
    const { key, credential } = issueTelemetryKey(agent.id, now);
    const until = new Date(now.getTime() + graceMs).toISOString();
    const replaced: IssuedKey['replaced'] = [];
    const kept = agent.credentials.map((k) => {
      if (!live(k, now)) return k;
      if (graceMs === 0) {
        replaced.push({ credentialId: k.id, prefix: k.prefix, validUntil: now.toISOString() });
        return { ...k, revokedAt: now.toISOString() };
      }
      // A key already rotated out keeps its earlier end: rotating twice never extends a grace period.
      const validUntil = k.expiresAt && k.expiresAt < until ? k.expiresAt : until;
      replaced.push({ credentialId: k.id, prefix: k.prefix, validUntil });
      return { ...k, expiresAt: validUntil };
    });
    const stored = { ...credential, issuedBy: actor.email };
    const next = [...kept, stored];
    const effects = [this.audited(entry(stored, replaced))];
    if (!(await this.deps.agents.replaceCredentials(agent.id, ids(agent), MANAGEABLE, next, effects))) throw new ConflictError(agent.id);
    await this.deps.outbox.settle({ kind: AGENT_HOLDER, id: agent.id }, effects, label);
    return { agentId: agent.id, key, credential: stored, replaced };
  }

  private async deliveryFailed(
    input: { agentId: AgentId; agentName: string; requester: string; sponsors: string[]; runId: RunId },
    credential: AgentCredential,
    reason: string,
  ): Promise<void> {
    this.deps.log?.warn(
      { agentId: input.agentId, credentialId: credential.id, recipient: input.requester, reason },
      'the one-time telemetry key could not be delivered; the requester and sponsors were offered a new one',
    );
    // The outcome of the direct one-time send above: nothing stored changes with it, so it is
    // appended and sent directly too (a crash here leaves the key unseen, and replaceable).
    await this.deps.audit.append({
      actor: { kind: 'system', name: 'flow-engine' },
      action: 'credential.delivery-failed',
      subject: { type: 'agent', id: input.agentId, agentId: input.agentId },
      details: { credentialId: credential.id, prefix: credential.prefix, recipient: input.requester, reason },
    });
    const requesterName = findPersonByEmail(this.deps.org, input.requester)?.name ?? input.requester;
    const card = this.deps.cards.undelivered({ id: input.agentId, name: input.agentName }, credential.id, requesterName, reason);
    for (const person of new Set([input.requester, ...input.sponsors])) {
      try {
        await this.deps.notifier.send(person, card);
      } catch (err) {
        this.deps.log?.warn(
          { agentId: input.agentId, recipient: person, reason: describeFailure(err) },
          'could not tell about an undelivered key',
        );
      }
    }
  }
}

const ids = (agent: AgentRecord) => agent.credentials.map((k) => k.id);

/** A short, secret-free reason for a failed delivery (the error's own fields may carry the request). */
function describeFailure(err: unknown): string {
  const e = err as { status?: unknown; statusCode?: unknown; response?: { status?: unknown }; code?: unknown; name?: unknown };
  const status = [e?.status, e?.statusCode, e?.response?.status].find((s) => typeof s === 'number');
  if (typeof status === 'number') return `the chat platform answered ${status}`;
  if (typeof e?.code === 'string' && /^[A-Z_]{2,40}$/.test(e.code)) return `the chat platform could not be reached (${e.code})`;
  return 'the chat platform refused the message';
}
