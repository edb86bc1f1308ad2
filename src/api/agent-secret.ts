import { keyMatches, type AgentRecord, type AgentRepository } from '../core/agents.js';

/** The outcome of checking an agent's client secret. */
export type AgentSecretCheck = { ok: true; agent: AgentRecord } | { ok: false; agent?: AgentRecord };

/**
 * Checks a client secret against the agent's keys (its telemetry key is its client secret):
 * the agent must exist and the secret must match one of its keys that is not revoked. The one
 * place the token endpoint verifies agent keys, so key management can change it alone.
 */
export async function verifyAgentSecret(agents: AgentRepository, clientId: string, secret: string): Promise<AgentSecretCheck> {
  if (!/^agt_[0-9a-f]{8,32}$/.test(clientId) || secret.length < 8 || secret.length > 512) return { ok: false };
  const agent = await agents.get(clientId);
  if (!agent) return { ok: false };
  // Every stored hash is compared (constant time each), so timing does not reveal which key matched.
  let matched = false;
  for (const credential of agent.credentials ?? []) {
    if (keyMatches(secret, credential.hash) && !credential.revokedAt) matched = true;
  }
  return matched ? { ok: true, agent } : { ok: false, agent };
}
