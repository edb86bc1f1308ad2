import { hashEntry, nextEntry, type Actor, type AuditEntry, type AuditInput } from '../../src/core/audit.js';
import { asAgentId } from '../helpers/ids.js';

const ana: Actor = { kind: 'person', email: 'ana@example.com' };

/** The input of the n-th sample entry: a grant for agent `invoice-bot`. */
export function sampleInput(n: number, overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    actor: ana,
    action: 'grant.approved',
    subject: { type: 'grant', id: `g-${n}`, agentId: asAgentId('invoice-bot') },
    details: { n, scope: 'erp:invoices.read', ttl: '8h' },
    ...overrides,
  };
}

/** A valid chain of `count` entries, one second apart from 2024-01-01T00:00:01Z. */
export function buildChain(count: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (let n = 1; n <= count; n += 1) {
    entries.push(nextEntry(entries.at(-1) ?? null, sampleInput(n), new Date(Date.UTC(2024, 0, 1, 0, 0, n))));
  }
  return entries;
}

/** The entry with `changes` applied and its hash recomputed, as a forger who knows the algorithm would do. */
export function rehashed(entry: AuditEntry, changes: Partial<AuditEntry>): AuditEntry {
  const fields = { ...entry, ...changes };
  return { ...fields, hash: hashEntry(fields) };
}
