import type { Connection } from 'mongoose';
import type { KeyCache } from '../core/key-cache.js';
import { createAgentRepository, createGrantRepository } from './agent-store.js';
import { liveAccessReader } from './live-access-store.js';
import { onAccessWrite, type AccessWriteListener } from './access-writes.js';
import { createAlertRepository } from './alert-store.js';
import { createApiUsageRepository } from './api-usage-store.js';
import { createArchiveRepository } from './archive-store.js';
import { createCheckpointHealthStore, createCheckpointStore } from './audit-checkpoint-store.js';
import { createAuditLog } from './audit-store.js';
import { createCheckInRepository } from './checkin-store.js';
import { createClaimRepository } from './claim-store.js';
import { createDelegationRepository } from './delegation-store.js';
import { createDevelopmentRepository } from './development-store.js';
import { createDirectoryStore } from './directory-store.js';
import { createEvalRepository } from './eval-store.js';
import { createLeaverRepository } from './leaver-store.js';
import { createCardDeliveries, createOutboxRepository } from './outbox-store.js';
import { OUTBOX_HOLDERS } from './outbox-holders.js';
import { createReadLog } from './read-log-store.js';
import { createReviewCycleRepository } from './review-cycle-store.js';
import { createRunRepository } from './run-store.js';
import { createBoundaryChangeRepository, createHandoffRepository, createRuntimeApprovalRepository } from './runtime-store.js';
import { createSigningKeyRepository } from './signing-key-store.js';
import { createTelemetryStore } from './telemetry-store.js';
import { createWebhookRepository } from './webhook-store.js';

export interface StoreOptions {
  /** The time an audit entry or a read gets when its input has none. */
  clock: () => Date;
  /** Dropped of an agent's keys on every write to that agent through the agent repository (src/store/access-writes.ts). */
  keyCache: KeyCache;
}

/**
 * Every repository Roster keeps in MongoDB, on one connection, their indexes created: the one
 * place concrete stores are built (src/compose.ts calls it; the core sees only the ports).
 */
export async function createStore(connection: Connection, options: StoreOptions) {
  const { clock } = options;
  // The key cache, like the agent API's live access, forgets an agent at every write to it here.
  onAccessWrite(connection, (agentId) => options.keyCache.forgetAgent(agentId));
  const store = {
    audit: createAuditLog(connection, { clock }),
    agents: createAgentRepository(connection),
    grants: createGrantRepository(connection),
    runs: createRunRepository(connection),
    outbox: createOutboxRepository(connection, OUTBOX_HOLDERS),
    /** Which cards went out, by effect id (the chat-send performer's memory). */
    deliveries: createCardDeliveries(connection),
    claims: createClaimRepository(connection),
    reviewCycles: createReviewCycleRepository(connection),
    reads: createReadLog(connection, clock),
    telemetry: createTelemetryStore(connection),
    alerts: createAlertRepository(connection),
    checkins: createCheckInRepository(connection),
    archives: createArchiveRepository(connection),
    development: createDevelopmentRepository(connection),
    evaluations: createEvalRepository(connection),
    runtimeApprovals: createRuntimeApprovalRepository(connection),
    handoffs: createHandoffRepository(connection),
    boundaryChanges: createBoundaryChangeRepository(connection),
    leavers: createLeaverRepository(connection),
    delegations: createDelegationRepository(connection),
    /** SCIM's users and groups (used in SCIM mode only). */
    directory: createDirectoryStore(connection),
    webhooks: createWebhookRepository(connection),
    checkpoints: createCheckpointStore(connection),
    checkpointHealth: createCheckpointHealthStore(connection),
    signingKeys: createSigningKeyRepository(connection),
    apiUsage: createApiUsageRepository(connection),
    /**
     * The agent API's reads (an agent with its grants and boundary changes, one command) and the
     * writes of this process to them, told by the repositories above (src/store/access-writes.ts).
     */
    liveAccess: {
      read: liveAccessReader(connection),
      onWrite: (listener: AccessWriteListener) => onAccessWrite(connection, listener),
    },
  };
  await Promise.all([
    store.audit.ensureIndexes(),
    store.agents.ensureIndexes(),
    store.grants.ensureIndexes(),
    store.runs.ensureIndexes(),
    store.outbox.ensureIndexes(),
    store.reads.ensureIndexes(),
    store.telemetry.ensureIndexes(),
    store.alerts.ensureIndexes(),
    store.checkins.ensureIndexes(),
    store.archives.ensureIndexes(),
    store.development.ensureIndexes(),
    store.evaluations.ensureIndexes(),
    store.runtimeApprovals.ensureIndexes(),
    store.handoffs.ensureIndexes(),
    store.boundaryChanges.ensureIndexes(),
    store.webhooks.ensureIndexes(),
    store.checkpoints.ensureIndexes(),
  ]);
  return store;
}

/** Roster's repositories, as {@link createStore} builds them. */
export type Store = Awaited<ReturnType<typeof createStore>>;
