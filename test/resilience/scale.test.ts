import type { AgentRecord } from '../../src/core/agents.js';
import { startTestRoster } from '../helpers/app.js';
import { agentRecord } from '../helpers/harness.js';

const NOAH = 'noah.fischer@brightwater.example';

function agent(i: number): AgentRecord {
  const at = new Date(Date.now() - 10 * 86_400_000 + i * 1000).toISOString();
  return agentRecord({
    name: `Fleet Agent ${i}`,
    catalogRoleId: 'kb-answerer',
    sponsors: [NOAH],
    businessUnit: 'engineering',
    purpose: 'One of many.',
    createdAt: at,
    updatedAt: at,
    statusChangedAt: at,
  });
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
