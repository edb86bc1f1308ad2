import type { Connection } from 'mongoose';
import { Gauge, type Registry } from 'prom-client';
import { percentile } from '../core/evaluation.js';
import { currentFlowId } from '../flows/renamed-flows.js';

export interface BusinessMetricsOptions {
  /** How long one set of figures answers scrapes; several Prometheis or replicas share it. */
  cacheMs?: number;
  /** The window for latency and check-in figures. */
  windowDays?: number;
  now?: () => Date;
}

interface Figures {
  agents: Array<{ status: string; n: number }>;
  pending: Array<{ flow: string; n: number; oldestSeconds: number }>;
  latency: Array<{ flow: string; quantile: string; seconds: number }>;
  decided: Array<{ flow: string; outcome: string; n: number }>;
  alerts: Array<{ severity: string; kind: string; status: string; n: number }>;
  findings: Array<{ metric: string; severity: string; n: number }>;
  verdicts: Array<{ verdict: string; n: number }>;
}

const QUANTILES = [0.5, 0.9, 0.99];

interface RunSteps {
  flowId?: string;
  status?: string;
  steps?: Record<string, { status?: string; startedAt?: string; endedAt?: string; groups?: unknown; decisions?: unknown }>;
}

/**
 * Business figures on /metrics, read from the database when Prometheus scrapes (counts by query,
 * cached for `cacheMs`), so nothing on the request path pays for them and every replica reports
 * the same truth: agents by status, pending approvals and the oldest one's age, approval latency,
 * open alerts by severity, check-in verdicts and findings. The outbox reports its own figures
 * (src/http/outbox-metrics.ts).
 */
export function registerBusinessMetrics(registry: Registry, connection: Connection, options: BusinessMetricsOptions = {}): void {
  const cacheMs = options.cacheMs ?? 15_000;
  const windowDays = options.windowDays ?? 7;
  const now = options.now ?? (() => new Date());
  let cached: { at: number; figures: Promise<Figures> } | undefined;

  const figures = (): Promise<Figures> => {
    const t = Date.now();
    if (!cached || t - cached.at >= cacheMs) {
      const pending = compute().catch((err: unknown) => {
        // A failed read is not cached: the next scrape tries again.
        cached = undefined;
        throw err;
      });
      cached = { at: t, figures: pending };
    }
    return cached.figures;
  };

  async function compute(): Promise<Figures> {
    const db = connection.db;
    if (!db) throw new Error('the database connection is not open');
    const at = now();
    const since = new Date(at.getTime() - windowDays * 86_400_000).toISOString();

    const [agents, alerts, checkins, waiting, recent] = await Promise.all([
      db
        .collection('agents')
        .aggregate<{ _id: string; n: number }>([{ $group: { _id: '$status', n: { $sum: 1 } } }])
        .toArray(),
      db
        .collection('alerts')
        .aggregate<{ _id: { severity: string; kind: string; status: string }; n: number }>([
          { $match: { status: { $in: ['open', 'acknowledged', 'snoozed'] } } },
          { $group: { _id: { severity: '$severity', kind: '$kind', status: '$status' }, n: { $sum: 1 } } },
        ])
        .toArray(),
      db
        .collection('checkins')
        .find({ at: { $gte: since } }, { projection: { verdict: 1, 'findings.metric': 1, 'findings.severity': 1 } })
        .toArray(),
      db
        .collection('flow_runs')
        .find({ status: 'waiting', 'waitingFor.0': { $exists: true } }, { projection: { flowId: 1, steps: 1 } })
        .limit(10_000)
        .toArray(),
      db
        .collection('flow_runs')
        .find({ updatedAt: { $gte: since } }, { projection: { flowId: 1, steps: 1 } })
        .limit(10_000)
        .toArray(),
    ]);

    const pendingByFlow = new Map<string, { n: number; oldestSeconds: number }>();
    for (const run of waiting as RunSteps[]) {
      const step = Object.values(run.steps ?? {}).find((s) => s.status === 'waiting' && s.groups !== undefined);
      if (!step) continue;
      const flow = run.flowId ? currentFlowId(run.flowId) : 'unknown';
      const age = step.startedAt ? Math.max(0, (at.getTime() - Date.parse(step.startedAt)) / 1000) : 0;
      const entry = pendingByFlow.get(flow) ?? { n: 0, oldestSeconds: 0 };
      entry.n += 1;
      entry.oldestSeconds = Math.max(entry.oldestSeconds, age);
      pendingByFlow.set(flow, entry);
    }

    const latencies = new Map<string, number[]>();
    const decided = new Map<string, number>();
    for (const run of recent as RunSteps[]) {
      const flow = run.flowId ? currentFlowId(run.flowId) : 'unknown';
      for (const step of Object.values(run.steps ?? {})) {
        if (step.groups === undefined || !step.startedAt || !step.endedAt || step.endedAt < since) continue;
        if (!['approved', 'denied', 'expired'].includes(step.status ?? '')) continue;
        decided.set(`${flow}\u0000${step.status}`, (decided.get(`${flow}\u0000${step.status}`) ?? 0) + 1);
        if (step.status === 'expired') continue;
        const list = latencies.get(flow) ?? [];
        list.push(Math.max(0, (Date.parse(step.endedAt) - Date.parse(step.startedAt)) / 1000));
        latencies.set(flow, list);
      }
    }

    const findings = new Map<string, number>();
    const verdicts = new Map<string, number>();
    for (const c of checkins as Array<{ verdict?: string; findings?: Array<{ metric?: string; severity?: string }> }>) {
      if (c.verdict) verdicts.set(c.verdict, (verdicts.get(c.verdict) ?? 0) + 1);
      for (const f of c.findings ?? []) {
        const key = `${f.metric ?? 'unknown'}\u0000${f.severity ?? 'unknown'}`;
        findings.set(key, (findings.get(key) ?? 0) + 1);
      }
    }

    return {
      agents: agents.map((a) => ({ status: String(a._id), n: a.n })),
      pending: [...pendingByFlow].map(([flow, v]) => ({ flow, ...v })),
      latency: [...latencies].flatMap(([flow, values]) =>
        QUANTILES.map((q) => ({ flow, quantile: String(q), seconds: percentile(values, q) })),
      ),
      decided: [...decided].map(([key, n]) => {
        const [flow, outcome] = key.split('\u0000') as [string, string];
        return { flow, outcome, n };
      }),
      alerts: alerts.map((a) => ({ ...a._id, n: a.n })),
      findings: [...findings].map(([key, n]) => {
        const [metric, severity] = key.split('\u0000') as [string, string];
        return { metric, severity, n };
      }),
      verdicts: [...verdicts].map(([verdict, n]) => ({ verdict, n })),
    };
  }

  /** A gauge filled from the shared figures at each scrape. */
  function gauge<L extends string>(name: string, help: string, labelNames: readonly L[], fill: (g: Gauge<L>, f: Figures) => void): void {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        // A database that does not answer leaves the figures out of this scrape; /metrics still answers.
        const f = await figures().catch(() => undefined);
        this.reset();
        if (f) fill(this, f);
      },
    });
  }

  gauge('roster_agents', 'Agents by lifecycle status', ['status'], (g, f) => {
    for (const a of f.agents) g.set({ status: a.status }, a.n);
  });
  gauge('roster_approvals_pending', 'Approval steps waiting for a decision, by flow', ['flow'], (g, f) => {
    for (const p of f.pending) g.set({ flow: p.flow }, p.n);
  });
  gauge('roster_approvals_pending_oldest_age_seconds', 'Age of the oldest approval step still waiting, by flow', ['flow'], (g, f) => {
    for (const p of f.pending) g.set({ flow: p.flow }, Math.round(p.oldestSeconds));
  });
  gauge(
    'roster_approval_latency_seconds',
    `Time from an approval step starting to its decision, over the last ${windowDays} days, by flow and quantile`,
    ['flow', 'quantile'],
    (g, f) => {
      for (const l of f.latency) g.set({ flow: l.flow, quantile: l.quantile }, Math.round(l.seconds));
    },
  );
  gauge(
    'roster_approvals_decided',
    `Approval steps that ended over the last ${windowDays} days, by flow and outcome (approved, denied, expired)`,
    ['flow', 'outcome'],
    (g, f) => {
      for (const d of f.decided) g.set({ flow: d.flow, outcome: d.outcome }, d.n);
    },
  );
  gauge('roster_alerts_open', 'Alerts not resolved, by severity, kind and status', ['severity', 'kind', 'status'], (g, f) => {
    for (const a of f.alerts) g.set({ severity: a.severity, kind: a.kind, status: a.status }, a.n);
  });
  gauge('roster_checkins', `Check-ins over the last ${windowDays} days, by verdict`, ['verdict'], (g, f) => {
    for (const v of f.verdicts) g.set({ verdict: v.verdict }, v.n);
  });
  gauge(
    'roster_checkin_findings',
    `Check-in findings over the last ${windowDays} days, by metric and severity`,
    ['metric', 'severity'],
    (g, f) => {
      for (const x of f.findings) g.set({ metric: x.metric, severity: x.severity }, x.n);
    },
  );
}
