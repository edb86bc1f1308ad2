import type { OrgConfig } from '../config/schemas.js';
import type { CardOf } from '../cards/view-models.js';
import type { FlowRun } from '../flows/types.js';
import type { AgentRecord, GrantRecord, GrantStatus } from '../core/agents.js';
import type { AccessContext, GrantButton, GrantCards, GrantWords } from '../core/access.js';
import { displayDate } from '../core/time.js';
import type { AccessReviewCards, SponsorReview, UnattestedGrants } from '../core/access-review.js';
import { accessReviewCard, grantNoticeCard, noticeCard } from './card-builders.js';
import { personName } from './names.js';

const STATUS_LABELS: Record<GrantStatus, string> = {
  pending: 'Waiting for approval',
  active: 'Active',
  expired: 'Expired',
  revoked: 'Revoked',
  denied: 'Denied',
};

function statusLabel(grant: Pick<GrantRecord, 'status' | 'source' | 'confirmedBy'>, org: OrgConfig): string {
  const base = STATUS_LABELS[grant.status];
  if (grant.source !== 'break-glass') return base;
  return `${base} (break-glass${grant.confirmedBy ? `, confirmed by ${personName(org, grant.confirmedBy)}` : ''})`;
}

/** A `grant-notice` card about one grant, with the buttons named (shown only while the grant is active). */
export function grantNotice(
  org: OrgConfig,
  grant: GrantRecord,
  agent: Pick<AgentRecord, 'name'>,
  words: GrantWords,
  buttons: GrantButton[] = [],
): CardOf<'grant-notice'> {
  const live = grant.status === 'active';
  return grantNoticeCard({
    level: words.level,
    title: words.title,
    text: words.text || '—',
    grantId: grant.id,
    agentName: agent.name,
    scope: grant.scope,
    statusLabel: statusLabel(grant, org),
    ...(grant.expiresAt ? { expiresAt: displayDate(grant.expiresAt) } : {}),
    ...(words.capNote ? { capNote: words.capNote } : {}),
    ...(grant.reason ? { reason: grant.reason } : {}),
    canExtend: live && buttons.includes('extend'),
    canLetExpire: live && buttons.includes('let-expire'),
    canRevoke: (live || grant.status === 'pending') && buttons.includes('revoke'),
    canConfirm: live && !grant.confirmedBy && buttons.includes('confirm'),
  });
}

/** The core's {@link GrantCards} port, over the directory's names. */
export function grantCards(org: OrgConfig): GrantCards {
  return { notice: (grant, agent, words, buttons) => grantNotice(org, grant, agent, words, buttons) };
}

/** The grant as a run of an access flow knows it (before anyone reads the database). */
function grantOfRun(run: FlowRun): GrantRecord {
  const c = run.context as AccessContext;
  return {
    id: c.grantId,
    agentId: c.agentId,
    scope: c.scope,
    reason: c.reason,
    requestedBy: run.requester,
    approvedBy: [],
    startsAt: (c.startsAt as string | undefined) ?? '',
    expiresAt: c.expiresAt ?? '',
    status: c.expiresAt ? 'active' : 'pending',
    source: run.flowId === 'break-glass' ? 'break-glass' : run.id,
    createdAt: run.createdAt,
  };
}

/** Cards named by the notify steps of `flows/access-request.yaml` and `flows/break-glass.yaml`. */
export function accessNotifyCard(org: OrgConfig, kind: string, run: FlowRun, recipient?: string): CardOf<'grant-notice'> | undefined {
  const c = run.context as AccessContext;
  const grant = grantOfRun(run);
  const agent = { name: c.agentName };
  const approvers = Object.values(run.steps).flatMap((s) => (s.decisions ?? []).filter((d) => d.decision === 'approve').map((d) => d.by));
  switch (kind) {
    case 'access-granted':
      return grantNotice(org, grant, agent, {
        level: 'success',
        title: `${c.agentName} has ${c.scope} for ${c.durationText}`,
        text: `Approved by ${approvers.map((a) => personName(org, a)).join(', ') || 'the approvers'}. The clock started at approval; sponsors get reminders before it ends.`,
        ...(c.capNote ? { capNote: c.capNote } : {}),
      });
    case 'break-glass-granted':
      return grantNotice(org, grant, agent, {
        level: 'warning',
        title: `Break-glass: ${c.agentName} has ${c.scope} for ${c.durationText}`,
        text: `${personName(org, run.requester)} broke glass. Security has been paged and will review this use.`,
      });
    case 'break-glass-review':
      return grantNotice(
        org,
        grant,
        agent,
        {
          level: 'error',
          title: `Break-glass: ${c.agentName} got ${c.scope} for ${c.durationText}`,
          text:
            recipient === run.requester
              ? `You broke glass; another member of security confirms it. You may revoke the access now.`
              : `${personName(org, run.requester)} broke glass. Review it: confirm the emergency or revoke the access now.`,
        },
        // Nobody confirms their own emergency.
        recipient === run.requester ? ['revoke'] : ['confirm', 'revoke'],
      );
    default:
      return undefined;
  }
}

/** A sponsor's access review card: Keep or Revoke per open grant, the answers given so far. */
export function accessReview(review: SponsorReview): CardOf<'access-review'> {
  return accessReviewCard({
    reviewId: review.cycle,
    title: `${review.cadence} access review`,
    intro: `You sponsor ${new Set(review.items.map((i) => i.grant.agentId)).size} agent(s) holding ${review.items.length} grant(s). Keep what they still need and revoke the rest; unanswered grants are ${review.enforcement === 'revoke' ? 'revoked' : 'flagged to IT'} after the due date.`,
    dueAt: displayDate(review.dueAt),
    items: review.items.map(({ grant, agentName, state, decidedBy }) => ({
      grantId: grant.id,
      agentName,
      scope: grant.scope,
      expiresAt: grant.expiresAt ? displayDate(grant.expiresAt) : '—',
      state,
      ...(decidedBy ? { decidedBy } : {}),
      canDecide: state === 'open',
    })),
  });
}

/** What IT admins are told when a cycle's deadline passed with grants nobody attested. */
export function unattestedGrantsNotice({ cycle, enforcement, grants }: UnattestedGrants): CardOf<'notice'> {
  const lines = grants.map(
    ({ grant, agentName, sponsors }) => `• ${agentName}: ${grant.scope} (sponsors: ${sponsors.join(', ') || 'none'})`,
  );
  const verb = enforcement === 'revoke' ? 'were revoked' : 'are flagged for you to decide';
  return noticeCard({
    level: 'warning',
    title: `Access review: ${grants.length} grant${grants.length === 1 ? '' : 's'} not attested in time`,
    text: `Their sponsors did not answer access review ${cycle} within the grace period, so these grants ${verb}:\n${lines.join('\n')}`,
  });
}

/** The core's {@link AccessReviewCards} port. */
export const accessReviewCards: AccessReviewCards = { review: accessReview, escalated: unattestedGrantsNotice };
