import type { AuditEntry } from '../../src/core/audit.js';
import { DIRECTORY_CHANGE_JOB } from '../../src/jobs/directory-change.js';
import { ScimService } from '../../src/scim/scim-service.js';
import { createDirectoryStore, type DirectoryStore } from '../../src/store/directory-store.js';
import { crashing, crashPoint, recovered } from '../helpers/crash-point.js';
import { eventually, people, startHarness, type Harness } from '../helpers/harness.js';
import { patchOp } from '../scim/scim-client.js';

/*
 * A SCIM write stores its reaction (audit entry, leaver or role-loss job) in the written user's or
 * group's outbox. Roster "dies" (the fault point throws) right after the write was stored: the
 * person has left or lost a role, nothing was audited or queued yet; the worker (here in a new
 * process after a restart, or in the same one) does it, once. A reaction performed directly after
 * the write would never reach the fault point, or would be there before the worker ran.
 */

const MAYA = 'maya.chen@brightwater.example'; // approver:finance in people.yaml
const FATIMA = 'fatima.ndiaye@brightwater.example';
const PRIYA = 'priya.raman@brightwater.example'; // approver:customer-support, data-owner:tickets
const NOAH = 'noah.fischer@brightwater.example'; // people.yaml roles until a group gives him his
const HIROSHI = 'hiroshi.tanaka@brightwater.example'; // data-owner:crm
const TOM = people.tom;
const ctx = { source: 'entra', base: 'http://127.0.0.1/scim/v2' };

const crash = crashPoint();
let h: Harness;

beforeAll(async () => {
  h = await startHarness(crashing(crash, { directory: true }));
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const scim = (): ScimService => h.services.scim!;
const entries = async (email: string, action: string): Promise<AuditEntry[]> =>
  (await h.services.audit.export()).filter((e) => e.subject.id === email && e.action === action);
const jobs = (email: string, kind: string) =>
  h.db.connection.db!.collection('agendaJobs').countDocuments({ name: DIRECTORY_CHANGE_JOB, 'data.email': email, 'data.kind': kind });
const userId = async (email: string): Promise<string> => {
  const list = (await scim().listUsers({ filter: `userName eq "${email}"` }, ctx.base)) as { Resources: Array<{ id: string }> };
  return list.Resources[0]!.id;
};

describe('SCIM writes killed between the stored write and its reaction', () => {
  it('a deactivated approver, then a restart: the leaver audited once with their roles, one leaver job', async () => {
    const id = await userId(MAYA);
    crash.arm('directory.reacted:0');
    await expect(scim().patchUser(id, patchOp({ op: 'Replace', path: 'active', value: false }), ctx)).rejects.toThrow(/crashed/);
    expect((await scim().getUser(id, ctx.base)).active).toBe(false);
    expect(await entries(MAYA, 'directory.person-left')).toHaveLength(0);
    expect(await jobs(MAYA, 'leaver')).toBe(0);

    // Another process (the restarted one) loads the directory as stored, without Maya, and performs the reaction.
    h = await h.restart();
    await recovered(h, async () => (await entries(MAYA, 'directory.person-left')).length > 0 && (await jobs(MAYA, 'leaver')) > 0);
    const [left] = await entries(MAYA, 'directory.person-left');
    expect(left!.details).toMatchObject({ email: MAYA, reason: 'deactivated', source: 'entra', roles: ['approver:finance'] });
    expect(await entries(MAYA, 'directory.person-left')).toHaveLength(1);
    expect(await jobs(MAYA, 'leaver')).toBe(1);
    expect((await h.services.audit.verify()).ok).toBe(true);
  });

  it('a group write giving and taking a role: each change audited once, one role-loss job', async () => {
    const fatima = await userId(FATIMA);
    const group = (await scim().createGroup(
      { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Roster Finance Approvers', members: [{ value: fatima }] },
      ctx,
    )) as { id: string };
    await h.services.outbox.drain();
    const changed = () => entries(FATIMA, 'directory.roles-changed');
    const given = (await changed()).length;
    expect(given).toBeGreaterThan(0);
    // Joining the group may take her people.yaml roles away already (the identity provider manages her now).
    const lost = await jobs(FATIMA, 'roles-removed');

    crash.arm('directory.reacted:0');
    await expect(scim().patchGroup(group.id, patchOp({ op: 'Remove', path: `members[value eq "${fatima}"]` }), ctx)).rejects.toThrow(
      /crashed/,
    );
    expect(h.services.directory!.live.personOfUser(fatima)?.roles ?? []).not.toContain('approver:finance');
    expect(await changed()).toHaveLength(given);
    expect(await jobs(FATIMA, 'roles-removed')).toBe(lost);
    await recovered(h, async () => (await changed()).length > given && (await jobs(FATIMA, 'roles-removed')) > lost);
    expect(await changed()).toHaveLength(given + 1);
    expect((await changed()).at(-1)!.details).toMatchObject({ removed: ['approver:finance'], source: 'entra' });
    expect(await jobs(FATIMA, 'roles-removed')).toBe(lost + 1);
  });

  it('a write that read a pending reaction, performed and removed before the write is stored, does not put it back', async () => {
    const email = people.daniel;
    const id = await userId(email);
    const pending = async () => (await h.db.connection.db!.collection('directory_users').findOne({ _id: id as never }))?.outbox ?? [];
    // A first write hands Daniel over to the identity provider (his people.yaml roles go).
    await scim().patchUser(id, patchOp({ op: 'Replace', path: 'displayName', value: 'Daniel O.' }), ctx);
    // The next (a new display name: nobody's authority changes) is stored; Roster dies before its reaction.
    crash.arm('directory.reacted:0');
    await expect(scim().patchUser(id, patchOp({ op: 'Replace', path: 'displayName', value: 'Dan R.' }), ctx)).rejects.toThrow(/crashed/);
    // The second write (deactivated) reads the user with that reaction pending, and the worker
    // performs and removes it before the second write is stored.
    const store = createDirectoryStore(h.db.connection);
    const getUser = store.getUser.bind(store);
    let raced = false;
    store.getUser = async (userId) => {
      const read = await getUser(userId);
      if (!raced && (read?.outbox?.length ?? 0) > 0) {
        raced = true;
        await eventually(async () => {
          await h.services.outbox.drain();
          return (await pending()).length === 0;
        });
      }
      return read;
    };
    const racing = new ScimService(store, h.services.directory!, () => new Date());
    await racing.patchUser(id, patchOp({ op: 'Replace', path: 'active', value: false }), ctx);
    expect(raced).toBe(true);

    // Put back, the first reaction would be performed again and see Daniel gone: a second leaver entry and job.
    await recovered(h, async () => (await pending()).length === 0 && (await entries(email, 'directory.person-left')).length > 0);
    expect(await entries(email, 'directory.person-left')).toHaveLength(1);
    expect(await jobs(email, 'leaver')).toBe(1);
  });

  it('two overlapping writes, the second made with a view that has not seen the first: the leaver audited once, one leaver job', async () => {
    const id = await userId(PRIYA);
    const pending = async () => (await h.db.connection.db!.collection('directory_users').findOne({ _id: id as never }))?.outbox ?? [];
    // The reaction another replica would store, made before the deactivation was stored (a reaction
    // names only the users; earlier versions also stored the person as the writer saw them).
    const stale = h.services.directory!.reaction([id], 'entra', 'deactivated');
    crash.arm('directory.reacted:0');
    await expect(scim().patchUser(id, patchOp({ op: 'Replace', path: 'active', value: false }), ctx)).rejects.toThrow(/crashed/);
    const directory = h.services.directory!;
    const replica = new Proxy(directory, {
      get: (target, name) => {
        if (name === 'reaction') return () => stale;
        const value: unknown = Reflect.get(target, name, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const other = new ScimService(createDirectoryStore(h.db.connection), replica, () => new Date());
    await other.patchUser(id, patchOp({ op: 'Replace', path: 'displayName', value: 'Priya R.' }), ctx);

    // Both reactions performed (the first once its writer's lease ran out).
    await recovered(h, async () => (await pending()).length === 0 && (await jobs(PRIYA, 'leaver')) > 0);
    const left = await entries(PRIYA, 'directory.person-left');
    expect(left).toHaveLength(1);
    expect(left[0]!.details).toMatchObject({
      email: PRIYA,
      reason: 'deactivated',
      roles: ['approver:customer-support', 'data-owner:tickets'],
    });
    expect(await jobs(PRIYA, 'leaver')).toBe(1);
    expect((await h.services.audit.verify()).ok).toBe(true);
  });

  it('audited meanwhile by a replica whose view lacked the deactivation: the writer catches up and audits the leaver, one leaver job', async () => {
    const id = await userId(TOM);
    crash.arm('directory.reacted:0');
    await expect(scim().patchUser(id, patchOp({ op: 'Replace', path: 'active', value: false }), ctx)).rejects.toThrow(/crashed/);
    // Right after this process caught up for the reaction, another replica stores a write (a newer
    // change number) and audits Tom from its view, which has not seen him deactivated: unchanged.
    const store = (h.services.directory as unknown as { deps: { store: DirectoryStore } }).deps.store;
    const auditedStates = store.auditedStates.bind(store);
    let raced = false;
    store.auditedStates = async (ids) => {
      if (!raced && ids.includes(id)) {
        raced = true;
        const replica = createDirectoryStore(h.db.connection);
        const seq = await replica.nextSeq();
        await replica.putLink({ kind: 'slack', id: 'U0REPLICA', email: people.amara, seq });
        await h.db.connection.db!.collection('directory_audited').updateOne({ _id: id as never }, { $set: { seq }, $inc: { n: 1 } });
      }
      return auditedStates(ids);
    };
    try {
      await recovered(h, async () => (await jobs(TOM, 'leaver')) > 0);
    } finally {
      store.auditedStates = auditedStates;
    }
    expect(raced).toBe(true);
    const left = await entries(TOM, 'directory.person-left');
    expect(left).toHaveLength(1);
    expect(left[0]!.details).toMatchObject({ email: TOM, reason: 'deactivated', source: 'entra', roles: ['requester'] });
    expect(await jobs(TOM, 'leaver')).toBe(1);
  });

  it('a reaction stored by an earlier version (people as the writer saw them) is still performed: the leaver audited once, one leaver job', async () => {
    const id = await userId(HIROSHI);
    const users = h.db.connection.db!.collection('directory_users');
    const person = h.services.directory!.live.personOfUser(id);
    crash.arm('directory.reacted:0');
    await expect(scim().patchUser(id, patchOp({ op: 'Replace', path: 'active', value: false }), ctx)).rejects.toThrow(/crashed/);
    // Rewritten as versions before `users` stored it: each person as the writer saw them, not their ids alone.
    const stored = await users.findOne({ _id: id as never });
    expect(stored?.outbox).toHaveLength(1);
    await users.updateOne(
      { _id: id as never },
      {
        $set: { 'outbox.0.data': { source: 'entra', reason: 'deactivated', before: [{ userId: id, person }] } },
      },
    );

    await recovered(h, async () => ((await users.findOne({ _id: id as never }))?.outbox ?? []).length === 0);
    const left = await entries(HIROSHI, 'directory.person-left');
    expect(left).toHaveLength(1);
    expect(left[0]!.details).toMatchObject({ email: HIROSHI, reason: 'deactivated', source: 'entra', roles: ['data-owner:crm'] });
    expect(await jobs(HIROSHI, 'leaver')).toBe(1);
  });

  it('deactivated then reactivated, both reactions performed late: no leaver and no joiner recorded for a person who never changed', async () => {
    const id = await userId(NOAH);
    const pending = async () => (await h.db.connection.db!.collection('directory_users').findOne({ _id: id as never }))?.outbox ?? [];
    // Noah's roles come from the identity provider from now on (a group mapped to a role).
    await scim().createGroup(
      { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Roster Engineering Approvers', members: [{ value: id }] },
      ctx,
    );
    await h.services.outbox.drain();
    expect(h.services.directory!.live.personOfUser(id)?.roles).toEqual(['approver:engineering']);
    const joined = (await entries(NOAH, 'directory.person-joined')).length;
    crash.arm('directory.reacted:0');
    await expect(scim().patchUser(id, patchOp({ op: 'Replace', path: 'active', value: false }), ctx)).rejects.toThrow(/crashed/);
    crash.arm('directory.reacted:0');
    await expect(scim().patchUser(id, patchOp({ op: 'Replace', path: 'active', value: true }), ctx)).rejects.toThrow(/crashed/);
    expect(await pending()).toHaveLength(2);

    // Performed late, each reaction finds Noah as last audited (present, same roles): the first
    // would otherwise compare "active" with "active", the second "gone" with "back" and record a joiner.
    await recovered(h, async () => (await pending()).length === 0);
    expect(h.services.directory!.live.personOfUser(id)?.roles).toEqual(['approver:engineering']);
    expect(await entries(NOAH, 'directory.person-left')).toHaveLength(0);
    expect(await entries(NOAH, 'directory.person-joined')).toHaveLength(joined);
    expect(await jobs(NOAH, 'leaver')).toBe(0);
  });
});
