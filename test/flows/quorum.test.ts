import { quorumMet, unsatisfiedGroups } from '../../src/flows/quorum.js';

const groups = [
  { role: 'approver:finance', eligible: ['maya'] },
  { role: 'it-admin', eligible: ['liam', 'aisha'] },
  { role: 'security', eligible: ['grace', 'liam'] },
];

describe('approval quorum', () => {
  it('all: one approval per group, each person counted once', () => {
    expect(quorumMet('all', groups, ['maya', 'liam'])).toBe(false);
    // Liam holds it-admin and security but counts for one group only.
    expect(unsatisfiedGroups(groups, ['maya', 'liam']).map((g) => g.role)).toHaveLength(1);
    expect(quorumMet('all', groups, ['maya', 'liam', 'aisha'])).toBe(true);
    // Matching finds Liam → security when Aisha covers it-admin, whatever the order.
    expect(quorumMet('all', groups, ['aisha', 'maya', 'liam'])).toBe(true);
    expect(quorumMet('all', groups, ['maya', 'liam', 'liam'])).toBe(false);
  });

  it('any and n', () => {
    expect(quorumMet('any', groups, [])).toBe(false);
    expect(quorumMet('any', groups, ['grace'])).toBe(true);
    expect(quorumMet(2, groups, ['grace', 'grace'])).toBe(false);
    expect(quorumMet(2, groups, ['grace', 'maya'])).toBe(true);
    expect(quorumMet(1, groups, ['outsider'])).toBe(false);
  });
});
