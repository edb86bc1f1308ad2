import type { AgentRecord, AgentRepository } from '../core/agents.js';
import type { KeyRefusal, KeyVerification } from '../core/agent-keys.js';

/** The outcome of checking an agent's client secret. */
export type AgentSecretCheck = { ok: true; agent: AgentRecord } | { ok: false; agent?: AgentRecord; reason?: KeyRefusal };

/**
 * Checks a client secret (the agent's key) with the one key check every door uses
 * ({@link AgentKeys.verifyAgentKey}: an indexed look-up by hash, revoked and rotated-out keys
 * refused), and that the key belongs to the client id presented with it.
 */
export async function verifyAgentSecret(
  verifyKey: (secret: string) => Promise<KeyVerification>,
  agents: AgentRepository,
  clientId: string,
  secret: string,
): Promise<AgentSecretCheck> {
  if (!/^agt_[0-9a-f]{8,32}$/.test(clientId) || secret.length < 8 || secret.length > 512) return { ok: false };
  const verdict = await verifyKey(secret);
  if (!verdict.agent || verdict.agent.id !== clientId) {
    // A wrong secret for a known client still counts against that client (usage and limits).
    const claimed = await agents.get(clientId);
    return claimed ? { ok: false, agent: claimed } : { ok: false };
  }
  return verdict.ok ? { ok: true, agent: verdict.agent } : { ok: false, agent: verdict.agent, reason: verdict.reason };
}
