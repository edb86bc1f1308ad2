import type { AuditLog } from '../core/audit.js';
import type { Logger } from '../logger.js';
import type { ApiUsageRepository } from '../store/api-usage-store.js';
import type { AgentId } from '../core/ids.js';

/** The counters kept per agent and hour. */
export type UsageCounter =
  'token_issued' | 'token_refused' | 'introspection_active' | 'introspection_inactive' | 'access_allowed' | 'access_denied';

const HOUR = 3_600_000;
const hourOf = (ms: number) => new Date(Math.floor(ms / HOUR) * HOUR).toISOString();

/**
 * Token, introspection and access-check calls are audited in aggregate, not per call: counts
 * are buffered here for a couple of seconds, added with `$inc` to one document per agent and
 * hour, and each finished hour becomes one audit entry per agent (the summary job).
 */
export class ApiUsage {
  private pending = new Map<string, { agentId: AgentId; hour: string; counts: Record<string, number> }>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: { repo: ApiUsageRepository; audit: AuditLog; log: Logger; flushEveryMs?: number; clock?: () => Date },
  ) {}

  private now(): number {
    return (this.deps.clock ?? (() => new Date()))().getTime();
  }

  /** Counts one call for the agent (in this hour). */
  count(agentId: AgentId, counter: UsageCounter): void {
    const hour = hourOf(this.now());
    const key = `${agentId}|${hour}`;
    const entry = this.pending.get(key) ?? { agentId, hour, counts: {} };
    entry.counts[counter] = (entry.counts[counter] ?? 0) + 1;
    this.pending.set(key, entry);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.deps.flushEveryMs ?? 2000);
    this.timer.unref?.();
  }

  /** Writes the buffered counts now. */
  flush(): Promise<void> {
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.flushing = this.flushing
      .then(() => this.deps.repo.add(batch))
      .catch((err: unknown) => this.deps.log.warn({ err }, 'could not store API usage counters'));
    return this.flushing;
  }

  /** Writes the audit summary of every finished hour not summarised yet; resolves the hours done. */
  async summarise(): Promise<string[]> {
    await this.flush();
    const done: string[] = [];
    for (const hour of await this.deps.repo.unsummarisedHoursBefore(hourOf(this.now()))) {
      if (!(await this.deps.repo.claimSummary(hour))) continue;
      for (const usage of await this.deps.repo.forHour(hour)) {
        await this.deps.audit.append({
          actor: { kind: 'system', name: 'agent-api' },
          action: 'api.usage.hourly',
          subject: { type: 'agent', id: usage.agentId, agentId: usage.agentId },
          details: { hour, counts: usage.counts },
        });
      }
      done.push(hour);
    }
    return done;
  }

  /** Stops the flush timer and writes what is buffered. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
