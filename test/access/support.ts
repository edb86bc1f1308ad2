import { loadOrgConfig } from '../../src/config/org-config.js';
import type { AccessSettings } from '../../src/core/access.js';
import type { AgentRecord } from '../../src/core/agents.js';
import { isRosterError } from '../../src/core/errors.js';
import { createScheduler } from '../../src/jobs/scheduler.js';
import { createServices } from '../../src/services.js';
import { openTestDb } from '../helpers/db.js';
import { FAST_FLOWS, SHIPPED_CONFIG, type Harness } from '../helpers/harness.js';
import { silentLogger } from '../helpers/logger.js';
import { RecordingNotifier } from '../helpers/recording-notifier.js';

/** Like startHarness, with the fast flows and grant reminder timing injected. */
export async function startAccessHarness(access: Partial<AccessSettings> = {}): Promise<Harness> {
  const db = await openTestDb();
  const org = loadOrgConfig(SHIPPED_CONFIG);
  const notifier = new RecordingNotifier();
  const scheduler = createScheduler({ connection: db.connection, log: silentLogger(), processEvery: 100, lockLifetimeMs: 4000 });
  const services = await createServices({
    connection: db.connection,
    agenda: scheduler.agenda,
    org,
    log: silentLogger(),
    notifier,
    flows: FAST_FLOWS,
    access,
  });
  await scheduler.start();
  let closed = false;
  return {
    db,
    org,
    scheduler,
    notifier,
    services,
    restart: () => {
      throw new Error('not supported');
    },
    async close() {
      if (!closed) await scheduler.stop();
      closed = true;
      await db.close();
    },
  };
}

/** An active agent stored directly (its onboarding is the agent-request flow's business, tested elsewhere). */
export async function activeAgent(h: Harness, overrides: Partial<AgentRecord> = {}): Promise<AgentRecord> {
  const now = new Date().toISOString();
  const agent: AgentRecord = {
    id: `agt_${Math.random().toString(16).slice(2, 18).padEnd(16, '0')}`,
    name: 'Support Copilot',
    catalogRoleId: 'support-assistant',
    version: '1.0.0',
    sponsors: ['tom.becker@brightwater.example'],
    businessUnit: 'customer-support',
    status: 'active',
    purpose: 'Drafts replies to customer tickets.',
    requestedBy: 'tom.becker@brightwater.example',
    requestRunId: 'run_none',
    credentials: [],
    knowledgeNotes: [],
    complianceTags: [],
    createdAt: now,
    updatedAt: now,
    statusChangedAt: now,
    ...overrides,
  };
  await h.services.agents.insert(agent);
  return agent;
}

export async function errorOf(p: Promise<unknown>): Promise<{ code: string; userMessage: string }> {
  try {
    await p;
  } catch (err) {
    if (isRosterError(err)) return { code: err.code, userMessage: err.userMessage };
    throw err;
  }
  throw new Error('expected a coded error');
}
