import { AGENT_HOLDER } from '../core/agents.js';
import { ALERT_HOLDER } from '../core/alerts.js';
import { GRANT_HOLDER } from '../core/access.js';
import { REVIEW_CYCLE_HOLDER } from '../core/access-review.js';
import { CHECKPOINT_HEALTH_HOLDER } from '../core/audit-checkpoint-alarm.js';
import { BOUNDARY_CHANGE_HOLDER } from '../core/boundary-changes.js';
import { CHECKIN_HOLDER } from '../core/checkin-service.js';
import { DELEGATION_HOLDER } from '../core/delegations.js';
import { RETRAINING_HOLDER, VERSION_HOLDER } from '../core/development.js';
import { HANDOFF_HOLDER } from '../core/handoffs.js';
import { OFFER_HOLDER } from '../core/leavers.js';
import { RUNTIME_APPROVAL_HOLDER } from '../core/runtime-approvals.js';
import { WEBHOOK_HOLDER } from '../core/webhooks.js';
import { DIRECTORY_GROUP_HOLDER, DIRECTORY_USER_HOLDER } from '../directory/directory-service.js';
import { EVAL_ENDPOINT_HOLDER, EVAL_RUN_HOLDER } from '../evals/evaluations.js';
import { RUN_HOLDER } from '../flows/engine.js';
import { CHECKPOINT_HEALTH_COLLECTION } from './audit-checkpoint-store.js';
import { DIRECTORY_GROUPS, DIRECTORY_USERS } from './directory-store.js';
import { REVIEW_CYCLES } from './review-cycle-store.js';
import { WEBHOOK_SUBSCRIPTIONS } from './webhook-store.js';

/** The collections whose records carry an outbox, by holder kind. */
export const OUTBOX_HOLDERS: Record<string, string> = {
  [RUN_HOLDER]: 'flow_runs',
  [GRANT_HOLDER]: 'grants',
  [ALERT_HOLDER]: 'alerts',
  [DELEGATION_HOLDER]: 'delegations',
  [OFFER_HOLDER]: 'sponsorship_offers',
  [EVAL_RUN_HOLDER]: 'eval_runs',
  [EVAL_ENDPOINT_HOLDER]: 'eval_endpoints',
  [RUNTIME_APPROVAL_HOLDER]: 'runtime_approvals',
  [HANDOFF_HOLDER]: 'handoffs',
  [AGENT_HOLDER]: 'agents',
  [BOUNDARY_CHANGE_HOLDER]: 'boundary_changes',
  [CHECKIN_HOLDER]: 'checkins',
  [RETRAINING_HOLDER]: 'retraining',
  [VERSION_HOLDER]: 'agent_versions',
  [WEBHOOK_HOLDER]: WEBHOOK_SUBSCRIPTIONS,
  [CHECKPOINT_HEALTH_HOLDER]: CHECKPOINT_HEALTH_COLLECTION,
  [REVIEW_CYCLE_HOLDER]: REVIEW_CYCLES,
  [DIRECTORY_USER_HOLDER]: DIRECTORY_USERS,
  [DIRECTORY_GROUP_HOLDER]: DIRECTORY_GROUPS,
};
