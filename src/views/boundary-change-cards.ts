import type { OrgConfig } from '../config/schemas.js';
import type { CardOf } from '../cards/view-models.js';
import { MODE_WORDS, type BoundaryChangeCards, type BoundaryChangeRecord } from '../core/boundary-changes.js';
import { noticeCard } from './card-builders.js';
import { personName } from './names.js';

/** A boundary change request's card for one person: Approve / Deny… for an IT admin while pending, the outcome otherwise. */
export function boundaryChangeCard(org: OrgConfig, r: BoundaryChangeRecord, viewer: string): CardOf<'notice'> {
  const name = (email?: string) => personName(org, email);
  const change = `${r.actionTitle} (${r.action}) for ${r.agentName} (${r.agentId}): from ${MODE_WORDS[r.from]} to ${MODE_WORDS[r.to]}.`;
  const said = `${name(r.requestedBy)} (sponsor) says: “${r.reason}”`;
  if (r.status === 'pending') {
    const mayDecide = viewer !== r.requestedBy && r.deciders.includes(viewer);
    return noticeCard({
      level: r.to === 'autonomous' ? 'warning' : 'info',
      title: `Boundary change for ${r.agentName}: IT approval needed`,
      text: `${change}\n${said}\nUntil an IT admin approves, the current boundary stays in effect (request ${r.id}).`,
      ...(mayDecide
        ? {
            actions: [
              { action: 'boundary_approve', label: 'Approve', style: 'primary', value: { changeId: r.id } },
              { action: 'boundary_deny', label: 'Deny…', style: 'danger', value: { changeId: r.id } },
            ],
          }
        : {}),
    });
  }
  const approved = r.status === 'approved';
  return noticeCard({
    level: approved ? 'success' : 'warning',
    title: `Boundary change for ${r.agentName} ${approved ? 'approved' : 'denied'}`,
    text: `${change}\n${said}\n${approved ? `Approved by ${name(r.decidedBy)}: it applies to ${r.agentName}'s next requests.` : `Denied by ${name(r.decidedBy)}: “${r.denyReason ?? ''}” The boundary stays as it was.`}`,
  });
}

/** The core's {@link BoundaryChangeCards} port, over the directory's names. */
export function boundaryChangeCards(org: OrgConfig): BoundaryChangeCards {
  return { card: (r, viewer) => boundaryChangeCard(org, r, viewer) };
}
