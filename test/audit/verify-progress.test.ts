import { createAuditLog } from '../../src/store/audit-store.js';
import { createProgress } from '../../src/progress.js';
import { openTestDb, type TestDb } from '../helpers/db.js';
import { asAgentId } from '../helpers/ids.js';

describe('audit verify reports progress while it walks the chain', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await openTestDb('auditprog');
  });
  afterAll(async () => {
    await db.close();
  });

  it('calls back every 500 entries, and the terminal bar ends at the whole chain', async () => {
    const audit = createAuditLog(db.connection);
    const inputs = Array.from({ length: 1_100 }, (_, i) => ({
      actor: { kind: 'system' as const, name: 'test' },
      action: 'agent.viewed',
      subject: { type: 'agent' as const, id: 'agt_p', agentId: asAgentId('agt_p') },
      details: { i },
    }));
    for (let i = 0; i < inputs.length; i += 100) await audit.appendMany(inputs.slice(i, i + 100));
    let text = '';
    const bar = createProgress({
      label: 'Verifying',
      total: 1_100,
      unit: 'steps',
      stream: { write: (s: string) => (text += s), isTTY: true },
    });
    const seen: number[] = [];
    let last = 0;
    const result = await audit.verify({
      onProgress: (checked) => {
        seen.push(checked);
        bar.advance(checked - last, `${checked} entries`);
        bar.itemDone(`${checked} entries`);
        last = checked;
      },
    });
    bar.finish(`walked ${result.checked}`);
    expect(result).toMatchObject({ ok: true, checked: 1_100 });
    expect(seen).toEqual([500, 1_000]);
    expect(text).toContain(' 90% 1000 / 1100  1000 entries');
    expect(text.endsWith('walked 1100\n')).toBe(true);
  }, 60_000);
});
