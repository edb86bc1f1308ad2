import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail } from '../config/directory.js';
import type { FlowEngine } from '../flows/engine.js';
import type { FlowRun, RunRepository, StepRegistry } from '../flows/types.js';
import type { AgentRecord, AgentRepository, GrantRepository, KnowledgeNote } from './agents.js';
import { AGENT_HOLDER, sha256 } from './agents.js';
import { canonicalJson, type AuditInput, type AuditLog } from './audit.js';
import { InvalidInputError, NotFoundError, RosterError, UnknownPersonError } from './errors.js';
import { canTransition, type AgentStatus } from './lifecycle.js';
import { agentRunContext, type AgentRunContext } from './run-context.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import { CHAT_SEND_EFFECT, type ChatSend } from './chat-effects.js';
import type { Outbox } from './outbox.js';
import type { PendingEffect } from './ports.js';
import { type AgentId, type RunId } from './ids.js';
import type { OutgoingCard } from './notifications.js';

/** An archive bundle as stored: the canonical JSON text and its SHA-256 digest. */
export interface ArchiveRecord {
  agentId: AgentId;
  digest: string;
  bundle: string;
  createdAt: string;
}

export interface ArchiveRepository {
  /** Stores the archive once per agent; a second call keeps the first (exactly once). */
  save(record: ArchiveRecord): Promise<void>;
  get(agentId: AgentId): Promise<ArchiveRecord | undefined>;
}

/** What the bundle gathers besides the agent's own record and grants. */
export interface ArchiveSources {
  checkIns(agentId: AgentId): Promise<unknown[]>;
  alerts(agentId: AgentId): Promise<Array<{ status: string; kind: string; summary: string; id: string }>>;
  /**
   * The agent's decision log: its task events with their decision summaries (newest first, at
   * most `max`) and the actions it asked people about at runtime. Kept by the archive: the raw
   * events are purged after the retention period.
   */
  decisionLog?(agentId: AgentId, max: number): Promise<{ events: unknown[]; runtimeRequests: unknown[] }>;
  /** The agent's version history (proposed, promoted and refused versions, with their evaluations). */
  versions?(agentId: AgentId): Promise<unknown[]>;
}

/** What an archive bundle holds, counted, for people to see it kept everything. */
export function archiveContents(bundle: string): {
  decisionEvents: number;
  runtimeRequests: number;
  versions: number;
  checkIns: number;
  knowledgeNotes: number;
  auditEntries: number;
} {
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(bundle) as Record<string, unknown>;
  } catch {
    // An altered bundle may not parse; its digest check says so, the counts say nothing.
  }
  const count = (value: unknown) => (Array.isArray(value) ? value.length : 0);
  const log = (parsed.decisionLog ?? {}) as Record<string, unknown>;
  return {
    decisionEvents: count(log.events),
    runtimeRequests: count(log.runtimeRequests),
    versions: count(parsed.versions),
    checkIns: count(parsed.checkIns),
    knowledgeNotes: count(parsed.knowledgeNotes),
    auditEntries: count(parsed.audit),
  };
}

/** The most task events an archive keeps (newest first): the bundle stays well inside one stored document. */
export const ARCHIVE_MAX_EVENTS = 10_000;

export interface RetirementDeps {
  org: OrgConfig;
  agents: AgentRepository;
  grants: GrantRepository;
  runs: RunRepository;
  audit: AuditLog;
  /** Every audit entry and notice of a retirement is stored with the agent's change it follows. */
  outbox: Outbox;
  archives: ArchiveRepository;
  sources: ArchiveSources;
  /** The sponsors' hand-over notice (src/views/offboarding-cards.ts). */
  cards: RetirementCards;
  clock?: () => Date;
}

/** What a successor received when an agent retired. */
export interface HandOver {
  agentName: string;
  successorName: string;
  knowledgeNotes: number;
  openItems: number;
  recommendedScopes: string[];
}

/** Presenter port: what both agents' sponsors are told when a successor takes over. */
export interface RetirementCards {
  handedOver(handOver: HandOver): OutgoingCard;
}

/** The run context of a retirement (an agent run's, so the sign-off card reads like any other). */
export interface RetirementContext extends AgentRunContext {
  reason: string;
  successorId?: AgentId;
  previousStatus?: AgentStatus;
}

// The note rule lives with every other who-may rule; re-exported for the importers of this module.
export { mayAddKnowledgeNote } from './policies.js';

/** The end reason of the grants a retirement revoked: a step run again after a crash counts them all. */
const RETIRED_REASON = 'the agent was retired';

const noteSchema = z.object({
  kind: z.enum(['failure-mode', 'high-value-interaction', 'note']).default('note'),
  text: z.string().trim().min(3, 'Write at least a few words.').max(2000),
});

/**
 * Offboarding: knowledge notes, the retirement flow's steps (sign-offs are collected by
 * `flows/retirement.yaml`), and on completion every grant and key revoked, the status `retired`,
 * an archive bundle with a SHA-256 digest, and a hand-over to the named successor.
 */
export class Retirement {
  private readonly clock: () => Date;

  constructor(private readonly deps: RetirementDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /**
   * Starts `flows/retirement.yaml` for an agent. Who may (its sponsors and IT admins) is asked by the
   * command that leads here, on the bus: `agent.retire`, `alert.retire`, `leaver.offer.accept` (the
   * manager sponsors it by then), and `checkin.decide` (the same rule), whose Retire effect calls
   * this from the outbox once the decision is stored.
   */
  async start(
    engine: FlowEngine,
    actorEmail: string,
    input: { agentId: AgentId; successorId?: AgentId; reason: string; id?: RunId },
  ): Promise<FlowRun> {
    // A start of a known id performed again (a check-in's Retire effect after a crash) finds its run.
    if (input.id && (await engine.exists(input.id))) return engine.get(input.id);
    const actor = findPersonByEmail(this.deps.org, String(actorEmail));
    if (!actor) throw new UnknownPersonError(String(actorEmail));
    const agent = await this.agent(input.agentId);
    const reason = String(input.reason ?? '').trim();
    if (reason.length < 3)
      throw new InvalidInputError('Say why the agent is retired (sustained degradation, obsolescence, strategic change…).', {
        reason: 'Required.',
      });
    if (!canTransition(agent.status, 'retiring')) throw new InvalidInputError(`${agent.name} is ${agent.status} and can't be retired now.`);
    let successor: AgentRecord | undefined;
    if (input.successorId) {
      successor = await this.agent(input.successorId);
      if (successor.id === agent.id) throw new InvalidInputError('An agent cannot succeed itself.');
      if (!['active', 'probation', 'requested'].includes(successor.status))
        throw new InvalidInputError(`${successor.name} is ${successor.status} and can't take over.`);
    }
    const context: RetirementContext = {
      ...agentRunContext(this.deps.org, agent, {
        purpose: `Retire ${agent.name}: ${reason}`,
        justification: successor
          ? `${successor.name} (${successor.id}) takes over its knowledge notes, open items and recommended scopes.`
          : 'No successor named.',
      }),
      reason,
      ...(successor ? { successorId: successor.id } : {}),
    };
    return engine.start({
      ...(input.id ? { id: input.id } : {}),
      flowId: 'retirement',
      requester: actor.email,
      subject: { type: 'agent', id: agent.id, agentId: agent.id },
      context,
    });
  }

  /**
   * Records a knowledge note (failure mode, high-value interaction) on `agent` for `actor`, whom the
   * caller authorised (the `agent.note.add` command, from a button, a form or the typed `note`); the note's words are checked here.
   */
  async recordNote(actor: Person, agent: AgentRecord, input: { kind?: string; text: string }): Promise<KnowledgeNote> {
    const parsed = noteSchema.safeParse(input);
    if (!parsed.success) throw new InvalidInputError(parsed.error.issues[0]!.message, { text: parsed.error.issues[0]!.message });
    const note: KnowledgeNote = {
      id: `note_${randomBytes(6).toString('hex')}`,
      kind: parsed.data.kind,
      text: parsed.data.text,
      by: actor.email,
      at: this.clock().toISOString(),
    };
    const effects = [this.audited(actor.email, 'knowledge.noted', agent.id, { noteId: note.id, kind: note.kind })];
    await this.deps.agents.update(agent.id, { knowledgeNotes: [...agent.knowledgeNotes, note] }, effects);
    await this.deps.outbox.settle({ kind: AGENT_HOLDER, id: agent.id }, effects, 'knowledge.noted');
    return note;
  }

  /** The stored archive with a check that its digest still matches its content. */
  async archive(agentId: AgentId): Promise<ArchiveRecord & { verified: boolean }> {
    const record = await this.deps.archives.get(agentId);
    if (!record) throw new NotFoundError('the archive of agent', agentId);
    return { ...record, verified: sha256(record.bundle) === record.digest };
  }

  /**
   * Step `retirement.begin`: the agent moves to `retiring`, its previous status stored with the move
   * (for a cancel). Run again after a crash, it finds the move made and answers the same status.
   */
  async begin(run: FlowRun): Promise<Record<string, unknown>> {
    const c = run.context as RetirementContext;
    const agent = await this.agent(c.agentId);
    if (agent.status === 'retiring') {
      return agent.retiringFrom?.runId === run.id ? { previousStatus: agent.retiringFrom.status } : {};
    }
    const effects = [
      this.audited(run.requester, 'agent.status-changed', agent.id, {
        from: agent.status,
        to: 'retiring',
        runId: run.id,
        reason: c.reason,
      }),
    ];
    const retiringFrom = { status: agent.status, runId: run.id };
    if (!(await this.deps.agents.transition(agent.id, agent.status, 'retiring', { retiringFrom }, effects))) {
      throw new RosterError('conflict', `${agent.name} changed status meanwhile; start the retirement again.`);
    }
    await this.deps.outbox.settle({ kind: AGENT_HOLDER, id: agent.id }, effects, 'retirement.begun');
    return { previousStatus: agent.status };
  }

  /**
   * The flow's onFailure: a retirement that is denied, expires or is cancelled gives the agent back
   * the status it had. Suspending takes its own approved flow, so starting a retirement and letting
   * it lapse must not leave an agent suspended on one person's word.
   */
  async cancel(run: FlowRun): Promise<void> {
    const c = run.context as RetirementContext;
    // The run may have ended before it recorded what `begin` answered: the agent keeps it too.
    const moved = c.previousStatus ? undefined : (await this.deps.agents.get(c.agentId))?.retiringFrom;
    const back = c.previousStatus ?? (moved?.runId === run.id ? moved.status : undefined);
    if (!back || back === 'retiring') return;
    const effects = [
      this.audited(undefined, 'agent.status-changed', c.agentId, {
        from: 'retiring',
        to: back,
        runId: run.id,
        reason: `retirement ${run.status}`,
      }),
    ];
    if (await this.deps.agents.transition(c.agentId, 'retiring', back, {}, effects)) {
      await this.deps.outbox.settle({ kind: AGENT_HOLDER, id: c.agentId }, effects, 'retirement.cancelled');
    }
  }

  /**
   * Step `retirement.complete`: revoke, hand over, archive, retire. Everything before the status
   * change is idempotent, so a step run again after a crash repeats it harmlessly; the audit entry
   * and the hand-over notices are stored with the status change itself (the agent's outbox), so
   * they happen once whether or not the writer lives to perform them.
   */
  async complete(run: FlowRun): Promise<Record<string, unknown>> {
    const c = run.context as RetirementContext;
    const agent = await this.agent(c.agentId);
    if (agent.status === 'retired') {
      // Retired by an earlier attempt at this step: its effects are in the agent's outbox already.
      const archived = await this.deps.archives.get(agent.id);
      const grants = await this.deps.grants.listForAgent(agent.id);
      return { archiveDigest: archived?.digest, grantsRevoked: grants.filter((g) => g.endReason === RETIRED_REASON).length };
    }
    const now = this.clock().toISOString();
    // Every grant and key revoked (each atomically; a repeat finds nothing left to revoke).
    const before = await this.deps.grants.listForAgent(agent.id);
    for (const g of before) {
      await this.deps.grants.transition(g.id, ['active', 'pending'], {
        status: g.status === 'pending' ? 'denied' : 'revoked',
        endedAt: now,
        endReason: RETIRED_REASON,
      });
    }
    const grants = await this.deps.grants.listForAgent(agent.id);
    const revokedHere = grants.filter((g) => g.endReason === RETIRED_REASON);
    await this.deps.agents.update(agent.id, { credentials: agent.credentials.map((k) => (k.revokedAt ? k : { ...k, revokedAt: now })) });

    // Hand-over: notes, open items and the scopes it held go to the successor; both are linked.
    let handover: Record<string, unknown> = {};
    const notices: PendingEffect[] = [];
    const openAlerts = (await this.deps.sources.alerts(agent.id)).filter((a) => a.status !== 'resolved');
    if (c.successorId) {
      const successor = await this.agent(c.successorId);
      const inherited = agent.knowledgeNotes
        .filter((n) => !successor.knowledgeNotes.some((s) => s.id === n.id))
        .map((n) => ({ ...n, text: `${n.text} (from ${agent.name})` }));
      await this.deps.agents.update(successor.id, { predecessorId: agent.id, knowledgeNotes: [...successor.knowledgeNotes, ...inherited] });
      // Counted from the agent's notes: a repeat after a crash finds them inherited already.
      const noteCount = agent.knowledgeNotes.length;
      handover = {
        successorId: successor.id,
        knowledgeNotes: noteCount,
        openItems: openAlerts.map((a) => `${a.kind}: ${a.summary}`),
        recommendedScopes: [
          ...new Set(
            before.filter((g) => g.status === 'active' || (g.status === 'revoked' && g.endReason === RETIRED_REASON)).map((g) => g.scope),
          ),
        ],
      };
      for (const person of new Set([...agent.sponsors, ...successor.sponsors])) {
        notices.push(
          this.deps.outbox.effect<ChatSend>(CHAT_SEND_EFFECT, {
            to: person,
            card: this.deps.cards.handedOver({
              agentName: agent.name,
              successorName: successor.name,
              knowledgeNotes: noteCount,
              openItems: openAlerts.length,
              recommendedScopes: handover.recommendedScopes as string[],
            }),
          }),
        );
      }
    }

    // The archive bundle: everything Roster knows about the agent, with a digest anyone can check.
    // It is stored before the status change (the first bundle is kept), so the change can carry
    // its digest; the agent is archived as the change leaves it.
    const current = await this.agent(agent.id);
    const log = (await this.deps.sources.decisionLog?.(agent.id, ARCHIVE_MAX_EVENTS)) ?? { events: [], runtimeRequests: [] };
    const bundle = canonicalJson({
      agent: { ...current, status: 'retired', ...(c.successorId ? { successorId: c.successorId } : {}) },
      grants,
      decisions: await this.deps.runs.list({ agentId: agent.id }),
      decisionLog: { ...log, eventsKept: log.events.length, truncated: log.events.length >= ARCHIVE_MAX_EVENTS },
      versions: (await this.deps.sources.versions?.(agent.id)) ?? [],
      checkIns: await this.deps.sources.checkIns(agent.id),
      alerts: await this.deps.sources.alerts(agent.id),
      audit: await this.deps.audit.export({ agentId: agent.id }),
      knowledgeNotes: agent.knowledgeNotes,
      handover,
      archivedAt: now,
    });
    await this.deps.archives.save({ agentId: agent.id, digest: sha256(bundle), bundle, createdAt: now });
    const stored = (await this.deps.archives.get(agent.id))!;
    const effects = [
      this.audited(undefined, 'agent.retired', agent.id, {
        runId: run.id,
        grantsRevoked: revokedHere.length,
        keysRevoked: agent.credentials.length,
        archiveDigest: stored.digest,
        ...handover,
      }),
      ...notices,
    ];
    if (await this.deps.agents.transition(agent.id, 'retiring', 'retired', c.successorId ? { successorId: c.successorId } : {}, effects)) {
      await this.deps.outbox.settle({ kind: AGENT_HOLDER, id: agent.id }, effects, 'agent.retired');
    }
    return { archiveDigest: stored.digest, grantsRevoked: revokedHere.length };
  }

  private async agent(id: AgentId): Promise<AgentRecord> {
    const agent = await this.deps.agents.get(id);
    if (!agent) throw new NotFoundError('the agent', id);
    return agent;
  }

  /** An audit entry to store in the agent's outbox with the change it records. */
  private audited(
    actor: string | undefined,
    action: string,
    agentId: AgentId,
    details: Record<string, unknown>,
  ): PendingEffect<AuditInput> {
    return this.deps.outbox.effect<AuditInput>(AUDIT_EFFECT, {
      actor: actor ? { kind: 'person', email: actor } : { kind: 'system', name: 'flow-engine' },
      action,
      subject: { type: 'agent', id: agentId, agentId },
      details,
      at: this.clock(),
    });
  }
}

/** Named steps of `flows/retirement.yaml`. */
export function retirementSteps(retirement: Retirement): StepRegistry {
  return {
    checks: {},
    conditions: {},
    gates: {},
    actions: {
      'retirement.begin': (ctx) => retirement.begin(ctx.run),
      'retirement.complete': (ctx) => retirement.complete(ctx.run),
      'retirement.cancel': async (ctx) => retirement.cancel(ctx.run),
    },
  };
}
