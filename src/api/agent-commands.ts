import { z } from 'zod';
import type { OrgConfig } from '../config/schemas.js';
import { AgentRefusal } from '../core/boundaries.js';
import type { Handoffs, HandoffView } from '../core/handoffs.js';
import { decideAccess, type AccessDecision, type LiveScopes } from '../core/live-scopes.js';
import { MAX_WAIT_S } from '../core/long-poll.js';
import { refusalOf, type ApprovalView, type RuntimeApprovals } from '../core/runtime-approvals.js';
import { telemetryEventSchema, type IngestResult } from '../core/telemetry.js';
import type { TelemetryIngest } from '../http/telemetry.js';
import { accessCheckRequestSchema } from './schemas.js';
import type { AgentId } from '../core/ids.js';

/*
 * What an agent may call, once: the HTTP routes (src/api/runtime-routes.ts) and the MCP tools
 * (src/api/mcp.ts) both parse with the same zod schemas and call these handlers, so the two
 * doors answer the same way. Every call asks the live access for the agent (read at most
 * ROSTER_ACCESS_CACHE_MS ago, at once after a write here): a suspended or retired agent is
 * refused even while its token has not expired.
 */

/** `?wait=` of the long polls: whole seconds, 0 to 60. */
export const waitQuerySchema = z.coerce
  .number({ error: `wait must be a number of seconds from 0 to ${MAX_WAIT_S}` })
  .int(`wait must be a whole number of seconds from 0 to ${MAX_WAIT_S}`)
  .min(0, `wait must be from 0 to ${MAX_WAIT_S} seconds`)
  .max(MAX_WAIT_S, `wait must be from 0 to ${MAX_WAIT_S} seconds`)
  .default(0);

/** `report_task`: one task event, the agent being the caller. */
export const reportTaskSchema = telemetryEventSchema.omit({ agentId: true }).meta({ id: 'TaskReport' });

/** The access check's answer (the same as `POST /api/v1/access/check`). */
export type AccessAnswer = Record<string, unknown> & { allowed: boolean; reason: string };

export interface AgentCommandDeps {
  org: OrgConfig;
  live: LiveScopes;
  runtime: RuntimeApprovals;
  handoffs: Handoffs;
  ingest: TelemetryIngest;
  /** Resource URIs the access check knows besides Roster's own API. */
  knownResource(resource: string): boolean;
}

/** The handlers behind the agent-facing runtime API and the MCP tools. */
export class AgentCommands {
  constructor(private readonly deps: AgentCommandDeps) {}

  /** The live agent behind a token, or a 403 `agent_not_active` / 404 `unknown_agent` refusal. */
  async agent(agentId: AgentId) {
    const live = await this.deps.live.agent(agentId);
    if (!live) throw new AgentRefusal(404, 'unknown_agent', 'Roster does not know this agent.');
    if (!live.eligible) throw new AgentRefusal(403, 'agent_not_active', `The agent is ${live.agent.status}: it may not act.`);
    return live;
  }

  async requestApproval(agentId: AgentId, body: unknown): Promise<{ view: ApprovalView; created: boolean }> {
    const { agent } = await this.agent(agentId);
    // The action's approved boundary change comes with the agent (one read, shared and bounded like
    // its access); the request checks it is the action it parses. Only a name the schema could
    // accept is looked up; anything else is refused by the parse as before.
    const given = (body as { action?: unknown } | null | undefined)?.action;
    const action = typeof given === 'string' ? given.trim() : '';
    const prefetched =
      action.length > 0 && action.length <= 100 ? { action, override: this.deps.live.boundary(agentId, action) } : undefined;
    // A request refused before it looks at the override (a body the schema refuses, details too
    // large) leaves it unused: its failure, should it be read again and fail, concerns nobody.
    prefetched?.override.catch(() => undefined);
    return this.deps.runtime.request(agent, body, prefetched);
  }

  async approval(agentId: AgentId, id: string, waitS: unknown): Promise<ApprovalView> {
    await this.agent(agentId);
    const wait = parseWait(waitS);
    return this.deps.runtime.view(await this.deps.runtime.wait(agentId, id, wait * 1000));
  }

  async consume(agentId: AgentId, id: string, body: unknown): Promise<ApprovalView> {
    await this.agent(agentId);
    return this.deps.runtime.view(await this.deps.runtime.consume(agentId, id, body));
  }

  async handOff(agentId: AgentId, body: unknown): Promise<{ view: HandoffView; created: boolean }> {
    const { agent } = await this.agent(agentId);
    return this.deps.handoffs.create(agent, body);
  }

  async handoff(agentId: AgentId, id: string, waitS: unknown): Promise<HandoffView> {
    await this.agent(agentId);
    return this.deps.handoffs.view(await this.deps.handoffs.wait(agentId, id, parseWait(waitS) * 1000));
  }

  /** The access check, as `POST /api/v1/access/check` answers it. */
  async checkAccess(agentId: AgentId, body: unknown): Promise<AccessAnswer> {
    const parsed = accessCheckRequestSchema.safeParse(body);
    if (!parsed.success) throw refusalOf(parsed.error);
    const live = await this.deps.live.of(agentId);
    if (!live) throw new AgentRefusal(404, 'unknown_agent', 'Roster does not know this agent.');
    const { scope, resource } = parsed.data;
    const decision = decideAccess(this.deps.org, live, live.grants, scope, resource === undefined || this.deps.knownResource(resource));
    return accessAnswer(agentId, scope, resource, decision);
  }

  /** One task event for the calling agent, through the telemetry API's own ingest. */
  async reportTask(agentId: AgentId, body: unknown): Promise<IngestResult> {
    await this.agent(agentId);
    const parsed = reportTaskSchema.safeParse(body);
    if (!parsed.success) throw refusalOf(parsed.error);
    const result = await this.deps.ingest.ingest({ kind: 'agent', agentId }, { events: [body] });
    if (!result.ok) throw new AgentRefusal(400, 'invalid_request', result.message);
    return result.result;
  }
}

/** The access check's answer to an agent about a scope: the same from the HTTP route and the MCP tool. */
export function accessAnswer(agentId: AgentId, scope: string, resource: string | undefined, decision: AccessDecision): AccessAnswer {
  return {
    allowed: decision.allowed,
    reason: decision.reason,
    message: decision.message,
    agent_id: agentId,
    scope,
    ...(resource ? { resource } : {}),
    ...(decision.grantId ? { grant_id: decision.grantId } : {}),
    ...(decision.expiresAt ? { expires_at: decision.expiresAt } : {}),
    ...(decision.endedAt ? { ended_at: decision.endedAt } : {}),
  };
}

function parseWait(raw: unknown): number {
  const parsed = waitQuerySchema.safeParse(raw === '' ? undefined : raw);
  if (!parsed.success) throw new AgentRefusal(400, 'invalid_wait', parsed.error.issues[0]!.message);
  return parsed.data;
}
