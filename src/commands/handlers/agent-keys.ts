import type { AgentRecord } from '../../core/agents.js';
import type { AgentKeys, IssuedKey } from '../../core/agent-keys.js';
import { assertMayReissueKey, assertMayRotateKey } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';

/** What a new telemetry key needs: the keys service (the agent in a status that may get one, and the key change). */
export interface AgentKeyDeps {
  keys: Pick<AgentKeys, 'keyed' | 'rotateKey' | 'reissueKey'>;
}

type Issued = { agent: AgentRecord; issued: IssuedKey };

/**
 * Rotate key (the agent's sponsors and IT admins) and Issue a new key after a failed delivery (its
 * requester too): the key is in the result only, shown to who asked; the change is audited without it.
 */
export function agentKeyHandlers(deps: AgentKeyDeps) {
  const { keys } = deps;
  return {
    'agent.key.rotate': {
      load: (_actor, { agentId }) => keys.keyed(agentId),
      authorise: (actor, agent) => assertMayRotateKey(actor, agent),
      handle: async (actor, _command, agent) => ({ agent, issued: await keys.rotateKey(actor, agent) }),
    },
    'agent.key.reissue': {
      load: (_actor, { agentId }) => keys.keyed(agentId),
      authorise: (actor, agent) => assertMayReissueKey(actor, agent),
      handle: async (actor, { credentialId }, agent) => ({ agent, issued: await keys.reissueKey(actor, agent, credentialId) }),
    },
  } satisfies {
    'agent.key.rotate': CommandHandler<'agent.key.rotate', AgentRecord, Issued>;
    'agent.key.reissue': CommandHandler<'agent.key.reissue', AgentRecord, Issued>;
  };
}
