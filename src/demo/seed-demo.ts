import type { Connection } from 'mongoose';
import type { OrgConfig } from '../config/schemas.js';
import { roleById } from '../config/directory.js';
import type { AgentRecord, GrantRecord } from '../core/agents.js';
import type { AgentStatus } from '../core/lifecycle.js';
import { composeTools } from '../compose.js';
import type { FlowDefinition } from '../flows/schema.js';
import type { Logger } from '../logger.js';
import type { TelemetryEvent } from '../core/telemetry.js';
import { generateEvents } from './synthetic-telemetry.js';
import { trustedId } from '../core/ids.js';

const DAY = 86_400_000;

interface DemoAgent {
  n: number;
  name: string;
  role: string;
  unit: string;
  sponsor: string;
  status: AgentStatus;
  telemetry?: 'healthy' | 'accuracy-drop' | 'latency-shift' | 'biased';
  /** Days since the last status change (dormant agents: long ago, and no telemetry). */
  idleDays?: number;
}

const P = {
  maya: 'maya.chen@brightwater.example',
  priya: 'priya.raman@brightwater.example',
  sofia: 'sofia.alvarez@brightwater.example',
  noah: 'noah.fischer@brightwater.example',
  liam: 'liam.oneill@brightwater.example',
  daniel: 'daniel.okafor@brightwater.example',
  amara: 'amara.osei@brightwater.example',
};

/** A dozen agents across every lifecycle status, with the stories the guided tour shows. */
const AGENTS: DemoAgent[] = [
  { n: 1, name: 'Handbook Helper', role: 'kb-answerer', unit: 'engineering', sponsor: P.noah, status: 'active', telemetry: 'healthy' },
  {
    n: 2,
    name: 'Ticket Drafter',
    role: 'support-assistant',
    unit: 'customer-support',
    sponsor: P.priya,
    status: 'active',
    telemetry: 'accuracy-drop',
  },
  {
    n: 3,
    name: 'Refund Triage',
    role: 'support-assistant',
    unit: 'customer-support',
    sponsor: P.priya,
    status: 'active',
    telemetry: 'biased',
  },
  { n: 4, name: 'Invoice Matcher', role: 'invoice-triage', unit: 'finance', sponsor: P.maya, status: 'active', telemetry: 'healthy' },
  {
    n: 5,
    name: 'Incident Scribe',
    role: 'incident-summarizer',
    unit: 'engineering',
    sponsor: P.liam,
    status: 'active',
    telemetry: 'latency-shift',
  },
  { n: 6, name: 'Old Wiki Bot', role: 'kb-answerer', unit: 'people-ops', sponsor: P.sofia, status: 'active', idleDays: 120 },
  {
    n: 7,
    name: 'Onboarding Buddy',
    role: 'hr-onboarding-assistant',
    unit: 'people-ops',
    sponsor: P.amara,
    status: 'probation',
    telemetry: 'healthy',
  },
  { n: 8, name: 'Fraud Screen EU', role: 'fraud-screening', unit: 'finance', sponsor: P.maya, status: 'suspended' },
  { n: 9, name: 'Legacy Summariser', role: 'incident-summarizer', unit: 'engineering', sponsor: P.noah, status: 'retiring' },
  { n: 10, name: 'FAQ Bot v1', role: 'kb-answerer', unit: 'customer-support', sponsor: P.priya, status: 'retired' },
  { n: 11, name: 'Ledger Poster', role: 'invoice-triage', unit: 'finance', sponsor: P.daniel, status: 'rejected' },
  { n: 12, name: 'Payroll Q&A', role: 'kb-answerer', unit: 'finance', sponsor: P.daniel, status: 'requested' },
];

export const SHADOW_AGENT_ID = trustedId('AgentId', 'agt_5ade000000000001');

const demoId = (n: number) => trustedId('AgentId', `agt_de00${String(n).padStart(12, '0')}`);

export interface SeedResult {
  created: number;
  existing: number;
  events: number;
  checkIns: number;
  alerts: number;
}

/**
 * Seeds the sample organisation's demo: agents in every status, their default grants, 30 days of
 * synthetic telemetry (one drifting, one biased, one with a latency shift, one dormant, and a
 * shadow agent), and their check-ins. Everything is keyed deterministically, so a second run
 * changes nothing.
 */
export async function seedDemo(
  connection: Connection,
  org: OrgConfig,
  flows: ReadonlyMap<string, FlowDefinition>,
  log: Logger,
  now = new Date(),
  onProgress?: (done: number, total: number, step: string) => void,
): Promise<SeedResult> {
  // Through Roster's own composition, as a tool: what it schedules a running Roster runs, its cards go nowhere.
  const services = await composeTools({ connection, org, flows, log });
  const result: SeedResult = { created: 0, existing: 0, events: 0, checkIns: 0, alerts: 0 };
  const end = new Date(Math.floor(now.getTime() / DAY) * DAY);
  const withTelemetry = AGENTS.filter((a) => a.telemetry).length;
  // Agents, their telemetry, their check-ins, the shadow agent and the sweep.
  const total = AGENTS.length + 2 * withTelemetry + 2;
  let done = 0;
  const step = (label: string): void => onProgress?.(++done, total, label);

  for (const spec of AGENTS) {
    const id = demoId(spec.n);
    const role = roleById(org, spec.role)!;
    step(`agent ${spec.name}`);
    if (await services.agents.get(id)) {
      result.existing += 1;
      continue;
    }
    const changed = new Date(now.getTime() - (spec.idleDays ?? 35) * DAY).toISOString();
    const agent: AgentRecord = {
      id,
      name: spec.name,
      catalogRoleId: role.id,
      version: '1.0.0',
      sponsors: [spec.sponsor],
      businessUnit: spec.unit,
      status: spec.status,
      purpose: role.businessPurpose,
      requestedBy: spec.sponsor,
      requestRunId: trustedId('RunId', `run_demo_${spec.n}`),
      credentials: [],
      knowledgeNotes: [],
      complianceTags: [...role.regulations],
      baseline: {
        accuracy: 0.92,
        p95LatencyMs: Math.round(role.evaluation.maxP95LatencyMs * 0.5),
        costPerTaskUSD: role.evaluation.maxCostPerTaskUSD / 2,
      },
      createdAt: new Date(now.getTime() - 60 * DAY).toISOString(),
      updatedAt: changed,
      statusChangedAt: changed,
    };
    await services.agents.insert(agent);
    await services.audit.append({
      actor: { kind: 'system', name: 'demo-seed' },
      action: 'agent.registered',
      subject: { type: 'agent', id, agentId: id },
      details: { name: agent.name, role: role.id, businessUnit: spec.unit, status: spec.status, demo: true },
    });
    if (['active', 'probation', 'suspended', 'retiring'].includes(spec.status)) {
      const grants: GrantRecord[] = role.defaultScopes.map((scope) => ({
        id: trustedId('GrantId', `${id}:${scope}:default`),
        agentId: id,
        scope,
        reason: `Catalog default for ${role.title}`,
        requestedBy: spec.sponsor,
        approvedBy: [P.liam],
        startsAt: changed,
        expiresAt: new Date(now.getTime() + 60 * DAY).toISOString(),
        status: 'active',
        source: 'default',
        createdAt: changed,
      }));
      await services.grants.insertMany(grants);
    }
    result.created += 1;
  }

  for (const spec of AGENTS) {
    if (!spec.telemetry) continue;
    step(`30 days of telemetry for ${spec.name}`);
    const events: TelemetryEvent[] = generateEvents({
      agentId: demoId(spec.n),
      profile: spec.telemetry,
      days: 30,
      end,
      seed: spec.n,
      perDay: 60,
      driftDays: 14,
    });
    result.events += (await services.supervision.telemetry.ingest(events)).inserted;
  }
  step('the shadow agent');
  if ((await services.supervision.alertRepo.list({ agentId: SHADOW_AGENT_ID })).length === 0) {
    await services.supervision.alerts.raise({
      kind: 'shadow',
      agentId: SHADOW_AGENT_ID,
      severity: 'critical',
      summary: `Telemetry arrived for ${SHADOW_AGENT_ID}, which is not registered in Roster: an unregistered ("shadow") agent is running.`,
      details: { agentName: 'Unregistered agent' },
    });
    result.alerts += 1;
  }
  for (const spec of AGENTS) {
    const id = demoId(spec.n);
    if (!spec.telemetry) continue;
    step(`check-in of ${spec.name}`);
    if (await services.supervision.checkinRepo.latest(id)) continue;
    const record = await services.supervision.checkins.run(id, now);
    result.checkIns += 1;
    result.alerts += record.findings.some((f) => f.severity === 'degraded') ? 1 : 0;
  }
  step('dormant-agent sweep');
  const sweep = await services.supervision.checkins.sweep(now);
  result.alerts += sweep.dormant;
  return result;
}

/** The guided tour printed after seeding. */
export function demoTour(): string {
  return [
    'Demo seeded. A short tour (Slack: /roster <words>; Teams or the Playground: the same words):',
    '  1. "list all" as liam.oneill@brightwater.example (IT admin): twelve agents, one in every lifecycle status.',
    '  2. "show Ticket Drafter": its accuracy fell from 0.92 to 0.80; the check-in moved it to probation and paged on-call.',
    '  3. "show Refund Triage": favourable outcomes 0.5 for one segment against 0.8 for another fail the four-fifths rule.',
    '  4. "show Old Wiki Bot": no telemetry for 120 days while still holding access: a dormant-agent alert.',
    `  5. A shadow agent (${SHADOW_AGENT_ID}) sent telemetry without being registered: IT was paged.`,
    '  6. "catalog" as grace.liu@brightwater.example, then Request: the whole approval flow from scratch.',
    'Verify the audit trail any time: npx roster audit verify',
  ].join('\n');
}
