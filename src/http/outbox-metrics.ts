import { Counter, Gauge, type Registry } from 'prom-client';
import type { OutboxObserver } from '../core/outbox.js';
import type { OutboxRepository } from '../core/ports.js';

/**
 * Outbox figures in /metrics: effects performed, failed attempts and parked effects by type
 * (counters), and the effects waiting now (gauge, read from the database at each scrape). Resolves
 * the observer the outbox is built with, so it counts from its first effect.
 */
export function outboxMetrics(registry: Registry, repo: OutboxRepository): OutboxObserver {
  const performed = new Counter({
    name: 'roster_outbox_effects_performed_total',
    help: 'Outbox effects performed, by type',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const failed = new Counter({
    name: 'roster_outbox_effect_failures_total',
    help: 'Failed attempts to perform an outbox effect (retried with back-off), by type',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const parked = new Counter({
    name: 'roster_outbox_effects_parked_total',
    help: 'Outbox effects that reached the retry limit (IT admins were told), by type',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'roster_outbox_depth',
    help: 'Outbox effects waiting to be performed (state=pending) or parked after the retry limit (state=parked)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const depth = await repo.depth();
      this.set({ state: 'pending' }, depth.pending);
      this.set({ state: 'parked' }, depth.parked);
    },
  });
  return {
    performed: (type) => performed.inc({ type }),
    failed: (type) => failed.inc({ type }),
    parked: (type) => parked.inc({ type }),
  };
}
