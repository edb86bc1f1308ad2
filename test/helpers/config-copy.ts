import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseDocument, type Document } from 'yaml';
import { SHIPPED_CONFIG } from './harness.js';

/** One value to set in a catalog role: the path inside the role and the value at it. */
export type RoleChange = [at: string[], value: unknown];

/**
 * A copy of the shipped configuration in a fresh temporary directory with one of its files edited
 * as a YAML document. A test changes only what it needs, so the rest stays the shipped
 * configuration and follows it when that changes, and is validated like any deployment's.
 */
export function shippedConfigEdited(prefix: string, fileName: string, edit: (doc: Document) => void): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  cpSync(SHIPPED_CONFIG, dir, { recursive: true });
  const file = path.join(dir, fileName);
  const doc = parseDocument(readFileSync(file, 'utf8'));
  edit(doc);
  writeFileSync(file, doc.toString());
  return dir;
}

/** {@link shippedConfigEdited} with values set in roles of the catalog (by role id). */
export function shippedConfigWith(prefix: string, roles: Record<string, RoleChange[]>): string {
  return shippedConfigEdited(prefix, 'catalog.yaml', (doc) => {
    const items = (doc.get('roles') as { items: Array<{ get(k: string): unknown; setIn(p: string[], v: unknown): void }> }).items;
    for (const [roleId, changes] of Object.entries(roles)) {
      const role = items.find((r) => r.get('id') === roleId);
      if (!role) throw new Error(`the shipped catalog has no role ${roleId}`);
      for (const [at, value] of changes) role.setIn(at, value);
    }
  });
}

/** A procurement action (`contracts.extend`, sponsor approves) that times out in two seconds. */
export const CONTRACT_EXTENSION_IN_2S: RoleChange = [
  ['boundaries', 'actions', 'contracts.extend'],
  {
    mode: 'needs-approval',
    title: 'Extend a supplier contract',
    fields: { contractId: { type: 'string', required: true } },
    approvers: ['sponsor'],
    wait: '2s',
  },
];

/**
 * The shipped configuration with working hours round the clock, for a spawned Roster whose
 * reminders must go out at once whatever time of day the test runs (see `roundTheClock` in
 * harness.ts for in-process ones).
 */
export function shippedConfigRoundTheClock(): string {
  return shippedConfigEdited('roster-round-the-clock-', 'org.yaml', (doc) => {
    doc.setIn(['settings', 'workingHours'], { start: '00:00', end: '24:00', days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] });
  });
}
