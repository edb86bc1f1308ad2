import { z } from 'zod';
import type { OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail, roleById } from '../config/directory.js';
import type { AuditInput, AuditLog } from './audit.js';
import { newAgentId, type AgentRecord, type AgentRepository, type GrantRecord, type GrantRepository } from './agents.js';
import { parseAgentRequest, validateAgentRequest, type AgentRequestContext, type AgentRequestInput } from './agent-request.js';
import { ForbiddenError, InvalidInputError, NotFoundError, NotWaitingError, UnknownPersonError } from './errors.js';
import { evaluate, type EvaluationSubmission, type EvaluationVerdict } from './evaluation.js';
import { AGENT_STATUSES, type AgentStatus } from './lifecycle.js';
import {
  assertMayCancelRequest,
  assertMayListAllAgents,
  assertMayListBusinessUnit,
  mayManageEvaluation,
  maySeeAgent,
  mayTypeInResults,
} from './policies.js';
import type { DecideOptions, FlowEngine } from '../flows/engine.js';
import type { FlowRun } from '../flows/types.js';

export const evaluationInputSchema = z.object({
  accuracy: z.coerce.number().min(0, 'Accuracy is between 0 and 1.').max(1, 'Accuracy is between 0 and 1.'),
  p95LatencyMs: z.coerce.number().min(0, 'Latency cannot be negative.').max(3_600_000),
  costPerTaskUSD: z.coerce.number().min(0, 'Cost cannot be negative.').max(10_000),
  roleFitChecked: z.array(z.string().max(500)).max(50).default([]),
  notes: z.string().max(3000).optional(),
});
export type EvaluationInput = z.input<typeof evaluationInputSchema>;

export const decisionInputSchema = z.object({
  runId: z.string().min(1).max(100),
  stepId: z.string().min(1).max(100),
  decision: z.enum(['approve', 'deny']),
  comment: z.string().max(3000).optional(),
});
export type DecisionInput = z.input<typeof decisionInputSchema>;

export type ListScope = 'mine' | 'all' | { businessUnit: string };

export interface AgentView {
  agent: AgentRecord;
  grants: GrantRecord[];
  request?: FlowRun;
}

/**
 * Where reads (`show`, `list`) are recorded: an append-only log beside the audit chain, so looking
 * at an agent never queues behind the chain's appends.
 */
export interface ReadLog {
  record(entry: AuditInput): Promise<void>;
  /** Recorded reads, oldest first (of one agent when given). */
  list(filter?: { agentId?: string; limit?: number }): Promise<Array<AuditInput & { at: Date }>>;
}

export interface CommandDeps {
  org: OrgConfig;
  agents: AgentRepository;
  grants: GrantRepository;
  audit: AuditLog;
  /** Reads are recorded here; without it they go to the audit chain (tests of the chain itself). */
  reads?: ReadLog;
  engine: FlowEngine;
  clock?: () => Date;
  /** Catalog roles Roster evaluates itself (they have a suite); typed-in results are an IT admin's, with a reason, for every role. */
  measuredRoles?: ReadonlySet<string>;
}

// The typed-in rule lives with every other who-may rule; re-exported for the importers of this module.
export { mayTypeInResults } from './policies.js';

/** Why typed-in results need a reason, as the form shows it on the reason (notes) field. */
export const TYPED_IN_REASON_NEEDED = 'Say why the results are typed in rather than measured (at least 5 characters).';

/**
 * What a person is told when they deny without a reason, on every platform (Slack's modal error,
 * Teams' deny form; the Teams cards' client-side `errorMessage` says the same).
 */
export const DENY_REASON_NEEDED = 'Give a reason so the requester knows what to change.';

/** Whether a typed-in reason is long enough to say something. */
export function typedInReasonGiven(notes: string | undefined): boolean {
  return (notes?.trim().length ?? 0) >= 5;
}

/** What someone who may not type results in is told instead: Roster measures the role itself, or IT must act. */
export function typedInRefusal(role: { id: string; title: string }, agentName: string, measured: boolean): string {
  return measured
    ? `Roster measures ${role.title} agents itself: register ${agentName}'s endpoint ("eval ${agentName}") and Roster runs the role's suite against it. Only an IT admin may type results in instead, with a reason.`
    : `Roster has no evaluation suite for ${role.title} agents yet, so it cannot measure ${agentName} itself. Ask IT: an IT admin can add evals/${role.id}.yaml (then register the endpoint and Roster runs it), or record the results with a reason.`;
}

/** Flows a requester may cancel while they wait for people: requests for an agent and for access. */
export const CANCELLABLE_FLOWS: ReadonlySet<string> = new Set(['agent-request', 'access-request']);

/** Whether the requester's status card offers Cancel: a cancellable request still waiting for people. */
export function offersCancel(run: Pick<FlowRun, 'flowId' | 'status'>): boolean {
  return CANCELLABLE_FLOWS.has(run.flowId) && run.status === 'waiting';
}

/**
 * The command API every channel calls: each command names the acting person by e-mail, is
 * authorised here (never in an adapter), validates its input with zod, and writes to the audit log.
 */
export class Commands {
  private readonly clock: () => Date;

  constructor(private readonly deps: CommandDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /** The directory entry of the acting person, or the coded "not in the directory" error. */
  person(email: string): Person {
    const person = findPersonByEmail(this.deps.org, String(email));
    if (!person) throw new UnknownPersonError(String(email));
    return person;
  }

  /** Starts the catalog role's request flow; the agent exists from now on with status `requested`. */
  /**
   * Requests an agent. `options.agentId` registers an agent that already runs under that id (a
   * shadow agent; the caller decides who may), so its telemetry counts once it is onboarded.
   */
  async requestAgent(
    actorEmail: string,
    input: AgentRequestInput,
    options: { agentId?: string } = {},
  ): Promise<{ run: FlowRun; agentId: string }> {
    const actor = this.person(actorEmail);
    const request = parseAgentRequest(input);
    // A shadow agent is registered for the unit that runs it by a responder (the caller checked
    // who may); every other request stays inside the requester's own business unit.
    const shadow = options.agentId !== undefined;
    const problems = await validateAgentRequest(this.deps.org, this.deps.agents, request, shadow ? undefined : actor);
    if (Object.keys(problems).length > 0) throw new InvalidInputError(Object.values(problems).join(' '), problems);
    const role = roleById(this.deps.org, request.roleId)!;
    if (options.agentId !== undefined) {
      if (!/^[\w.:-]{1,200}$/.test(String(options.agentId))) throw new InvalidInputError('That agent id cannot be registered.');
      if (await this.deps.agents.get(String(options.agentId)))
        throw new InvalidInputError(`${String(options.agentId)} is already registered.`);
    }
    const agentId = options.agentId !== undefined ? String(options.agentId) : newAgentId();
    const context: AgentRequestContext = {
      agentId,
      agentName: request.name,
      roleId: role.id,
      roleTitle: role.title,
      riskTier: role.riskTier,
      dataClasses: role.dataClasses,
      businessUnit: request.businessUnit,
      sponsors: [...new Set(request.sponsors)],
      purpose: request.purpose,
      justification: request.justification,
      ...(shadow ? { shadowRegistration: true } : {}),
    };
    const run = await this.deps.engine.start({
      flowId: role.flow,
      requester: actor.email,
      subject: { type: 'agent', id: agentId, agentId },
      context,
    });
    return { run, agentId };
  }

  /**
   * Cancels a pending request (an agent or an access request) for its requester or an IT admin:
   * the run ends as cancelled (audited), every approver's card says so and its timers are removed.
   * A request that is decided, being carried out or closed is refused with words that say why.
   */
  async cancelRequest(actorEmail: string, runId: string, reason?: string): Promise<FlowRun> {
    const actor = this.person(actorEmail);
    const id = String(runId ?? '').trim();
    if (!/^run_[\w-]{1,80}$/.test(id)) throw new InvalidInputError('Name the request to cancel, e.g. `cancel run_1a2b3c4d`.');
    const run = await this.deps.engine.get(id);
    assertMayCancelRequest(actor, run);
    if (!CANCELLABLE_FLOWS.has(run.flowId))
      throw new InvalidInputError('Only agent requests and access requests can be cancelled this way.', { flow: run.flowId });
    const why = reason?.trim().slice(0, 500) || (run.requester === actor.email ? 'withdrawn by the requester' : 'cancelled by IT');
    // The engine refuses a closed run (with the words for a cancel) and, here, one no longer waiting, in its compare-and-set.
    return this.deps.engine.cancel(run.id, actor.email, why, { whileWaiting: true });
  }

  /** Runs the evaluation gate on submitted results and tells the request's flow the verdict. */
  async submitEvaluation(
    actorEmail: string,
    agentId: string,
    input: EvaluationInput,
  ): Promise<{ verdict: EvaluationVerdict; run: FlowRun }> {
    const actor = this.person(actorEmail);
    const parsed = evaluationInputSchema.safeParse(input);
    if (!parsed.success) {
      const fields: Record<string, string> = {};
      for (const issue of parsed.error.issues) fields[String(issue.path[0] ?? 'form')] ??= issue.message;
      throw new InvalidInputError(`Please fix the evaluation: ${Object.values(fields).join(' ')}`, fields);
    }
    const agent = await this.agentOrThrow(agentId);
    const role = roleById(this.deps.org, agent.catalogRoleId);
    if (!role) throw new NotFoundError('the catalog role', agent.catalogRoleId);
    if (!mayTypeInResults(actor)) {
      if (!mayManageEvaluation(actor, agent))
        throw new ForbiddenError("Only the agent's requester, its sponsors or an IT admin can evaluate it.");
      throw new ForbiddenError(typedInRefusal(role, agent.name, this.deps.measuredRoles?.has(role.id) ?? false));
    }
    const reason = parsed.data.notes?.trim() ?? '';
    if (!typedInReasonGiven(reason))
      throw new InvalidInputError('Say why these results are typed in rather than measured by Roster (in the notes).', {
        notes: TYPED_IN_REASON_NEEDED,
      });
    const run = await this.deps.engine.get(agent.requestRunId);
    const gateStep = this.deps.engine.flow(run.flowId).steps[run.current];
    if (run.status !== 'waiting' || gateStep?.type !== 'gate' || gateStep.gate !== 'evaluation') {
      throw new NotWaitingError(`${agent.name} isn't waiting for evaluation results (its request is ${run.status}).`);
    }
    const submission: EvaluationSubmission = parsed.data;
    const verdict = evaluate(role.evaluation, submission);
    if (verdict.passed) {
      await this.deps.agents.update(agent.id, {
        evaluation: {
          submission,
          verdict,
          by: actor.email,
          at: this.clock().toISOString(),
          source: 'self-reported',
          reason,
        },
      });
    }
    const after = await this.deps.engine.signalGate({
      runId: run.id,
      gate: 'evaluation',
      passed: verdict.passed,
      by: actor.email,
      summary: `Self-reported by ${actor.name} (${reason.slice(0, 300)}): ${verdict.summary}`,
      source: 'self-reported',
    });
    return { verdict, run: after };
  }

  /** Approve or deny a step; eligibility, separation of duties and exactly-once are the engine's. */
  async decide(actorEmail: string, input: DecisionInput, options: DecideOptions = {}): Promise<FlowRun> {
    const actor = this.person(actorEmail);
    const parsed = decisionInputSchema.safeParse(input);
    if (!parsed.success) throw new InvalidInputError('That decision could not be read; please use the buttons on the card.');
    return this.deps.engine.decide({ ...parsed.data, actor: actor.email }, options);
  }

  /** Agents the person may see: `mine` (sponsored or requested), a business unit, or `all` (oversight roles). */
  async listAgents(actorEmail: string, scope: ListScope, status?: AgentStatus[]): Promise<AgentRecord[]> {
    const actor = this.person(actorEmail);
    if (status?.some((s) => !AGENT_STATUSES.includes(s)))
      throw new InvalidInputError(`Status must be one of ${AGENT_STATUSES.join(', ')}.`);
    let agents: AgentRecord[];
    if (scope === 'mine') {
      const [sponsored, requested] = await Promise.all([
        this.deps.agents.list({ sponsor: actor.email, status }),
        this.deps.agents.list({ requestedBy: actor.email, status }),
      ]);
      agents = [...new Map([...sponsored, ...requested].map((a) => [a.id, a])).values()];
    } else if (scope === 'all') {
      assertMayListAllAgents(actor);
      agents = await this.deps.agents.list({ status });
    } else {
      const bu = String(scope.businessUnit);
      if (!this.deps.org.businessUnits.some((b) => b.id === bu)) throw new NotFoundError('the business unit', bu);
      assertMayListBusinessUnit(actor, bu);
      agents = await this.deps.agents.list({ businessUnit: bu, status });
    }
    await this.recordRead({
      actor: { kind: 'person', email: actor.email },
      action: 'agents.listed',
      subject: { type: 'query', id: typeof scope === 'string' ? scope : scope.businessUnit },
      details: { count: agents.length, ...(status ? { status } : {}) },
    });
    return agents;
  }

  /** One agent with its grants and request, for people with a reason to see it. */
  async showAgent(actorEmail: string, agentIdOrName: string): Promise<AgentView> {
    const actor = this.person(actorEmail);
    const agent = await this.findAgent(actor, String(agentIdOrName));
    const [grants, request] = await Promise.all([
      this.deps.grants.listForAgent(agent.id),
      this.deps.engine.get(agent.requestRunId).catch(() => undefined),
    ]);
    await this.recordRead({
      actor: { kind: 'person', email: actor.email },
      action: 'agent.viewed',
      subject: { type: 'agent', id: agent.id, agentId: agent.id },
      details: {},
    });
    return { agent, grants, request };
  }

  private async recordRead(entry: AuditInput): Promise<void> {
    if (this.deps.reads) await this.deps.reads.record(entry);
    else await this.deps.audit.append(entry);
  }

  /** Requests waiting for this person's decision. */
  async approvalsWaitingFor(actorEmail: string): Promise<FlowRun[]> {
    const actor = this.person(actorEmail);
    return this.deps.engine.waitingFor(actor.email);
  }

  /** This person's requests that are still open. */
  async openRequests(actorEmail: string): Promise<FlowRun[]> {
    const actor = this.person(actorEmail);
    return this.deps.engine.openRequestsOf(actor.email);
  }

  private maySee(person: Person, agent: AgentRecord): boolean {
    return maySeeAgent(this.deps.org, person, agent);
  }

  /**
   * An agent the person may see, by id or by name; one they may not see is "not found", exactly
   * like an id that does not exist, so probing ids and names reveals nothing.
   */
  async visibleAgent(actorEmail: string, agentIdOrName: string): Promise<AgentRecord> {
    return this.findAgent(this.person(actorEmail), String(agentIdOrName));
  }

  private async agentOrThrow(agentId: string): Promise<AgentRecord> {
    const agent = await this.deps.agents.get(String(agentId));
    if (!agent) throw new NotFoundError('the agent', String(agentId));
    return agent;
  }

  /** By id, else by name in the person's business unit, else by name among agents they may see. */
  private async findAgent(actor: Person, key: string): Promise<AgentRecord> {
    const byId = await this.deps.agents.get(key);
    if (byId) {
      if (this.maySee(actor, byId)) return byId;
      throw new NotFoundError('the agent', key);
    }
    if (key.startsWith('agt_')) throw new NotFoundError('the agent', key);
    const own = await this.deps.agents.findByName(actor.businessUnit, key);
    if (own) return own;
    const byName = (await this.deps.agents.list({})).filter((a) => a.name.toLowerCase() === key.toLowerCase() && this.maySee(actor, a));
    if (byName.length === 1) return byName[0]!;
    if (byName.length > 1)
      throw new InvalidInputError(`Several agents are called "${key}"; use its id (${byName.map((a) => a.id).join(', ')}).`);
    throw new NotFoundError('the agent', key);
  }
}
