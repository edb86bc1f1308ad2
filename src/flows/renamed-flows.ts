/**
 * Flows whose id changed, old id → current id. A run stores its flow's id, so runs started before a
 * rename still carry the old one: the run store reads them under the current id (and rewrites the
 * id with the run's next change), and a query for the current id finds them too. An entry stays as
 * long as a database anywhere may hold such a run; it costs nothing.
 */
export const RENAMED_FLOWS: Readonly<Record<string, string>> = {
  // "Drift escalation" asked an IT admin to approve suspending an agent from any alert, not only drift.
  'drift-escalation': 'agent-suspension',
};

/** The current id of a flow, given the id a run stored (unchanged unless the flow was renamed). */
export function currentFlowId(stored: string): string {
  return Object.hasOwn(RENAMED_FLOWS, stored) ? RENAMED_FLOWS[stored]! : stored;
}

/** Every id a stored run of this flow may carry: the current id and the ids it had before. */
export function storedFlowIds(current: string): string[] {
  return [current, ...Object.keys(RENAMED_FLOWS).filter((old) => RENAMED_FLOWS[old] === current)];
}
