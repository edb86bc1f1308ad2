import type { AccessSettings } from '../../src/core/access.js';
import type { AgentRecord } from '../../src/core/agents.js';
import { agentRecord, errorOf, FAST_FLOWS, startHarness, type Harness } from '../helpers/harness.js';

/** Like startHarness, with the fast flows and grant reminder timing injected. */
export function startAccessHarness(access: Partial<AccessSettings> = {}): Promise<Harness> {
  return startHarness({ flows: FAST_FLOWS, access });
}

/** An active agent stored directly (its onboarding is the agent-request flow's business, tested elsewhere). */
export async function activeAgent(h: Harness, overrides: Partial<AgentRecord> = {}): Promise<AgentRecord> {
  const agent = agentRecord({ requestRunId: 'run_none', ...overrides });
  await h.services.agents.insert(agent);
  return agent;
}

export { errorOf };
