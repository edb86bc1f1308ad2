import type { OrgConfig } from '../../config/schemas.js';
import type { AgentRecord, AgentRepository, KnowledgeNote } from '../../core/agents.js';
import type { AlertRecord, AlertRepository } from '../../core/alerts.js';
import type { CheckInRecord, CheckInRepository } from '../../core/checkin-service.js';
import { NotFoundError } from '../../core/errors.js';
import { parseAgentId } from '../../core/ids.js';
import { assertMayAddKnowledgeNote } from '../../core/policies.js';
import type { Retirement } from '../../core/retirement.js';
import type { Parsed } from '../command.js';
import type { CommandHandler } from '../handler.js';
import { loadAgent } from './load-agent.js';

/** What adding a knowledge note needs: the agent (or the alert or check-in about it), and where notes are recorded. */
export interface AddNoteDeps {
  org: OrgConfig;
  agents: Pick<AgentRepository, 'get'>;
  alerts: Pick<AlertRepository, 'get'>;
  checkins: Pick<CheckInRepository, 'get'>;
  notes: Pick<Retirement, 'recordNote'>;
}

/** What a note was added on: the agent, and the alert or check-in it was added from (their cards are shown again). */
export interface NoteSubject {
  agent: AgentRecord;
  alert?: AlertRecord;
  checkIn?: CheckInRecord;
}

/** The note recorded, and what it was added on. */
export type NoteAdded = NoteSubject & { note: KnowledgeNote };

async function load(deps: AddNoteDeps, command: Parsed<'agent.note.add'>): Promise<NoteSubject> {
  if (command.checkInId) {
    const checkIn = await deps.checkins.get(command.checkInId);
    if (!checkIn) throw new NotFoundError('the check-in', command.checkInId);
    return { checkIn, agent: await loadAgent(deps, checkIn.agentId) };
  }
  if (command.alertId) {
    const alert = await deps.alerts.get(command.alertId);
    if (!alert) throw new NotFoundError('the alert', command.alertId);
    return { alert, agent: await loadAgent(deps, alert.agentId) };
  }
  // A note names what it is about: none is refused as a missing agent id.
  return { agent: await loadAgent(deps, command.agentId ?? parseAgentId(undefined)) };
}

/** Add note: the agent's sponsors and alert responders record what the next person should know. */
export function addNoteHandler(deps: AddNoteDeps): CommandHandler<'agent.note.add', NoteSubject, NoteAdded> {
  return {
    load: (_actor, command) => load(deps, command),
    authorise: (actor, { agent }) => assertMayAddKnowledgeNote(deps.org, actor, agent),
    handle: async (actor, { kind, text }, subject) => ({
      ...subject,
      note: await deps.notes.recordNote(actor, subject.agent, { ...(kind ? { kind } : {}), text }),
    }),
  };
}
