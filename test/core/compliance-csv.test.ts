import { parse } from 'csv-parse/sync';
import { complianceCsv, type ComplianceReport } from '../../src/core/governance.js';
import { asAgentId } from '../helpers/ids.js';

const hostile = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", '-2+3', '@SUM(A1:A9)', '\tTabbed', '\rReturn'];

describe('compliance CSV', () => {
  it('quotes every cell and defuses spreadsheet formulas: cells starting with = + - @ tab CR get a leading quote', () => {
    const report: ComplianceReport = {
      generatedAt: '2026-11-30T00:00:00Z',
      rawEventRetentionDays: 30,
      regulations: [
        {
          regulation: 'gdpr',
          agents: hostile.map((name, i) => ({
            agentId: asAgentId(`agt_${i}`),
            agentName: name,
            status: 'active',
            dataClasses: ['pii'],
            personalScopes: ['crm:read'],
            dpoApprovalOnRecord: false,
            sponsors: ['maya.chen@brightwater.example'],
          })),
        },
      ],
      gaps: [
        { kind: 'open-fairness-finding', agentId: asAgentId('agt_0'), agentName: 'Plain, "quoted" name', sponsors: [], detail: '=1+1' },
      ],
    };
    const csv = complianceCsv(report);
    const [agentsPart, gapsPart] = csv.split('\n\n') as [string, string];
    // Read back by a CSV parser Roster did not write.
    const rows = parse(agentsPart, { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => r.agent)).toEqual(hostile.map((name) => `'${name}`));
    expect(rows[0]).toMatchObject({ regulation: 'gdpr', agent_id: 'agt_0', status: 'active', dpo_approval: 'false' });
    const gaps = parse(gapsPart, { columns: true }) as Array<Record<string, string>>;
    expect(gaps).toEqual([
      { gap: 'open-fairness-finding', agent_id: 'agt_0', agent: 'Plain, "quoted" name', sponsors: '', detail: "'=1+1" },
    ]);
    expect(agentsPart.split('\n')[1]).toMatch(/^"gdpr","agt_0","'=HYPERLINK\(""http/);
  });
});
