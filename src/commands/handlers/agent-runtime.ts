import type { OrgConfig } from '../../config/schemas.js';
import type { AgentRecord, GrantRecord } from '../../core/agents.js';
import { AgentRefusal } from '../../core/errors.js';
import type { Handoffs, HandoffView } from '../../core/handoffs.js';
import type { AgentId } from '../../core/ids.js';
import { decideAccess, type AccessDecision, type LiveAccess, type LiveScopes } from '../../core/live-scopes.js';
import { parseWait } from '../../core/long-poll.js';
import { assertAgentMayAct } from '../../core/policies.js';
import { refusalOf, type ApprovalView, type RuntimeApprovals } from '../../core/runtime-approvals.js';
import { reportTaskSchema, type IngestResult, type TelemetryPrincipal } from '../../core/telemetry.js';
import type { AgentActor } from '../actor.js';
import type { AgentCommandType } from '../command.js';
import type { AgentCommandHandler } from '../handler.js';

/*
 * What an agent may call, once: the HTTP routes (src/api/runtime-routes.ts) and the MCP tools
 * (src/api/mcp.ts) both give these commands to the bus, so the two doors answer the same way.
 * Every command reads the agent's live access (at most ROSTER_ACCESS_CACHE_MS old, at once after a
 * write in this process): a suspended or retired agent is refused even while its token has not expired.
 */

/** What the agents' commands need: the live access, the runtime approvals, hand-offs and the telemetry ingest. */
export interface AgentRuntimeDeps {
  org: OrgConfig;
  live: Pick<LiveScopes, 'agent' | 'of' | 'boundary'>;
  runtime: Pick<RuntimeApprovals, 'request' | 'wait' | 'consume' | 'view'>;
  handoffs: Pick<Handoffs, 'create' | 'wait' | 'view'>;
  /** The telemetry API's own ingest (src/http/telemetry.ts). */
  ingest: {
    ingest(principal: TelemetryPrincipal, body: unknown): Promise<{ ok: true; result: IngestResult } | { ok: false; message: string }>;
  };
  /** Resource URIs the access check knows: Roster's own API and the configured ones. */
  knownResource(resource: string): boolean;
}

/** An access check's outcome, which each door words (`accessAnswer` in src/api/oauth.ts). */
export interface AccessCheck {
  agentId: AgentId;
  scope: string;
  resource: string | undefined;
  decision: AccessDecision;
}

/** What each agent command returns, by type. */
export interface AgentCommandResults {
  'runtime.approval.request': { view: ApprovalView; created: boolean };
  'runtime.approval.show': ApprovalView;
  'runtime.approval.consume': ApprovalView;
  'runtime.handoff.create': { view: HandoffView; created: boolean };
  'runtime.handoff.show': HandoffView;
  'runtime.access.check': AccessCheck;
  'runtime.task.report': IngestResult;
}

/** The agent as it is now. */
type Acting = { agent: AgentRecord; eligible: boolean };

/** The agent of the token as it is now, or the 404 `unknown_agent` refusal (a token outliving its agent's record). */
export async function actingAgent(live: Pick<LiveScopes, 'agent'>, agentId: AgentId): Promise<Acting> {
  const found = await live.agent(agentId);
  if (!found) throw unknownAgent();
  return found;
}

const unknownAgent = () => new AgentRefusal(404, 'unknown_agent', 'Roster does not know this agent.');

/** A command of an agent that must be allowed to act: load it, refuse a suspended or retired one, then `handle`. */
function acting<T extends AgentCommandType>(
  deps: AgentRuntimeDeps,
  handle: AgentCommandHandler<T, Acting, AgentCommandResults[T]>['handle'],
): AgentCommandHandler<T, Acting, AgentCommandResults[T]> {
  return {
    load: (actor) => actingAgent(deps.live, actor.agentId),
    authorise: (_actor, live) => assertAgentMayAct(live),
    handle,
  };
}

/** The handlers of the agents' commands, one per type. */
export function agentRuntimeHandlers(deps: AgentRuntimeDeps) {
  const { runtime, handoffs } = deps;
  return {
    'runtime.approval.request': {
      async load(actor: AgentActor, command) {
        const found = await actingAgent(deps.live, actor.agentId);
        // The action's approved boundary change comes with the agent (one read, shared and bounded like
        // its access), read now for an agent that may act; the request checks it is the action it parses.
        // Only a name the schema could accept is looked up; anything else is refused by the parse as before.
        const given = (command.body as { action?: unknown } | null | undefined)?.action;
        const action = typeof given === 'string' ? given.trim() : '';
        const prefetched =
          found.eligible && action.length > 0 && action.length <= 100
            ? { action, override: deps.live.boundary(actor.agentId, action) }
            : undefined;
        // A request refused before it looks at the override (a body the schema refuses, details too
        // large) leaves it unused: its failure, should it be read again and fail, concerns nobody.
        prefetched?.override.catch(() => undefined);
        return { ...found, prefetched };
      },
      authorise: (_actor, live) => assertAgentMayAct(live),
      handle: (_actor, command, { agent, prefetched }) => runtime.request(agent, command.body, prefetched),
    } satisfies AgentCommandHandler<
      'runtime.approval.request',
      Acting & { prefetched: Parameters<RuntimeApprovals['request']>[2] },
      AgentCommandResults['runtime.approval.request']
    >,
    'runtime.approval.show': acting<'runtime.approval.show'>(deps, async (actor, command) =>
      runtime.view(await runtime.wait(actor.agentId, command.approvalId, parseWait(command.wait) * 1000)),
    ),
    'runtime.approval.consume': acting<'runtime.approval.consume'>(deps, async (actor, command) =>
      runtime.view(await runtime.consume(actor.agentId, command.approvalId, command.body)),
    ),
    'runtime.handoff.create': acting<'runtime.handoff.create'>(deps, (_actor, command, { agent }) => handoffs.create(agent, command.body)),
    'runtime.handoff.show': acting<'runtime.handoff.show'>(deps, async (actor, command) =>
      handoffs.view(await handoffs.wait(actor.agentId, command.handoffId, parseWait(command.wait) * 1000)),
    ),
    'runtime.access.check': {
      async load(actor: AgentActor) {
        const live = await deps.live.of(actor.agentId);
        if (!live) throw unknownAgent();
        return live;
      },
      // An agent may always ask about its own access: a suspended one is told it is not active.
      authorise: () => undefined,
      async handle(actor: AgentActor, { scope, resource }, live) {
        const known = resource === undefined || deps.knownResource(resource);
        return { agentId: actor.agentId, scope, resource, decision: decideAccess(deps.org, live, live.grants, scope, known) };
      },
    } satisfies AgentCommandHandler<'runtime.access.check', LiveAccess & { grants: GrantRecord[] }, AccessCheck>,
    'runtime.task.report': acting<'runtime.task.report'>(deps, async (actor, command) => {
      const parsed = reportTaskSchema.safeParse(command.body);
      if (!parsed.success) throw refusalOf(parsed.error);
      const result = await deps.ingest.ingest({ kind: 'agent', agentId: actor.agentId }, { events: [command.body] });
      if (!result.ok) throw new AgentRefusal(400, 'invalid_request', result.message);
      return result.result;
    }),
  } satisfies { [T in AgentCommandType]: AgentCommandHandler<T, unknown, AgentCommandResults[T]> };
}
