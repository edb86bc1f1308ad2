import type { OrgConfig } from '../config/schemas.js';
import type { KeyRefusal } from './agent-keys.js';
import type { AgentRepository } from './agents.js';
import type { AlertService } from './alerts.js';
import type { AgentId } from './ids.js';

/** When a burst of failures pages on-call without waiting for the check-in. */
export const ERROR_SPIKE = { minTasks: 20, failureRate: 0.3 } as const;

/** An agent's hourly task counts, as the telemetry store rolls them up. */
export interface HourlyOutcomes {
  hourlyRollupsOf(
    agentIds: readonly AgentId[],
    from: Date,
    to: Date,
  ): Promise<Map<AgentId, ReadonlyArray<{ count: number; outcomes: { failure: number } }>>>;
}

export interface TelemetryAlertsDeps {
  org: OrgConfig;
  agents: Pick<AgentRepository, 'get'>;
  alerts: Pick<AlertService, 'raise' | 'raiseUnregistered'>;
  telemetry: HourlyOutcomes;
  clock: () => Date;
}

/**
 * What telemetry and agent keys tell on-call without waiting for a check-in: an error spike, agents
 * nobody registered (shadow agents), and a refused key still in use.
 */
export class TelemetryAlerts {
  constructor(private readonly deps: TelemetryAlertsDeps) {}

  /**
   * After batches were stored: an error spike is, in the last hour, at least 20 tasks of which 30%
   * or more failed. One read for every agent of the batches stored since the last check; only
   * spiking agents cost more.
   */
  async ingested(agentIds: AgentId[]): Promise<void> {
    const now = this.deps.clock();
    const hours = await this.deps.telemetry.hourlyRollupsOf(
      agentIds,
      new Date(now.getTime() - 3_600_000),
      new Date(now.getTime() + 3_600_000),
    );
    for (const [agentId, rollups] of hours) {
      const count = rollups.reduce((n, h) => n + h.count, 0);
      const failures = rollups.reduce((n, h) => n + h.outcomes.failure, 0);
      if (count >= ERROR_SPIKE.minTasks && failures / count >= ERROR_SPIKE.failureRate) {
        const agent = await this.deps.agents.get(agentId);
        await this.deps.alerts.raise({
          kind: 'error-spike',
          agentId,
          severity: 'critical',
          summary: `${agent?.name ?? agentId}: ${failures} of its last ${count} tasks failed (${Math.round((failures / count) * 100)}% in the past hour).`,
          details: { agentName: agent?.name ?? agentId, failures, count },
        });
      }
    }
  }

  /** A platform key sent telemetry for agents Roster does not know: shadow agents. */
  async unregistered(platformKey: string, agentIds: AgentId[]): Promise<void> {
    await this.deps.alerts.raiseUnregistered(platformKey, agentIds, this.deps.org.settings.unregisteredAgentsListed);
  }

  /**
   * A refused agent key was used (telemetry or the token endpoint): a retired agent is still running,
   * or something still runs with a revoked or rotated-out key.
   */
  async refusedKey(agentId: AgentId, reason: KeyRefusal): Promise<void> {
    const agent = await this.deps.agents.get(agentId);
    const name = agent?.name ?? agentId;
    const why =
      reason === 'agent-retired'
        ? `is ${agent?.status ?? 'retired'} but still uses its old key: a retired agent is still running.`
        : reason === 'revoked'
          ? 'still uses a key that was revoked: something still runs with it (a leaked key, or a platform not yet switched over).'
          : 'still uses a key that was rotated out after its grace period: its platform has not switched to the new key.';
    await this.deps.alerts.raise({
      kind: 'retired-key',
      agentId,
      severity: 'critical',
      summary: `${name} ${why}`,
      details: { agentName: name, keyRefusal: reason },
    });
  }
}
