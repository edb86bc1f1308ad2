import type { CardOf } from '../cards/view-models.js';
import type { AgentKeyCards } from '../core/agent-keys.js';
import type { AgentRecord } from '../core/agents.js';
import { noticeCard } from './card-builders.js';

/** The card that shows a key once, to the person who asked for it (or the requester at onboarding). */
export function keyCard(agent: Pick<AgentRecord, 'id' | 'name'>, key: string, title: string, intro = ''): CardOf<'notice'> {
  return noticeCard({
    level: 'success',
    title,
    text: `${intro ? `${intro}\n` : ''}Telemetry key for ${agent.name} (${agent.id}): ${key}\nStore it in your agent platform now: Roster keeps only its hash and will not show it again.`,
  });
}

/** The requester's and sponsors' card when the onboarding key could not be delivered: a new one is a click away. */
export function undeliveredKeyCard(
  agent: Pick<AgentRecord, 'id' | 'name'>,
  credentialId: string,
  requesterName: string,
  reason: string,
): CardOf<'notice'> {
  return noticeCard({
    level: 'error',
    title: `${agent.name}'s telemetry key was not delivered`,
    text: `${agent.name} (${agent.id}) is onboarded, but its one-time telemetry key could not be delivered to ${requesterName} (${reason}). Nobody has seen it and it is in no log. Issue a new key: the undelivered one is revoked and the new one is shown once, only to whoever clicks.`,
    actions: [
      {
        action: 'agent_key_reissue',
        label: 'Issue a new key',
        style: 'primary',
        value: { agentId: agent.id, credentialId },
      },
    ],
  });
}

/** The core's {@link AgentKeyCards} port. */
export const agentKeyCards: AgentKeyCards = { oneTimeKey: keyCard, undelivered: undeliveredKeyCard };
