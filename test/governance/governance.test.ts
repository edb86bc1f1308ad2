import { loadOrgConfig } from '../../src/config/org-config.js';
import { complianceCsv } from '../../src/core/governance.js';
import { parseChatCommand } from '../../src/channels/chat.js';
import type { DataOf } from '../../src/cards/view-models.js';
import { seedDemo } from '../../src/demo/seed-demo.js';
import type { Services } from '../../src/services.js';
import { startTestRoster, type TestRoster } from '../helpers/app.js';
import { SHIPPED_CONFIG } from '../helpers/harness.js';
import { silentLogger } from '../helpers/logger.js';
import { commandsOf } from '../helpers/commands.js';
import { asAgentId, asGrantId } from '../helpers/ids.js';

const MARCUS = 'marcus.johnson@brightwater.example'; // compliance
const ELENA = 'elena.rossi@brightwater.example'; // dpo
const PRIYA = 'priya.raman@brightwater.example'; // sponsor of the biased agent
const DANIEL = 'daniel.okafor@brightwater.example'; // a requester elsewhere

describe('governance views on the seeded demo (a planted PII gap and a biased agent)', () => {
  let roster: TestRoster;
  let services: Services;
  beforeAll(async () => {
    // The shipped organisation as it is.
    roster = await startTestRoster({ org: () => loadOrgConfig(SHIPPED_CONFIG) });
    await seedDemo(roster.db.connection, roster.org, roster.services.flows, silentLogger());
    services = roster.services;
    // The planted gap: a PII scope granted by hand, without any DPO approval on record.
    const now = new Date();
    await services.grants.insertMany([
      {
        id: asGrantId('agt_de00000000000004:crm:read:manual'),
        agentId: asAgentId('agt_de00000000000004'),
        scope: 'crm:read',
        reason: 'granted outside Roster',
        requestedBy: 'maya.chen@brightwater.example',
        approvedBy: ['maya.chen@brightwater.example'],
        startsAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + 86_400_000).toISOString(),
        status: 'active',
        source: 'manual',
        createdAt: now.toISOString(),
      },
    ]);
  }, 120_000);
  afterAll(async () => {
    await roster?.stop();
  });

  it('the compliance report names the PII scope without DPO approval and the open fairness finding, with sponsors', async () => {
    // Read as a person does: the compliance.report command (the rule lives there, not in the service).
    const report = await services.bus.execute(services.bus.person(MARCUS), { type: 'compliance.report' });
    const gaps = report.gaps.map((g) => `${g.kind}:${g.agentName}`);
    expect(gaps).toContain('pii-scope-without-dpo-approval:Invoice Matcher');
    expect(gaps).toContain('open-fairness-finding:Refund Triage');
    const pii = report.gaps.find((g) => g.kind === 'pii-scope-without-dpo-approval' && g.agentName === 'Invoice Matcher')!;
    expect(pii.detail).toContain('crm:read');
    expect(pii.sponsors).toEqual(['maya.chen@brightwater.example']);
    expect(report.regulations.map((r) => r.regulation)).toEqual(expect.arrayContaining(['gdpr', 'ccpa']));
    expect(report.rawEventRetentionDays).toBeGreaterThan(0);
    const gdpr = await services.bus.execute(services.bus.person(ELENA), { type: 'compliance.report', regulation: 'gdpr' });
    expect(gdpr.regulations.map((r) => r.regulation)).toEqual(['gdpr']);
    const csv = complianceCsv(report);
    expect(csv.split('\n')[0]).toBe('regulation,agent_id,agent,status,data_classes,personal_scopes,dpo_approval,sponsors');
    expect(csv).toContain('"pii-scope-without-dpo-approval","agt_de00000000000004","Invoice Matcher"');
  });

  it('the decision log shows the decisions behind the fairness finding, to its sponsor only', async () => {
    // The service reads for a reader the bus has authorised (agent.decisions, decision.record).
    const priya = services.bus.person(PRIYA);
    const biased = (await services.agents.get(asAgentId('agt_de00000000000003')))!;
    const { entries } = await services.governance.decisions(priya, biased, { limit: 40 });
    expect(entries).toHaveLength(40);
    expect(new Set(entries.map((e) => e.segment))).toEqual(new Set(['north', 'south']));
    expect(entries[0]!.summary).toMatch(/^Answered a (north|south) customer's question/);
    const failures = await services.governance.decisions(priya, biased, { outcome: 'failure', limit: 10 });
    expect(failures.entries.every((e) => e.outcome === 'failure')).toBe(true);
  });

  it("a requester can read neither another agent's decisions nor the compliance report", async () => {
    // Who may read an agent's decisions is the agent.decisions command's rule (the service keeps no copy).
    await expect(
      services.bus.execute(services.bus.person(DANIEL), { type: 'agent.decisions', agent: 'agt_de00000000000003', namedBy: 'card' }),
    ).rejects.toMatchObject({ code: 'forbidden' });
    // So is who may read the compliance report (compliance.report; the service keeps no copy).
    await expect(services.bus.execute(services.bus.person(DANIEL), { type: 'compliance.report' })).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(services.bus.execute(services.bus.person(PRIYA), { type: 'compliance.report' })).rejects.toMatchObject({
      code: 'forbidden',
    });
  });

  it('the chat report puts "start the fix" on each gap: the DPO review closes the PII gap; a fairness gap requests retraining', async () => {
    const chat = roster.chat;
    const marcus = chat.person(MARCUS)!;
    const reply = await chat.run(marcus, parseChatCommand('compliance'));
    const sections = (reply.card.data as DataOf<'notice'>).sections!;
    const pii = sections.find((s) => s.text.includes('Invoice Matcher') && s.text.includes('crm:read'))!;
    expect(pii.text).toContain('Sponsors: Maya Chen.');
    expect(pii.actions).toEqual([
      {
        action: 'gap_fix',
        label: 'Ask the DPO to approve',
        style: 'primary',
        value: { agentId: 'agt_de00000000000004', gap: 'pii-scope-without-dpo-approval' },
      },
    ]);
    await expect(chat.actions.click(chat.person(DANIEL)!, 'gap_fix', pii.actions[0]!.value)).rejects.toMatchObject({ code: 'forbidden' });

    const started = await chat.actions.click(marcus, 'gap_fix', pii.actions[0]!.value);
    expect(started.followUp?.data).toMatchObject({ title: 'DPO review of Invoice Matcher started' });
    // A second click does not start a second review.
    const again = await chat.actions.click(marcus, 'gap_fix', pii.actions[0]!.value);
    expect(again.followUp?.data).toMatchObject({ title: 'The DPO review is already under way' });
    const [run] = await services.runs.list({ agentId: asAgentId('agt_de00000000000004'), flowId: 'dpo-review' });
    expect(run!.waitingFor).toEqual([ELENA]);
    await commandsOf(services).decide(ELENA, { runId: run!.id, stepId: 'dpo-approval', decision: 'approve' });
    expect((await services.runs.get(run!.id))?.status).toBe('completed');
    const after = await services.bus.execute(services.bus.person(MARCUS), { type: 'compliance.report' });
    expect(after.gaps.map((g) => `${g.kind}:${g.agentName}`)).not.toContain('pii-scope-without-dpo-approval:Invoice Matcher');

    const fairness = sections.find((s) => s.actions[0]?.value.gap === 'open-fairness-finding')!;
    const fix = await chat.actions.click(chat.person(ELENA)!, 'gap_fix', fairness.actions[0]!.value);
    expect(fix.followUp?.data).toMatchObject({ title: 'Retraining of Refund Triage requested' });
    expect(
      (await services.audit.export({ agentId: asAgentId(String(fairness.actions[0]!.value.agentId)) })).map((e) => e.action),
    ).toContain('retraining.requested');
  });
});
