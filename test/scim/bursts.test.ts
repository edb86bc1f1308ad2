import { patchOp, startScimRoster, type ScimClient, type ScimRoster } from './scim-client.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
/** Twice a burst of ten: ten alone passed without the back-off when the machine was idle, twenty lost 4 to 5 to 409. */
const BURST = 20;

/*
 * Identity providers push group memberships in bursts (Entra ID sends one PATCH per member added,
 * several at once). Every write to the group is a compare-and-set on the group's document, so the
 * requests of a burst conflict with each other; they must all land, none answered 409.
 */
describe('SCIM bursts on one group', () => {
  let roster: ScimRoster;
  let scim: ScimClient;
  beforeAll(async () => {
    ({ roster, scim } = await startScimRoster());
  });
  afterAll(async () => {
    await roster.stop();
  });

  it('member adds sent at once to one group (twenty, a burst of ten twice over) all succeed, and the group lists them all', async () => {
    const ids: string[] = [];
    for (let i = 0; i < BURST; i++) {
      const email = `burst.${i}@brightwater.example`;
      const created = await scim.post('/Users', {
        schemas: [USER],
        userName: email,
        emails: [{ value: email, primary: true }],
        active: true,
      });
      expect(created.status).toBe(201);
      ids.push(String(created.body.id));
    }
    const group = await scim.post('/Groups', { schemas: [GROUP], displayName: 'Roster Finance Approvers', members: [] });
    expect(group.status).toBe(201);
    const groupId = String(group.body.id);

    const replies = await Promise.all(
      ids.map((id) => scim.patch(`/Groups/${groupId}`, patchOp({ op: 'add', path: 'members', value: [{ value: id }] }))),
    );
    expect(replies.map((r) => r.status).filter((s) => s !== 200 && s !== 204)).toEqual([]);

    const members = ((await scim.get(`/Groups/${groupId}`)).body.members as Array<{ value: string }>).map((m) => m.value);
    expect(members.sort()).toEqual([...ids].sort());
    for (let i = 0; i < BURST; i++) expect(roster.chat.person(`burst.${i}@brightwater.example`)?.roles).toEqual(['approver:finance']);
    // Twenty users, a group and twenty racing member adds over HTTP: past jest's 30 s in a full run at load 4.5.
  }, 120_000);
});
