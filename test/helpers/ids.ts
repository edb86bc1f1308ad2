import {
  trustedId,
  type AgentId,
  type AlertId,
  type ApprovalId,
  type CheckInId,
  type EvalRunId,
  type GrantId,
  type HandoffId,
  type RunId,
  type WebhookSubscriptionId,
} from '../../src/core/ids.js';

/*
 * Fixed ids for tests, branded without a check: a test names the ids it stores and looks up, as
 * the store brands what it reads back. Edges parse ids (see src/core/ids.ts); tests of an edge
 * send raw strings to it, never these.
 */

/** An agent id a test chose. */
export const asAgentId = (id: string): AgentId => trustedId('AgentId', id);
/** A run (request) id a test chose or read from a card. */
export const asRunId = (id: string): RunId => trustedId('RunId', id);
/** A grant id a test chose. */
export const asGrantId = (id: string): GrantId => trustedId('GrantId', id);
/** An alert id a test chose or read from a card. */
export const asAlertId = (id: string): AlertId => trustedId('AlertId', id);
/** A check-in id a test chose or read from a card. */
export const asCheckInId = (id: string): CheckInId => trustedId('CheckInId', id);
/** A runtime approval's id a test read from the API's answer. */
export const asApprovalId = (id: string): ApprovalId => trustedId('ApprovalId', id);
/** A hand-off's id a test read from the API's answer. */
export const asHandoffId = (id: string): HandoffId => trustedId('HandoffId', id);
/** A webhook subscription's id, as a test's org config names it. */
export const asWebhookSubscriptionId = (id: string): WebhookSubscriptionId => trustedId('WebhookSubscriptionId', id);
/** An evaluation run's id a test chose. */
export const asEvalRunId = (id: string): EvalRunId => trustedId('EvalRunId', id);
