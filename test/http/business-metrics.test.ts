import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parser as promql } from '@prometheus-io/lezer-promql';
import { Registry } from 'prom-client';
import { registerBusinessMetrics } from '../../src/http/business-metrics.js';
import { seedDemo } from '../../src/demo/seed-demo.js';
import { silentLogger } from '../helpers/logger.js';
import { startTestRoster } from '../helpers/app.js';
import { passingEvaluation, people, SHIPPED_CONFIG, SHIPPED_FLOWS } from '../helpers/harness.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { loadFlowDefinitions } from '../../src/flows/steps.js';
import { projectRoot } from '../helpers/roster-process.js';
import { commandsOf } from '../helpers/commands.js';

interface PromFamily {
  name: string;
  type: string;
  metrics: Array<{ value: string; labels?: Record<string, string> }>;
}
/** A Prometheus text-format parser Roster did not write. */
const parseProm = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => PromFamily[];

const HR_ROLE = 'hr-onboarding-assistant';
const org = loadOrgConfig(SHIPPED_CONFIG);

describe('/metrics business figures', () => {
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  beforeAll(async () => {
    roster = await startTestRoster();
  });
  afterAll(async () => {
    await roster.stop();
  });

  async function scrape(): Promise<Map<string, PromFamily>> {
    const res = await fetch(`${roster.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    return new Map(parseProm(await res.text()).map((f) => [f.name, f]));
  }
  const value = (families: Map<string, PromFamily>, name: string, labels: Record<string, string>): number | undefined => {
    const m = families.get(name)?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
    return m ? Number(m.value) : undefined;
  };

  it('reports agents by status, pending approvals with their age, approval latency, open alerts by severity and check-in findings', async () => {
    const commands = commandsOf(roster.services);
    const request = (name: string) =>
      commands.requestAgent(people.amara, {
        roleId: HR_ROLE,
        name,
        purpose: 'Guides new hires through their first two weeks and answers benefits questions.',
        businessUnit: 'people-ops',
        sponsors: [people.amara],
        justification: 'Onboarding volume doubled this year.',
      });
    // One request fully approved, one waiting for its approvers.
    const approved = await request('Metrics Buddy A');
    await commands.submitEvaluation(people.aisha, approved.agentId, passingEvaluation(org, HR_ROLE));
    for (const who of [people.sofia, people.liam, people.grace, people.elena])
      await commands.decide(who, { runId: approved.run.id, stepId: 'approvals', decision: 'approve' });
    const waiting = await request('Metrics Buddy B');
    await commands.submitEvaluation(people.aisha, waiting.agentId, passingEvaluation(org, HR_ROLE));

    await seedDemo(roster.db.connection, org, loadFlowDefinitions(SHIPPED_FLOWS), silentLogger());

    const m = await scrape();
    for (const name of [
      'roster_agents',
      'roster_approvals_pending',
      'roster_approvals_pending_oldest_age_seconds',
      'roster_approval_latency_seconds',
      'roster_approvals_decided',
      'roster_alerts_open',
      'roster_checkins',
      'roster_checkin_findings',
    ])
      expect(m.get(name)?.type).toBe('GAUGE');

    // The demo's twelve agents plus the two requests (one approved, one still requested), each counted in its status.
    const agents = roster.db.connection.collection('agents');
    for (const status of ['active', 'probation', 'requested', 'suspended', 'retiring', 'retired', 'rejected'])
      expect({ status, n: value(m, 'roster_agents', { status }) }).toEqual({ status, n: await agents.countDocuments({ status }) });
    expect(m.get('roster_agents')!.metrics.reduce((n, x) => n + Number(x.value), 0)).toBe(14);
    expect(value(m, 'roster_agents', { status: 'requested' })).toBe(2);
    expect(value(m, 'roster_agents', { status: 'retired' })).toBe(1);
    expect(value(m, 'roster_approvals_pending', { flow: 'agent-request' })).toBe(1);
    expect(value(m, 'roster_approvals_pending_oldest_age_seconds', { flow: 'agent-request' })).toBeGreaterThanOrEqual(0);
    expect(value(m, 'roster_approvals_decided', { flow: 'agent-request', outcome: 'approved' })).toBe(1);
    expect(value(m, 'roster_approval_latency_seconds', { flow: 'agent-request', quantile: '0.5' })).toBeLessThan(600);
    expect(value(m, 'roster_alerts_open', { severity: 'critical', kind: 'shadow', status: 'open' })).toBe(1);
    expect(value(m, 'roster_alerts_open', { kind: 'dormant' })).toBe(1);
    expect(value(m, 'roster_checkins', { verdict: 'degraded' })).toBeGreaterThanOrEqual(1);
    expect(value(m, 'roster_checkin_findings', { metric: 'fairness' })).toBeGreaterThanOrEqual(1);
    expect(value(m, 'roster_checkin_findings', { metric: 'accuracy', severity: 'degraded' })).toBeGreaterThanOrEqual(1);
    // The outbox reports its own figures beside them.
    expect(
      m
        .get('roster_outbox_depth')
        ?.metrics.map((x) => x.labels?.state)
        .sort(),
    ).toEqual(['parked', 'pending']);
    // The HTTP histogram is still there.
    expect(m.get('roster_http_request_duration_seconds')?.type).toBe('HISTOGRAM');
  }, 180_000);

  it('answers scrapes from a short cache: within it a scrape costs no query; after it the change is seen', async () => {
    const read = async (registry: Registry, status: string) =>
      Number((await registry.getSingleMetric('roster_agents')!.get()).values.find((v) => v.labels.status === status)?.value ?? 0);
    const cached = new Registry();
    registerBusinessMetrics(cached, roster.db.connection, { cacheMs: 60_000 });
    const fresh = new Registry();
    registerBusinessMetrics(fresh, roster.db.connection, { cacheMs: 0 });
    const active = await read(cached, 'active');
    expect(await read(fresh, 'active')).toBe(active);
    await roster.db.connection.collection('agents').updateOne({ status: 'active' }, { $set: { status: 'suspended' } });
    expect(await read(cached, 'active')).toBe(active);
    expect(await read(fresh, 'active')).toBe(active - 1);
  }, 60_000);

  it('the Grafana dashboard in deploy/grafana parses as PromQL and charts only metrics Roster exposes', async () => {
    const dashboard = JSON.parse(readFileSync(path.join(projectRoot, 'deploy/grafana/roster-dashboard.json'), 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const exposed = new Set<string>();
    for (const [name, f] of await scrape()) {
      exposed.add(name);
      if (f.type === 'HISTOGRAM') for (const suffix of ['_bucket', '_sum', '_count']) exposed.add(`${name}${suffix}`);
    }
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        const tree = promql.parse(expr);
        let error = false;
        tree.iterate({
          enter: (node) => {
            if (node.type.isError) error = true;
            if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') used.add(expr.slice(node.from, node.to));
          },
        });
        expect({ panel: panel.title, expr, error }).toEqual({ panel: panel.title, expr, error: false });
      }
    }
    expect(used.size).toBeGreaterThanOrEqual(10);
    expect([...used].filter((name) => !exposed.has(name))).toEqual([]);
  }, 30_000);
});
