import type { TelemetryEvent } from '../core/telemetry.js';
import type { AgentId } from '../core/ids.js';

/** mulberry32: a small seeded PRNG, so every run generates the same events. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Profile = 'healthy' | 'accuracy-drop' | 'latency-shift' | 'biased';

export interface GeneratorOptions {
  agentId: AgentId;
  profile: Profile;
  /** Days of history ending at `end` (exclusive). */
  days: number;
  end: Date;
  perDay?: number;
  seed?: number;
  /** Days at the end affected by the drift (accuracy drop, latency shift). */
  driftDays?: number;
}

const DAY = 86_400_000;

/**
 * Deterministic telemetry for the check-in tests: a healthy agent (accuracy 0.92, p95 about 1.5 s),
 * one whose accuracy falls to 0.80, one whose latency triples, and a biased one whose favourable
 * rate is 0.5 for segment "south" against 0.8 for "north".
 */
export function generateEvents(o: GeneratorOptions): TelemetryEvent[] {
  const random = prng(o.seed ?? 42);
  const perDay = o.perDay ?? 120;
  const driftDays = o.driftDays ?? 7;
  const events: TelemetryEvent[] = [];
  const start = o.end.getTime() - o.days * DAY;
  for (let day = 0; day < o.days; day++) {
    const drifting = day >= o.days - driftDays;
    for (let i = 0; i < perDay; i++) {
      const segment = random() < 0.5 ? 'north' : 'south';
      let accuracy = 0.92;
      if (o.profile === 'accuracy-drop' && drifting) accuracy = 0.8;
      let favourable: boolean | undefined;
      if (o.profile === 'biased') favourable = random() < (segment === 'south' ? 0.5 : 0.8);
      const correct = random() < accuracy;
      const outcome = correct ? 'success' : random() < 0.5 ? 'failure' : 'handed-to-human';
      const latencyBase = o.profile === 'latency-shift' && drifting ? 2400 : 800;
      const latencyMs = Math.round(latencyBase * Math.exp((random() - 0.5) * 0.8));
      events.push({
        eventId: `${o.agentId}-${day}-${i}`,
        agentId: o.agentId,
        time: new Date(start + day * DAY + Math.floor((i / perDay) * DAY)),
        taskType: random() < 0.7 ? 'answer' : 'summarise',
        outcome,
        correctness: correct ? 1 : 0,
        latencyMs,
        costUSD: 0.004 + random() * 0.002,
        tokens: 800 + Math.floor(random() * 400),
        segment,
        ...(favourable !== undefined ? { favourable } : {}),
        decisionSummary: `Answered a ${segment} customer's question (${outcome})`,
      });
    }
  }
  return events;
}
