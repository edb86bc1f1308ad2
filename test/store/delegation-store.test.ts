import type { Connection } from 'mongoose';
import type { Delegation } from '../../src/core/delegations.js';
import { createDelegationRepository } from '../../src/store/delegation-store.js';
import { connectTestDb, monitoredUri, openTestDb, type TestDb } from '../helpers/db.js';
import { DbProxy } from '../helpers/db-proxy.js';

/*
 * Issue 19: the approvers' delegations are read for every request that needs approval; requests
 * asking at once for the same approvers share one read. The proxy holds the first read's answer,
 * so the test decides that it is still in flight when the others ask and when the write is done.
 */

const PRIYA = 'priya.raman@brightwater.example';
const DANIEL = 'daniel.okafor@brightwater.example';

const delegation = (id: string): Delegation => ({
  id,
  principal: PRIYA,
  delegate: DANIEL,
  startsAt: '2031-03-02T00:00:00.000Z',
  endsAt: '2031-03-09T00:00:00.000Z',
  status: 'active',
  createdAt: '2031-03-01T09:00:00.000Z',
});

describe('delegations read at once', () => {
  let db: TestDb;
  let proxy: DbProxy;
  let proxied: Connection;
  const finds: string[] = [];
  beforeAll(async () => {
    db = await openTestDb('delegation_store');
    proxy = await DbProxy.start();
    proxied = await connectTestDb(db.dbName, {}, monitoredUri(proxy.uri));
    proxied.getClient().on('commandStarted', (e) => {
      if (e.commandName === 'find') finds.push(String((e.command as { find: string }).find));
    });
  });
  afterAll(async () => {
    await proxied?.close();
    await proxy?.close();
    await db?.close();
  });

  it('share a read in flight, with the same answer; a read asked after a write is done is a new one', async () => {
    const repo = createDelegationRepository(proxied);
    const held = proxy.hold(PRIYA);
    const first = repo.openFor({ principals: [PRIYA] });
    // The database has answered the first read (nothing stored yet): it is in flight until released.
    await held.arrived;
    const second = repo.openFor({ principals: [PRIYA, PRIYA] });
    expect(finds).toEqual(['delegations']);

    await repo.insert(delegation('dlg_shared_1'));
    const afterWrite = await repo.openFor({ principals: [PRIYA] });
    expect(afterWrite.map((d) => d.id)).toEqual(['dlg_shared_1']);
    expect(finds).toEqual(['delegations', 'delegations']);

    held.release();
    expect(await first).toEqual([]);
    expect(await second).toEqual([]);

    // Done reads are not remembered: the next one reads again, and a transition is seen at once.
    expect(await repo.transition('dlg_shared_1', ['active'], 'ended', '2031-03-03T10:00:00.000Z')).toBe(true);
    expect(await repo.openFor({ principal: PRIYA })).toEqual([]);
    expect(finds).toHaveLength(3);
  });
});
