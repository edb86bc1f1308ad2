import type { Agenda } from 'agenda';
import type { Connection } from 'mongoose';
import type { OrgConfig } from './config/schemas.js';
import type { Logger } from './logger.js';
import type { Notifier } from './core/notifications.js';
import { agentRequestSteps, type AgentRequestDeps } from './core/agent-request.js';
import { Commands } from './core/commands.js';
import { RunPresenter } from './core/presenter.js';
import { FlowEngine } from './flows/engine.js';
import { loadFlows, registryNames } from './flows/loader.js';
import type { FlowDefinition } from './flows/schema.js';
import type { StepRegistry } from './flows/types.js';
import { createFlowTimers, defineFlowTimerJob } from './jobs/flow-timers.js';
import { createAgentRepository, createGrantRepository } from './store/agent-store.js';
import { createAuditLog } from './store/audit-store.js';
import { createRunRepository } from './store/run-store.js';

export interface ServiceSettings {
  connection: Connection;
  agenda: Agenda;
  org: OrgConfig;
  log: Logger;
  notifier: Notifier;
  /** Directory of `*.yaml` flows (default `./flows`), or flows already loaded. */
  flows: string | ReadonlyMap<string, FlowDefinition>;
  clock?: () => Date;
}

export type Services = Awaited<ReturnType<typeof createServices>>;

/** Every named check, action, condition and gate the flows may use. */
export function createStepRegistry(deps: AgentRequestDeps): StepRegistry {
  return agentRequestSteps(deps);
}

/**
 * Loads and validates `flows/*.yaml` against the registry's names without a database, so a bad
 * flow stops start-up (and `roster config check`) naming the file and the step.
 */
export function loadFlowDefinitions(dir: string): Map<string, FlowDefinition> {
  const unused = undefined as never;
  return loadFlows(
    dir,
    registryNames(createStepRegistry({ org: unused, agents: unused, grants: unused, audit: unused, notifier: unused, clock: unused })),
  );
}

/** Builds the platform-free services on a database connection; channels and jobs use these. */
export async function createServices(settings: ServiceSettings) {
  const { connection, agenda, org, log, notifier } = settings;
  const clock = settings.clock ?? (() => new Date());
  const audit = createAuditLog(connection, { clock });
  const agents = createAgentRepository(connection);
  const grants = createGrantRepository(connection);
  const runs = createRunRepository(connection);
  await Promise.all([audit.ensureIndexes(), agents.ensureIndexes(), grants.ensureIndexes(), runs.ensureIndexes()]);

  const registry = createStepRegistry({ org, agents, grants, audit, notifier, clock });
  const flows = typeof settings.flows === 'string' ? loadFlows(settings.flows, registryNames(registry)) : settings.flows;
  const presenter = new RunPresenter(org, flows);
  const engine = new FlowEngine({
    flows,
    registry,
    runs,
    audit,
    notifier,
    timers: createFlowTimers(agenda),
    presenter,
    org,
    log: log.child({ component: 'flows' }),
    clock,
  });
  defineFlowTimerJob(agenda, (timer) => engine.onTimer(timer));
  const commands = new Commands({ org, agents, grants, audit, engine, clock });
  return { audit, agents, grants, runs, engine, presenter, commands, registry, flows };
}
