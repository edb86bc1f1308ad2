import { startTestRoster } from '../helpers/app.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { eventually, SHIPPED_CONFIG } from '../helpers/harness.js';
import { patchOp, ScimClient, SCIM_TOKEN } from './scim-client.js';

type Roster = Awaited<ReturnType<typeof startTestRoster>>;

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/*
 * The request sequences of Microsoft Entra ID's and Okta's provisioning documentation, replayed
 * over HTTP with their documented payloads, asserting what Roster then holds after each step.
 */
describe('SCIM provisioning as Entra ID and Okta send it', () => {
  let roster: Roster;
  beforeEach(async () => {
    roster = await startTestRoster({ env: { ROSTER_SCIM_TOKEN: SCIM_TOKEN } });
  });
  afterEach(async () => {
    await roster.stop();
  });

  const person = (email: string) => roster.chat.person(email);

  it('Entra ID: test connection, create, update via PATCH, manager, groups, disable (string "False"), hard delete', async () => {
    const entra = new ScimClient(roster.baseUrl);

    // Test Connection: a random GUID as userName, expecting 200 and an empty list.
    const probe = await entra.get(`/Users?filter=${encodeURIComponent('userName eq "2f0d7d54-52b5-4c9e-a3a2-bd6c3b1f1d4e"')}`);
    expect(probe.status).toBe(200);
    expect(probe.contentType).toContain('application/scim+json');
    expect(probe.body).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });

    // Create User, as in Entra's "Create User" example (read-only meta and empty roles included).
    const created = await entra.post('/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com',
      active: true,
      emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com' }],
      meta: { resourceType: 'User' },
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      roles: [],
    });
    expect(created.status).toBe(201);
    const id = String(created.body.id);
    expect(created.location).toBe(`${roster.baseUrl}/scim/v2/Users/${id}`);
    expect(created.body).toMatchObject({
      userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com',
      active: true,
      meta: { resourceType: 'User', location: `${roster.baseUrl}/scim/v2/Users/${id}` },
    });
    const email = 'test_user_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com';
    expect(person(email)).toMatchObject({ name: 'givenName familyName', businessUnit: 'engineering', roles: [] });

    // Get User by query, and by externalId, and by work e-mail (the three look-ups Entra uses).
    for (const filter of [
      'userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com"',
      'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"',
      `emails[type eq "work"].value eq "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"`,
    ]) {
      expect(await entra.userId(filter)).toBe(id);
    }
    // Case-insensitive userName (caseExact false), case-sensitive externalId (caseExact true).
    expect(await entra.userId('userName eq "TEST_USER_AB6490EE-1E48-479E-A20B-2D77186B5DD1@TESTUSER.COM"')).toBe(id);
    expect(
      (await entra.get(`/Users?filter=${encodeURIComponent('externalId eq "0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF"')}`)).body.totalResults,
    ).toBe(0);

    // Update User [Multi-valued properties]: capitalised ops, a value-filter path.
    const updated = await entra.patch(
      `/Users/${id}`,
      patchOp(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      ),
    );
    expect(updated.status).toBe(200);
    expect(updated.body.emails).toEqual([{ primary: true, type: 'work', value: 'updatedEmail@microsoft.com' }]);
    expect(person('updatedemail@microsoft.com')?.name).toBe('givenName familyName');
    expect(person(email)).toBeUndefined();

    // The flagged job's path-less replace with dotted and URN keys (aadOptscim062020).
    const flagged = await entra.patch(
      `/Users/${id}`,
      patchOp({ op: 'replace', value: { displayName: 'Ada Lovelace', 'name.givenName': 'Ada', [`${ENTERPRISE}:department`]: 'Finance' } }),
    );
    expect(flagged.status).toBe(200);
    expect(flagged.body).toMatchObject({
      displayName: 'Ada Lovelace',
      name: { givenName: 'Ada' },
      [ENTERPRISE]: { department: 'Finance' },
    });
    // A department naming a business unit places the person there.
    expect(person('updatedemail@microsoft.com')).toMatchObject({ name: 'Ada Lovelace', businessUnit: 'finance' });

    // Manager: Entra sends the manager's id as a bare string.
    const noahId = await entra.userId('userName eq "noah.fischer@brightwater.example"');
    const withManager = await entra.patch(`/Users/${id}`, patchOp({ op: 'Add', path: `${ENTERPRISE}:manager`, value: noahId }));
    expect(withManager.body[ENTERPRISE]).toMatchObject({ manager: { value: noahId } });
    expect(person('updatedemail@microsoft.com')?.manager).toBe('noah.fischer@brightwater.example');

    // Create Group, with Entra's extra schema and no members; then find it excluding members.
    const group = await entra.post('/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group', 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'Roster IT Admins',
      meta: { resourceType: 'Group' },
    });
    expect(group.status).toBe(201);
    const groupId = String(group.body.id);
    const found = await entra.get(`/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "Roster IT Admins"')}`);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources![0]).not.toHaveProperty('members');

    // Add member: 204, and the role follows at once.
    const add = await entra.patch(`/Groups/${groupId}`, patchOp({ op: 'Add', path: 'members', value: [{ $ref: null, value: id }] }));
    expect(add.status).toBe(204);
    expect(person('updatedemail@microsoft.com')?.roles).toEqual(['it-admin']);
    expect((await entra.get(`/Users/${id}`)).body.groups).toEqual([
      { value: groupId, display: 'Roster IT Admins', $ref: `${roster.baseUrl}/scim/v2/Groups/${groupId}` },
    ]);

    // Remove member (default job): op Remove, path members and a value list naming the member.
    const remove = await entra.patch(`/Groups/${groupId}`, patchOp({ op: 'Remove', path: 'members', value: [{ $ref: null, value: id }] }));
    expect(remove.status).toBe(204);
    expect(person('updatedemail@microsoft.com')?.roles).toEqual([]);
    // Remove (flagged job): a value-filter path, no value; the other members stay.
    const liamId = await entra.userId('userName eq "liam.oneill@brightwater.example"');
    await entra.patch(`/Groups/${groupId}`, patchOp({ op: 'Add', path: 'members', value: [{ value: id }, { value: liamId }] }));
    await entra.patch(`/Groups/${groupId}`, patchOp({ op: 'remove', path: `members[value eq "${id}"]` }));
    expect(person('updatedemail@microsoft.com')?.roles).toEqual([]);
    expect(person('liam.oneill@brightwater.example')?.roles).toContain('it-admin');
    expect((await entra.get(`/Groups/${groupId}`)).body.members).toEqual([
      expect.objectContaining({ value: liamId, display: "Liam O'Neill" }),
    ]);

    // Disable: the default job sends the string "False". The user stays retrievable, inactive.
    const disabled = await entra.patch(`/Users/${id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
    expect(disabled.status).toBe(200);
    expect(disabled.body.active).toBe(false);
    expect((await entra.get(`/Users/${id}`)).body.active).toBe(false);
    expect(person('updatedemail@microsoft.com')).toBeUndefined();
    const left = await eventually(async () =>
      (await roster.services.audit.export({})).find(
        (e) => e.action === 'directory.person-left' && e.subject.id === 'updatedemail@microsoft.com',
      ),
    );
    expect(left.actor).toEqual({ kind: 'system', name: 'scim' });
    expect(left.details).toMatchObject({ reason: 'deactivated', manager: 'noah.fischer@brightwater.example' });

    // Hard delete after the soft-delete period: 204, then 404.
    expect((await entra.delete(`/Users/${id}`)).status).toBe(204);
    const gone = await entra.get(`/Users/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404' });
  });

  it('Okta: look-up, create with password, full PUT updates, deactivate by path-less PATCH, Push Groups', async () => {
    const okta = new ScimClient(roster.baseUrl, { 'user-agent': 'Okta SCIM Client 1.0.0' });

    // Okta checks whether the user exists first (startIndex=1&count=100).
    const lookup = await okta.get(`/Users?filter=${encodeURIComponent('userName eq "test.user@okta.local"')}&startIndex=1&count=100`);
    expect(lookup.status).toBe(200);
    expect(lookup.body.totalResults).toBe(0);

    // Create, as in Okta's SCIM 2.0 reference: a password, and a read-only empty groups list.
    const create = await okta.post('/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'test.user@okta.local',
      name: { givenName: 'Test', familyName: 'User' },
      emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
      displayName: 'Test User',
      locale: 'en-US',
      externalId: '00ujl29u0le5T6Aj10h7',
      groups: [],
      password: '1mz050nq',
      active: true,
    });
    expect(create.status).toBe(201);
    const id = String(create.body.id);
    expect(create.body).not.toHaveProperty('password');
    expect(person('test.user@okta.local')).toMatchObject({ name: 'Test User', teamsUpn: 'test.user@okta.local' });

    // A second create of the same user is a 409 uniqueness error.
    const again = await okta.post('/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'test.user@okta.local' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ status: '409', scimType: 'uniqueness' });

    // Profile updates are full PUTs.
    const put = await okta.put(`/Users/${id}`, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      id,
      userName: 'test.user@okta.local',
      name: { givenName: 'Another', familyName: 'User' },
      emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
      displayName: 'Another User',
      locale: 'en-US',
      externalId: '00ujl29u0le5T6Aj10h7',
      groups: [],
      active: true,
      meta: { resourceType: 'User' },
    });
    expect(put.status).toBe(200);
    expect(put.body.displayName).toBe('Another User');
    expect(person('test.user@okta.local')?.name).toBe('Another User');

    // Push Groups: POST with an empty member list, then membership PATCHes, rename, delete.
    const created = await okta.post('/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'Roster Finance Approvers',
      members: [],
    });
    expect(created.status).toBe(201);
    const groupId = String(created.body.id);
    const add = await okta.patch(
      `/Groups/${groupId}`,
      patchOp({ op: 'add', path: 'members', value: [{ value: id, display: 'test.user@okta.local' }] }),
    );
    expect(add.status).toBe(204);
    expect(person('test.user@okta.local')?.roles).toEqual(['approver:finance']);

    // Okta's rename is a path-less replace of {id, displayName}, with the read-only id.
    await okta.patch(`/Groups/${groupId}`, patchOp({ op: 'replace', value: { id: groupId, displayName: 'Roster Security' } }));
    expect(person('test.user@okta.local')?.roles).toEqual(['security']);
    expect((await okta.get(`/Groups/${groupId}`)).body.displayName).toBe('Roster Security');

    // Membership change: remove by value filter plus add, in one PATCH.
    const daniel = await okta.userId('userName eq "daniel.okafor@brightwater.example"');
    const swap = await okta.patch(
      `/Groups/${groupId}`,
      patchOp({ op: 'remove', path: `members[value eq "${id}"]` }, { op: 'add', path: 'members', value: [{ value: daniel }] }),
    );
    expect(swap.status).toBe(204);
    expect(person('test.user@okta.local')?.roles).toEqual([]);
    expect(person('daniel.okafor@brightwater.example')?.roles).toEqual(['security']);

    // Deactivate: path-less replace {active:false}. Okta never DELETEs users.
    const off = await okta.patch(`/Users/${id}`, patchOp({ op: 'replace', value: { active: false } }));
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    expect(person('test.user@okta.local')).toBeUndefined();
    const audit = await roster.services.audit.export({});
    expect(audit.find((e) => e.action === 'directory.person-left' && e.subject.id === 'test.user@okta.local')?.details).toMatchObject({
      source: 'Okta',
      reason: 'deactivated',
    });
    expect(
      audit.find((e) => e.action === 'directory.roles-changed' && e.subject.id === 'daniel.okafor@brightwater.example')?.details,
    ).toMatchObject({
      added: ['security'],
      source: 'Okta',
    });

    // Reactivation brings the person back.
    await okta.patch(`/Users/${id}`, patchOp({ op: 'replace', value: { active: true } }));
    expect(person('test.user@okta.local')?.name).toBe('Another User');

    // Unlinking a pushed group with "delete": the roles go with it.
    expect((await okta.delete(`/Groups/${groupId}`)).status).toBe(204);
    expect(person('daniel.okafor@brightwater.example')?.roles).toEqual([]);
    expect((await okta.get(`/Groups/${groupId}`)).status).toBe(404);
  });

  it('pages with startIndex and count in a stable order; discovery describes what is served', async () => {
    const client = new ScimClient(roster.baseUrl);
    const all = await client.get('/Users?count=200');
    const total = Number(all.body.totalResults);
    // Every person of people.yaml was seeded, once.
    expect(total).toBe(loadOrgConfig(SHIPPED_CONFIG).people.length);
    const ids = all.body.Resources!.map((r) => r.id);
    const page = await client.get('/Users?startIndex=3&count=4');
    expect(page.body).toMatchObject({ totalResults: total, startIndex: 3, itemsPerPage: 4 });
    expect(page.body.Resources!.map((r) => r.id)).toEqual(ids.slice(2, 6));
    expect((await client.get('/Users?count=0')).body).toMatchObject({ totalResults: total, itemsPerPage: 0, Resources: [] });

    const config = await client.get('/ServiceProviderConfig');
    expect(config.body).toMatchObject({
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 200 },
    });
    const types = await client.get('/ResourceTypes');
    expect(types.body.Resources!.map((t) => t.id)).toEqual(['User', 'Group']);
    const schemas = await client.get('/Schemas');
    expect(schemas.body.Resources!.map((s) => s.id)).toEqual(
      expect.arrayContaining(['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE, 'urn:ietf:params:scim:schemas:core:2.0:Group']),
    );
  });
});
