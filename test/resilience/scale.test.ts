import { newAgentId, type AgentRecord } from '../../src/core/agents.js';
import { startTestRoster } from '../helpers/app.js';

const NOAH = 'noah.fischer@brightwater.example';

function agent(i: number): AgentRecord {
  const id = newAgentId();
  const at = new Date(Date.now() - 10 * 86_400_000 + i * 1000).toISOString();
  return {
    id,
    name: `Fleet Agent ${i}`,
    catalogRoleId: 'kb-answerer',
    version: '1.0.0',
    sponsors: [NOAH],
    businessUnit: 'engineering',
    status: 'active',
    purpose: 'One of many.',
    requestedBy: NOAH,
    requestRunId: `run_${id}`,
    credentials: [],
    knowledgeNotes: [],
    complianceTags: [],
    createdAt: at,
    updatedAt: at,
    statusChangedAt: at,
  };
}

describe('scale', () => {
  it('the check-in sweep reaches every active agent, not only the newest 500', async () => {
    const roster = await startTestRoster();
    try {
      const fleet = Array.from({ length: 520 }, (_, i) => agent(i));
      for (const a of fleet) await roster.services.agents.insert(a);
      const result = await roster.services.supervision.checkins.sweep(new Date());
      expect(result.ran).toBe(fleet.length);
      // The oldest agent, past the first 500 newest-first, had its check-in.
      const oldest = await roster.services.audit.export({ agentId: fleet[0]!.id });
      expect(oldest.filter((e) => e.action === 'checkin.completed')).toHaveLength(1);
    } finally {
      await roster.stop();
    }
  }, 120_000);
});
