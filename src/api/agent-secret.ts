import type { AgentRecord } from '../core/agents.js';
import type { KeyRefusal, KeyVerification } from '../core/agent-keys.js';

/** The outcome of checking an agent's client secret. */
export type AgentSecretCheck = { ok: true; agent: AgentRecord } | { ok: false; agent?: AgentRecord; reason?: KeyRefusal };

/** The one key check (AgentKeys.verifyAgentKey), with the record of the claimed client when the caller has it. */
export type VerifyKey = (secret: string, options?: { known?: AgentRecord }) => Promise<KeyVerification>;

/**
 * Checks a client secret (the agent's key) with the one key check every door uses
 * ({@link AgentKeys.verifyAgentKey}: revoked and rotated-out keys refused), and that the key
 * belongs to the client id presented with it. `claimed`: the client as the caller read it (the
 * agent API's live access: at most its cache lifetime old, forgotten at every write here;
 * undefined when there is no such agent), which decides a key among its own credentials without
 * a read; any other key is an indexed look-up by its hash.
 */
export async function verifyAgentSecret(
  verifyKey: VerifyKey,
  clientId: string,
  secret: string,
  claimed: AgentRecord | undefined,
): Promise<AgentSecretCheck> {
  if (!isClientId(clientId) || secret.length < 8 || secret.length > 512) return { ok: false };
  const known = claimed?.id === clientId ? claimed : undefined;
  const verdict = await verifyKey(secret, known ? { known } : {});
  if (!verdict.agent || verdict.agent.id !== clientId) {
    // A wrong secret for a known client still counts against that client (usage and limits).
    return known ? { ok: false, agent: known } : { ok: false };
  }
  return verdict.ok ? { ok: true, agent: verdict.agent } : { ok: false, agent: verdict.agent, reason: verdict.reason };
}

/** Whether a client id has the shape of an agent id (anything else is refused before any read). */
export function isClientId(clientId: string): boolean {
  return /^agt_[0-9a-f]{8,32}$/.test(clientId);
}
