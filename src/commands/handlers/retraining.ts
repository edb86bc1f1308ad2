import type { AgentRecord } from '../../core/agents.js';
import type { Development, RetrainingRecord } from '../../core/development.js';
import { assertMayManageRetraining } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';
import { assertMaySeeNamed, loadAgent, loadNamedAgent } from './load-agent.js';
import type { AgentLookup } from './show-agent.js';

/** What Start and Postpone on "retraining due" (and the typed `retrain … postpone`) need: the agent, and the service that keeps its retraining. */
export interface RetrainingDeps extends AgentLookup {
  development: Pick<Development, 'startRetraining' | 'postpone'>;
}

type Changed = { agent: AgentRecord; retraining: RetrainingRecord };

/** Start and Postpone on "retraining due": the agent's sponsors and IT admins; each change is audited with it. */
export function retrainingHandlers(deps: RetrainingDeps) {
  const { development } = deps;
  return {
    'retraining.start': {
      load: (_actor, { agentId }) => loadAgent(deps, agentId),
      authorise: (actor, agent) => assertMayManageRetraining(actor, agent),
      handle: async (actor, _command, agent) => ({ agent, retraining: await development.startRetraining(actor, agent) }),
    },
    // The days and the reason are checked after who may: a stranger learns nothing from a bad form.
    // Typed by name, the agent must be one the person may see first.
    'retraining.postpone': {
      load: (actor, command) => loadNamedAgent(deps, actor, command),
      authorise: (actor, agent, command) => {
        assertMaySeeNamed(deps.org, actor, agent, command);
        assertMayManageRetraining(actor, agent);
      },
      handle: async (actor, { days, reason }, agent) => ({ agent, retraining: await development.postpone(actor, agent, days, reason) }),
    },
  } satisfies {
    'retraining.start': CommandHandler<'retraining.start', AgentRecord, Changed>;
    'retraining.postpone': CommandHandler<'retraining.postpone', AgentRecord, Changed>;
  };
}
