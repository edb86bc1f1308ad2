import { z } from 'zod';
import type { OrgConfig, Person } from '../config/schemas.js';
import { businessUnitById, findPersonByEmail, roleById } from '../config/directory.js';
import type { AuditInput } from './audit.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import type { Outbox } from './outbox.js';
import type { AgentKeys } from './agent-keys.js';
import { AGENT_HOLDER, type AgentRecord, type AgentRepository, type GrantRecord, type GrantRepository } from './agents.js';
import { InvalidInputError, RosterError } from './errors.js';
import { mayRequestInUnit } from './policies.js';
import { Sponsorships, type SponsorshipCards } from './sponsorships.js';
import type { StepContext, StepRegistry } from '../flows/types.js';
import { type AgentId, trustedId } from './ids.js';

/** What a person fills in to request an agent (the request form), validated at the edge. */
export const agentRequestInputSchema = z.object({
  roleId: z.string().trim().min(1, 'Pick a catalog role.').max(100),
  name: z
    .string()
    .trim()
    .min(2, 'Give the agent a name of at least 2 characters.')
    .max(80, 'Keep the name under 80 characters.')
    .regex(/^[\p{L}\p{N}][\p{L}\p{N} ._'-]*$/u, 'Use letters, digits, spaces, dots, dashes or apostrophes.'),
  purpose: z.string().trim().min(5, 'Describe what the agent will do (at least 5 characters).').max(2000),
  businessUnit: z.string().trim().min(1, 'Pick a business unit.').max(100),
  sponsors: z.array(z.string().trim().toLowerCase().max(320)).min(1, 'Name at least one sponsor.').max(10, 'At most 10 sponsors.'),
  justification: z.string().trim().max(3000).default(''),
});
export type AgentRequestInput = z.input<typeof agentRequestInputSchema>;
export type AgentRequest = z.output<typeof agentRequestInputSchema>;

/** The run context of an agent request: facts every step and card reads. */
export interface AgentRequestContext {
  [key: string]: unknown;
  agentId: AgentId;
  agentName: string;
  roleId: string;
  roleTitle: string;
  riskTier: string;
  dataClasses: string[];
  businessUnit: string;
  sponsors: string[];
  purpose: string;
  justification: string;
  /** Set when a responder registers a shadow agent for the unit that runs it (not bound to their own unit). */
  shadowRegistration?: boolean;
}

/** Parses form input into a request, or throws InvalidInputError with a message per field. */
export function parseAgentRequest(input: unknown): AgentRequest {
  const parsed = agentRequestInputSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const fields: Record<string, string> = {};
  for (const issue of parsed.error.issues) fields[String(issue.path[0] ?? 'form')] ??= issue.message;
  throw new InvalidInputError(`Please fix the request: ${Object.values(fields).join(' ')}`, fields);
}

/**
 * The request's rules against the catalog and the directory: the role exists and allows the
 * business unit, the name is free in the business unit, every sponsor is in the directory; with a
 * `requester`, the unit is one they may name ({@link mayRequestInUnit}: a shadow agent's
 * registration, `registeringShadow`, may name any). Returns field problems (empty when valid).
 */
export async function validateAgentRequest(
  org: OrgConfig,
  agents: AgentRepository,
  request: AgentRequest,
  requester?: Person,
  registeringShadow = false,
): Promise<Record<string, string>> {
  const problems: Record<string, string> = {};
  const role = roleById(org, request.roleId);
  if (!role) problems.roleId = `There is no catalog role "${request.roleId}".`;
  if (!businessUnitById(org, request.businessUnit)) problems.businessUnit = `There is no business unit "${request.businessUnit}".`;
  else if (role?.businessUnits && !role.businessUnits.includes(request.businessUnit)) {
    problems.businessUnit = `${role.title} may only be requested by ${role.businessUnits.join(', ')}.`;
  } else if (requester && !mayRequestInUnit(requester, request.businessUnit, registeringShadow)) {
    // The unit decides whose approver signs, so nobody picks another unit's approver.
    problems.businessUnit = `You can request agents for your own business unit (${requester.businessUnit}), not ${request.businessUnit}. Ask someone in ${request.businessUnit}, or IT for the role requester:${request.businessUnit}.`;
  }
  const unknown = request.sponsors.filter((s) => !findPersonByEmail(org, s));
  if (unknown.length > 0) problems.sponsors = `Not in the directory: ${unknown.join(', ')}. Sponsors must be people Roster knows.`;
  if (await agents.findByName(request.businessUnit, request.name)) {
    problems.name = `There is already an agent called "${request.name}" in ${request.businessUnit}.`;
  }
  return problems;
}

export interface AgentRequestDeps {
  org: OrgConfig;
  agents: AgentRepository;
  grants: GrantRepository;
  clock: () => Date;
  /** Where the effects of registering an agent are stored with it, then performed. */
  outbox: Outbox;
  /** The agent keys service: issues the onboarded agent's first key. */
  keys: AgentKeys;
  /** The questions to the proposed sponsors of a registered agent. */
  sponsorshipCards: SponsorshipCards;
}

const ctxOf = (ctx: StepContext) => ctx.run.context as AgentRequestContext;

/** Named checks, actions, conditions and gates that `flows/agent-request.yaml` uses. */
export function agentRequestSteps(deps: AgentRequestDeps): StepRegistry {
  const { org, agents, grants, clock, keys } = deps;
  return {
    checks: {
      'agent-request.valid': async (ctx) => {
        const c = ctxOf(ctx);
        const existing = await agents.get(c.agentId);
        const problems = await validateAgentRequest(
          org,
          existing ? { ...agents, findByName: async () => undefined } : agents,
          {
            roleId: c.roleId,
            name: c.agentName,
            purpose: c.purpose,
            businessUnit: c.businessUnit,
            sponsors: c.sponsors,
            justification: c.justification,
          },
          c.shadowRegistration ? undefined : findPersonByEmail(org, ctx.run.requester),
        );
        const reasons = Object.values(problems);
        return reasons.length === 0 ? { ok: true } : { ok: false, reason: reasons.join(' ') };
      },
    },
    actions: {
      'agent.register': async (ctx) => {
        const c = ctxOf(ctx);
        if (await agents.get(c.agentId)) return;
        const now = clock().toISOString();
        // Named sponsors count once they accept; the requester naming themselves accepts by asking.
        const named = Sponsorships.split(ctx.run.requester, c.sponsors, now);
        const agent: AgentRecord = {
          id: c.agentId,
          name: c.agentName,
          catalogRoleId: c.roleId,
          version: '1.0.0',
          sponsors: named.sponsors,
          ...(named.proposed.length > 0 ? { proposedSponsors: named.proposed } : {}),
          businessUnit: c.businessUnit,
          status: 'requested',
          purpose: c.purpose,
          justification: c.justification,
          requestedBy: ctx.run.requester,
          requestRunId: ctx.run.id,
          credentials: [],
          knowledgeNotes: [],
          complianceTags: [...(roleById(org, c.roleId)?.regulations ?? [])],
          createdAt: now,
          updatedAt: now,
          statusChangedAt: now,
        };
        // The audit entry and the proposed sponsors' questions are stored with the agent, so a crash cannot lose them.
        const sponsorships = new Sponsorships({ org, agents, outbox: deps.outbox, cards: deps.sponsorshipCards, clock });
        const effects = [
          deps.outbox.effect(AUDIT_EFFECT, {
            actor: { kind: 'person', email: ctx.run.requester },
            action: 'agent.registered',
            subject: { type: 'agent', id: agent.id, agentId: agent.id },
            details: {
              name: agent.name,
              role: agent.catalogRoleId,
              businessUnit: agent.businessUnit,
              sponsors: agent.sponsors,
              ...(named.proposed.length > 0 ? { proposedSponsors: named.proposed.map((p) => p.email) } : {}),
              status: 'requested',
            },
            at: clock(),
          } satisfies AuditInput),
          ...sponsorships.askEffects(agent),
        ];
        await agents.insert(agent, effects);
        await sponsorships.settle(agent.id, effects, 'agent.registered');
      },
      'agent.onboard': async (ctx) => {
        const c = ctxOf(ctx);
        const role = roleById(org, c.roleId);
        if (!role) throw new RosterError('not_found', `The catalog role ${c.roleId} no longer exists.`);
        const now = clock();
        const agent = await agents.get(c.agentId);
        const approvals = Object.values(ctx.run.steps).flatMap((s) =>
          (s.decisions ?? []).filter((d) => d.decision === 'approve').map((d) => d.by),
        );
        const defaults: GrantRecord[] = role.defaultScopes.map((scopeId) => {
          const scope = org.scopes.find((s) => s.id === scopeId);
          const ttl = Math.min(scope?.maxTtl.ms ?? role.maxAccessTtl.ms, role.maxAccessTtl.ms);
          return {
            id: trustedId('GrantId', `${c.agentId}:${scopeId}:default`),
            agentId: c.agentId,
            scope: scopeId,
            reason: `Catalog default for ${role.title}`,
            requestedBy: ctx.run.requester,
            approvedBy: approvals,
            startsAt: now.toISOString(),
            expiresAt: new Date(now.getTime() + ttl).toISOString(),
            status: 'active',
            source: 'default',
            createdAt: now.toISOString(),
          };
        });
        // The default grants first (idempotent ids), then the status change with the onboarding's
        // audit entries in the agent's outbox: a crash after it cannot lose them, a step run again
        // finds the agent active and adds none.
        await grants.insertMany(defaults);
        const effects = [
          deps.outbox.effect(AUDIT_EFFECT, {
            actor: { kind: 'system', name: 'flow-engine' },
            action: 'agent.onboarded',
            subject: { type: 'agent', id: c.agentId, agentId: c.agentId },
            details: { runId: ctx.run.id, from: 'requested', to: 'active', approvedBy: approvals },
            at: now,
          } satisfies AuditInput),
          ...defaults.map((grant) =>
            deps.outbox.effect(AUDIT_EFFECT, {
              actor: { kind: 'system', name: 'flow-engine' },
              action: 'grant.created',
              subject: { type: 'grant', id: grant.id, agentId: c.agentId },
              details: { scope: grant.scope, expiresAt: grant.expiresAt, source: 'default', approvedBy: approvals },
              at: now,
            } satisfies AuditInput),
          ),
        ];
        const transitioned = await agents.transition(
          c.agentId,
          'requested',
          'active',
          {
            ...(agent?.evaluation
              ? {
                  baseline: {
                    accuracy: agent.evaluation.submission.accuracy,
                    p95LatencyMs: agent.evaluation.submission.p95LatencyMs,
                    costPerTaskUSD: agent.evaluation.submission.costPerTaskUSD,
                  },
                }
              : {}),
          },
          effects,
        );
        if (transitioned) await deps.outbox.settle({ kind: AGENT_HOLDER, id: c.agentId }, effects, 'agent.onboarded');
        // The key last: a failed delivery is told to people and never fails the onboarding itself.
        await keys.issueOnboardingKey({
          agentId: c.agentId,
          agentName: c.agentName,
          requester: ctx.run.requester,
          // Only sponsors who accepted may act on a failed delivery, so only they are told of one.
          sponsors: agent?.sponsors ?? [],
          runId: ctx.run.id,
        });
        return { onboardedAt: now.toISOString(), defaultScopes: role.defaultScopes };
      },
      'agent.reject': async (ctx) => {
        const c = ctxOf(ctx);
        const effects = [
          deps.outbox.effect(AUDIT_EFFECT, {
            actor: { kind: 'system', name: 'flow-engine' },
            action: 'agent.rejected',
            subject: { type: 'agent', id: c.agentId, agentId: c.agentId },
            details: { runId: ctx.run.id, from: 'requested', to: 'rejected', outcome: ctx.run.outcome ?? ctx.run.status },
            at: clock(),
          } satisfies AuditInput),
        ];
        if (await agents.transition(c.agentId, 'requested', 'rejected', {}, effects)) {
          await deps.outbox.settle({ kind: AGENT_HOLDER, id: c.agentId }, effects, 'agent.rejected');
        }
      },
    },
    conditions: {
      'high-risk': (ctx) => ctxOf(ctx).riskTier === 'high',
      'touches-pii-or-health': (ctx) => ctxOf(ctx).dataClasses.some((d) => d === 'pii' || d === 'health'),
    },
    gates: {
      evaluation: { waitingOn: (ctx) => [...new Set([ctx.run.requester, ...ctxOf(ctx).sponsors])] },
    },
  };
}
