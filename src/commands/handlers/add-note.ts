import type { OrgConfig } from '../../config/schemas.js';
import type { AgentRecord, KnowledgeNote } from '../../core/agents.js';
import type { AlertRecord, AlertRepository } from '../../core/alerts.js';
import type { CheckInRecord, CheckInRepository } from '../../core/checkin-service.js';
import { assertMayAddKnowledgeNote } from '../../core/policies.js';
import type { Retirement } from '../../core/retirement.js';
import type { Person } from '../../config/schemas.js';
import type { Parsed } from '../command.js';
import type { CommandHandler } from '../handler.js';
import { assertMaySeeNamed, loadAlertAndAgent, loadCheckIn, loadNamedAgent } from './load-agent.js';
import type { AgentLookup } from './show-agent.js';

/** What adding a knowledge note needs: the agent (or the alert or check-in about it), and where notes are recorded. */
export interface AddNoteDeps extends AgentLookup {
  org: OrgConfig;
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

async function load(deps: AddNoteDeps, actor: Person, command: Parsed<'agent.note.add'>): Promise<NoteSubject> {
  if (command.checkInId) {
    const { record: checkIn, agent } = await loadCheckIn(deps, command.checkInId);
    return { checkIn, agent };
  }
  if (command.alertId) return loadAlertAndAgent(deps, command.alertId);
  return { agent: await loadNamedAgent(deps, actor, command) };
}

/**
 * Add note (a button, a prompt or the typed `note`): the agent's sponsors and alert responders record
 * what the next person should know; an agent typed by name must be one the person may see first.
 */
export function addNoteHandler(deps: AddNoteDeps): CommandHandler<'agent.note.add', NoteSubject, NoteAdded> {
  return {
    load: (actor, command) => load(deps, actor, command),
    authorise: (actor, { agent }, command) => {
      assertMaySeeNamed(deps.org, actor, agent, command);
      assertMayAddKnowledgeNote(deps.org, actor, agent);
    },
    handle: async (actor, { kind, text }, subject) => ({
      ...subject,
      note: await deps.notes.recordNote(actor, subject.agent, { ...(kind ? { kind } : {}), text }),
    }),
  };
}
