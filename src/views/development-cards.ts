import type { CardOf } from '../cards/view-models.js';
import type { AgentRecord } from '../core/agents.js';
import type { DevelopmentCards } from '../core/development.js';
import { displayDate } from '../core/time.js';
import { noticeCard } from './card-builders.js';

/** Start / Postpone on a "retraining due" notice. */
function retrainingActions(agentId: string) {
  return [
    { action: 'retrain_start' as const, label: 'Start retraining', style: 'primary' as const, value: { agentId } },
    { action: 'retrain_postpone' as const, label: 'Postpone…', value: { agentId } },
  ];
}

/** To whoever asked for a version that Roster measured and refused: why, and that the live version stays. */
export function versionRefusedNotice(r: { agentName: string; version: string; reasons: string[]; liveVersion: string }): CardOf<'notice'> {
  return noticeCard({
    level: 'error',
    title: `Version ${r.version} of ${r.agentName} is refused`,
    text: `Measured by Roster: ${r.reasons.join('; ')}. ${r.liveVersion} stays live.`,
  });
}

/** To IT admins: a retraining is overdue; with Start / Postpone. */
export function retrainingOverdueNotice(
  agent: Pick<AgentRecord, 'id' | 'name' | 'sponsors'>,
  dueAt: string,
  postponedBecause?: string,
): CardOf<'notice'> {
  return noticeCard({
    level: 'warning',
    title: `Retraining overdue: ${agent.name}`,
    text: `${agent.name} was due for retraining on ${displayDate(dueAt)}${postponedBecause ? ` and was postponed ("${postponedBecause}")` : ''}. Its sponsors: ${agent.sponsors.join(', ')}.`,
    actions: retrainingActions(agent.id),
  });
}

/** To the sponsors: a retraining is due or asked for; with Start / Postpone. */
export function retrainingNotice(agentId: string, title: string, text: string): CardOf<'notice'> {
  return noticeCard({ level: 'info', title, text, actions: retrainingActions(agentId) });
}

/** The core's {@link DevelopmentCards} port. */
export const developmentCards: DevelopmentCards = {
  versionRefused: versionRefusedNotice,
  retrainingOverdue: retrainingOverdueNotice,
  retraining: retrainingNotice,
};
