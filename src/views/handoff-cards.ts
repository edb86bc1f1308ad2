import type { OrgConfig } from '../config/schemas.js';
import type { CardOf } from '../cards/view-models.js';
import { defangAgentText, reportedByAgent } from '../core/agent-text.js';
import type { HandoffCards, HandoffRecord } from '../core/handoffs.js';
import { noticeCard } from './card-builders.js';
import { personName } from './names.js';

/** A hand-off's card for one person: Take it while open; Resolve buttons for the one who took it; with `reminder`, titled as one. */
export function handoffCard(org: OrgConfig, r: HandoffRecord, viewer: string, reminder = false): CardOf<'notice'> {
  const name = (email?: string) => personName(org, email);
  // Keys, values and the link are the agent's words: framed as such and never linked.
  const facts = Object.entries(r.details).map(([k, v]) => `${defangAgentText(k)}: ${reportedByAgent(String(v), 300)}`);
  const state =
    r.status === 'open'
      ? 'Waiting for someone to take it.'
      : r.status === 'taken'
        ? `Taken by ${name(r.takenBy)}.`
        : `Resolved by ${name(r.resolvedBy)}: ${r.outcome}.`;
  const take =
    r.status === 'open'
      ? [{ action: 'handoff_take' as const, label: 'Take it', style: 'primary' as const, value: { handoffId: r.id } }]
      : [];
  // One section per outcome: Slack refuses two buttons with the same action id in one block.
  const resolve =
    r.status === 'taken' && r.takenBy === viewer
      ? r.outcomes.map((o, i) => ({
          text: `Resolve as *${o}*`,
          actions: [
            {
              action: 'handoff_resolve' as const,
              label: `Resolve: ${o}`,
              ...(i === 0 ? { style: 'primary' as const } : {}),
              value: { handoffId: r.id, outcome: o },
            },
          ],
        }))
      : [];
  const factsSection =
    facts.length || r.link
      ? [
          {
            text: [...facts, ...(r.link ? [`Link (as text, not opened by Roster): ${reportedByAgent(r.link, 600)}`] : [])]
              .join('\n')
              .slice(0, 2900),
            actions: [],
          },
        ]
      : [];
  const sections = [...factsSection, ...resolve];
  return noticeCard({
    level: r.status === 'resolved' ? 'success' : 'info',
    title: `${reminder ? 'Reminder: ' : ''}${r.agentName} hands off a case to ${r.queueTitle}`,
    text: `${reportedByAgent(r.summary, 2000).replace(/^r/, 'R')}\n${state}`,
    ...(sections.length ? { sections } : {}),
    ...(take.length ? { actions: take } : {}),
  });
}

/** The core's {@link HandoffCards} port, over the directory's names. */
export function handoffCards(org: OrgConfig): HandoffCards {
  return { card: (r, viewer, reminder) => handoffCard(org, r, viewer, reminder) };
}
