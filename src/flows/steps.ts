import { accessSteps, type GrantSteps } from '../core/access.js';
import { agentRequestSteps, type AgentRequestDeps } from '../core/agent-request.js';
import { developmentSteps, type Development } from '../core/development.js';
import { reactivationSteps, type Reactivation } from '../core/reactivation.js';
import { retirementSteps, type Retirement } from '../core/retirement.js';
import { runtimeSteps, type RuntimeDecisions } from '../core/runtime-approvals.js';
import { suspensionSteps } from '../core/suspension.js';
import { loadFlows, registryNames } from './loader.js';
import type { FlowDefinition } from './schema.js';
import type { StepRegistry } from './types.js';

/**
 * What the flows' named steps call. None of it needs the flow engine: the engine runs these steps,
 * so they are built before it (src/compose.ts), and what starts or decides runs comes after it.
 */
export interface StepDeps {
  /** `agent-request`: checks, registration, rejection. */
  agentRequest: AgentRequestDeps;
  /** `access-request`, `break-glass`: the grant's validation, activation, denial. */
  grants: GrantSteps;
  retirement: Retirement;
  development: Development;
  reactivation: Reactivation;
  /** `runtime-approval`: the decision written back to the agent's request. */
  runtime: RuntimeDecisions;
}

/** Every named check, action, condition and gate the flows may use. */
export function createStepRegistry(deps: StepDeps): StepRegistry {
  const parts: Array<Partial<StepRegistry>> = [
    runtimeSteps(deps.runtime),
    agentRequestSteps(deps.agentRequest),
    accessSteps(deps.grants),
    suspensionSteps({ agents: deps.agentRequest.agents, outbox: deps.agentRequest.outbox }),
    retirementSteps(deps.retirement),
    developmentSteps(deps.development),
    reactivationSteps(deps.reactivation),
  ];
  return {
    checks: Object.assign({}, ...parts.map((p) => p.checks)) as StepRegistry['checks'],
    actions: Object.assign({}, ...parts.map((p) => p.actions)) as StepRegistry['actions'],
    conditions: Object.assign({}, ...parts.map((p) => p.conditions)) as StepRegistry['conditions'],
    gates: Object.assign({}, ...parts.map((p) => p.gates)) as StepRegistry['gates'],
  };
}

/**
 * Loads and validates `flows/*.yaml` against the registry's names without a database, so a bad
 * flow stops start-up (and `roster config check`) naming the file and the step. The steps only
 * close over their dependencies, so their names are read without building any.
 */
export function loadFlowDefinitions(dir: string): Map<string, FlowDefinition> {
  const none = undefined as never;
  return loadFlows(
    dir,
    registryNames(
      createStepRegistry({
        agentRequest: {
          org: none,
          agents: none,
          grants: none,
          clock: none,
          outbox: none,
          keys: none,
          sponsorshipCards: none,
        },
        grants: none,
        retirement: none,
        development: none,
        reactivation: none,
        runtime: none,
      }),
    ),
  );
}
