import type { ApprovalGroupState } from './types.js';

/**
 * Matches approvers to the groups they may approve for, each person counting once (a person who
 * holds two roles satisfies one group). Returns, for each group index, the matched person.
 */
function match(groups: readonly ApprovalGroupState[], approvers: readonly string[]): Map<number, string> {
  const groupOf = new Map<string, number>();
  const assigned = new Map<number, string>();
  const tryAssign = (person: string, seen: Set<number>): boolean => {
    for (let g = 0; g < groups.length; g++) {
      if (seen.has(g) || !groups[g]!.eligible.includes(person)) continue;
      seen.add(g);
      const holder = assigned.get(g);
      if (holder === undefined || tryAssign(holder, seen)) {
        assigned.set(g, person);
        groupOf.set(person, g);
        return true;
      }
    }
    return false;
  };
  for (const person of new Set(approvers)) tryAssign(person, new Set());
  return assigned;
}

/** `all`: every group approved by a distinct person; `any`: one approval; n: n distinct approvers. */
export function quorumMet(quorum: 'all' | 'any' | number, groups: readonly ApprovalGroupState[], approvers: readonly string[]): boolean {
  const distinct = new Set(approvers.filter((a) => groups.some((g) => g.eligible.includes(a))));
  if (quorum === 'any') return distinct.size >= 1;
  if (typeof quorum === 'number') return distinct.size >= quorum;
  return match(groups, [...distinct]).size === groups.length;
}

/** Groups that still lack an approval of their own under the best matching. */
export function unsatisfiedGroups(groups: readonly ApprovalGroupState[], approvers: readonly string[]): ApprovalGroupState[] {
  const assigned = match(groups, approvers);
  return groups.filter((_, i) => !assigned.has(i));
}
