import { z } from 'zod';

/*
 * View-models of the supervision cards: the check-in review sent to sponsors and the alert
 * paged to on-call. Same conventions as view-models.ts: display values, ids only for buttons.
 */

const id = z.string().regex(/^[\w.:-]{1,200}$/, { error: 'expected an id of letters, digits, _ . : or -' });
const text = z.string().min(1);

/** `checkin`: an agent's performance review with Keep / Retrain / Retire. */
export const checkInDataSchema = z.object({
  checkInId: id,
  agentId: id,
  agentName: text,
  roleTitle: text,
  verdict: z.enum(['healthy', 'watch', 'degraded']),
  recommendation: z.enum(['keep', 'retrain', 'retire']),
  /** e.g. "12 Nov – 19 Nov 2026 vs the 14 days before". */
  windowLabel: text,
  /** Status after the check-in, e.g. "probation". */
  statusLabel: text,
  metrics: z.array(z.object({ metric: text, baseline: text, current: text })),
  findings: z.array(z.object({ severity: z.enum(['watch', 'degraded']), summary: text, method: text })),
  /** Daily accuracy as a text sparkline (may be empty). */
  trend: z.string(),
  /** Who decided, once decided; buttons show only while undecided and the viewer may decide. */
  decision: z.object({ choice: z.enum(['keep', 'retrain', 'retire']), by: text, at: text }).optional(),
  canDecide: z.boolean(),
});

/** `alert`: an on-call page with Acknowledge / Escalate / Snooze / Resolve / Suspend agent. */
export const alertDataSchema = z.object({
  alertId: id,
  agentId: id,
  agentName: text,
  kind: z.enum(['drift', 'fairness', 'error-spike', 'dormant', 'ownerless', 'shadow', 'retired-key']),
  severity: z.enum(['warning', 'critical']),
  status: z.enum(['open', 'acknowledged', 'snoozed', 'resolved']),
  summary: text,
  /** e.g. "Level 2 of 2 · paged Noah Fischer". */
  levelLabel: text,
  raisedAt: text,
  /** e.g. "seen 3 times" when raised more than once. */
  occurrencesLabel: z.string().optional(),
  /** e.g. "Acknowledged by Liam O'Neill at 25 Nov 2026, 20:31 UTC". */
  stateLabel: z.string().optional(),
  /** Whether to show the response buttons (open or snoozed alerts, to responders). */
  canRespond: z.boolean(),
  /** Whether "Suspend agent" applies (a registered agent). */
  canSuspend: z.boolean(),
  /** Whether "Block" applies (a shadow agent: its telemetry is refused from then on). */
  canBlock: z.boolean().default(false),
});

/** Slack action ids / Teams verbs of the supervision cards; values/data carry `{ checkInId }` or `{ alertId }`. */
export const SUPERVISION_ACTIONS = {
  checkInKeep: 'checkin_keep',
  checkInRetrain: 'checkin_retrain',
  checkInRetire: 'checkin_retire',
  alertAck: 'alert_ack',
  alertEscalate: 'alert_escalate',
  alertSnooze1h: 'alert_snooze_1h',
  alertSnooze4h: 'alert_snooze_4h',
  alertSnooze24h: 'alert_snooze_24h',
  alertResolve: 'alert_resolve',
  alertSuspend: 'alert_suspend',
  alertBlock: 'alert_block',
} as const;
