import { patchOp, ScimClient, SCIM_TOKEN, startScimRoster, type ScimReply, type ScimRoster } from './scim-client.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

/** A SCIM error body (RFC 7644 §3.12): status as a string, the scimType when one applies. */
function expectScimError(reply: ScimReply, status: number, scimType?: string): void {
  expect(reply.status).toBe(status);
  expect(reply.contentType).toContain('application/scim+json');
  expect(reply.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status) });
  if (scimType) expect(reply.body.scimType).toBe(scimType);
  expect(typeof reply.body.detail).toBe('string');
}

describe('SCIM bad input: conformant errors, no partial writes, never a 5xx', () => {
  let roster: ScimRoster;
  let scim: ScimClient;
  beforeAll(async () => {
    ({ roster, scim } = await startScimRoster());
  });
  afterAll(async () => {
    await roster.stop();
  });

  it('refuses a missing, malformed or wrong bearer token with 401 before reading anything', async () => {
    for (const authorization of ['', 'Basic dXNlcjpwYXNz', 'Bearer', `Bearer ${SCIM_TOKEN}x`, `Bearer ${SCIM_TOKEN.slice(0, -1)}`]) {
      const res = await fetch(`${roster.baseUrl}/scim/v2/Users`, { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
      expect(await res.json()).toMatchObject({ status: '401' });
    }
    // Still refused when the body is garbage: authentication comes first.
    const wrong = await new ScimClient(roster.baseUrl, {}, 'not-the-token').post('/Users', '{');
    expectScimError(wrong, 401);
  });

  it('malformed JSON, wrong content type, unknown attributes and schemas, missing userName: 400 with a scimType', async () => {
    expectScimError(
      await scim.post('/Users', '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": '),
      400,
      'invalidSyntax',
    );
    const text = await scim.request('POST', '/Users', 'userName=x', { 'content-type': 'text/plain' });
    expectScimError(text, 400, 'invalidSyntax');
    expectScimError(await scim.post('/Users', { schemas: [USER], userName: 'a@x.example', favouriteColour: 'teal' }), 400, 'invalidSyntax');
    expectScimError(
      await scim.post('/Users', { schemas: [USER, 'urn:example:custom:1.0:User'], userName: 'a@x.example' }),
      400,
      'invalidSyntax',
    );
    expectScimError(await scim.post('/Users', { schemas: [USER], userName: 'a@x.example', name: { nick: 'A' } }), 400, 'invalidSyntax');
    expectScimError(await scim.post('/Users', { schemas: [USER], displayName: 'No userName' }), 400, 'invalidValue');
    expectScimError(await scim.post('/Users', { schemas: [USER], userName: 'no-email-anywhere' }), 400, 'invalidValue');
    expectScimError(await scim.post('/Users', { userName: 'a@x.example' }), 400, 'invalidSyntax');
    expectScimError(await scim.post('/Users', { schemas: [USER], userName: 'a@x.example', active: 'maybe' }), 400, 'invalidValue');
    expectScimError(await scim.post('/Users', [1, 2]), 400, 'invalidSyntax');
    expect((await scim.get(`/Users?filter=${encodeURIComponent('userName eq "a@x.example"')}`)).body.totalResults).toBe(0);
  });

  it('invalid filters and paging are 400 invalidFilter / invalidValue', async () => {
    for (const filter of [
      'userName eq',
      'userName eq "unterminated',
      'nickName eq "x"',
      'meta.lastModified gt "2011-05-13T04:42:34Z"',
      'userName zz "x"',
    ]) {
      expectScimError(await scim.get(`/Users?filter=${encodeURIComponent(filter)}`), 400, 'invalidFilter');
    }
    expectScimError(await scim.get('/Users?startIndex=abc'), 400, 'invalidValue');
    expectScimError(await scim.get('/Users?count=1e9'), 400, 'invalidValue');
    expectScimError(await scim.get(`/Groups?filter=${encodeURIComponent('owner eq "x"')}`), 400, 'invalidFilter');
  });

  it('a conflicting userName or e-mail is 409 uniqueness; a taken group name too', async () => {
    const body = { schemas: [USER], userName: 'Maya.Chen@Brightwater.example' };
    expectScimError(await scim.post('/Users', body), 409, 'uniqueness');
    const other = await scim.post('/Users', { schemas: [USER], userName: 'someone@x.example' });
    expect(other.status).toBe(201);
    expectScimError(
      await scim.put(`/Users/${String(other.body.id)}`, {
        schemas: [USER],
        userName: 'someone@x.example',
        emails: [{ type: 'work', value: 'noah.fischer@brightwater.example' }],
      }),
      409,
      'uniqueness',
    );
    const group = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Roster DPO' };
    expect((await scim.post('/Groups', group)).status).toBe(201);
    expectScimError(await scim.post('/Groups', { ...group, displayName: 'roster dpo' }), 409, 'uniqueness');
  });

  it('PATCH on missing paths or with bad operations changes nothing (no partial write)', async () => {
    const maya = await scim.userId('userName eq "maya.chen@brightwater.example"');
    const before = (await scim.get(`/Users/${maya}`)).body;
    // A valid first operation and an invalid second: the whole request is refused.
    expectScimError(
      await scim.patch(
        `/Users/${maya}`,
        patchOp({ op: 'replace', path: 'displayName', value: 'Changed' }, { op: 'replace', path: 'shoeSize', value: 44 }),
      ),
      400,
      'invalidPath',
    );
    expectScimError(await scim.patch(`/Users/${maya}`, patchOp({ op: 'remove' })), 400, 'noTarget');
    expectScimError(await scim.patch(`/Users/${maya}`, patchOp({ op: 'merge', path: 'displayName', value: 'x' })), 400, 'invalidSyntax');
    expectScimError(
      await scim.patch(`/Users/${maya}`, patchOp({ op: 'replace', path: 'displayName[value eq "x"]', value: 'x' })),
      400,
      'invalidPath',
    );
    expectScimError(await scim.patch(`/Users/${maya}`, patchOp({ op: 'replace', path: 'active', value: 'perhaps' })), 400, 'invalidValue');
    expectScimError(
      await scim.patch(`/Users/${maya}`, { Operations: [{ op: 'replace', path: 'active', value: false }] }),
      400,
      'invalidSyntax',
    );
    expectScimError(await scim.patch(`/Users/${maya}`, patchOp()), 400, 'invalidSyntax');
    expectScimError(
      await scim.patch(`/Users/${maya}`, patchOp({ op: 'replace', path: 'userName', value: 'noah.fischer@brightwater.example' })),
      409,
      'uniqueness',
    );
    const after = (await scim.get(`/Users/${maya}`)).body;
    expect(after).toEqual(before);
    expect(roster.chat.person('maya.chen@brightwater.example')?.roles).toEqual(['approver:finance']);

    const group = await scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Roster Security' });
    const id = String(group.body.id);
    expectScimError(
      await scim.patch(
        `/Groups/${id}`,
        patchOp(
          { op: 'add', path: 'members', value: [{ value: maya }] },
          { op: 'add', path: 'members', value: [{ value: 'no-such-user' }] },
        ),
      ),
      400,
      'invalidValue',
    );
    expect((await scim.get(`/Groups/${id}`)).body.members).toEqual([]);
    expect(roster.chat.person('maya.chen@brightwater.example')?.roles).toEqual(['approver:finance']);
  });

  it('unknown resources and routes are 404 SCIM errors', async () => {
    expectScimError(await scim.get('/Users/00000000-0000-0000-0000-000000000000'), 404);
    expectScimError(await scim.patch('/Users/nope', patchOp({ op: 'replace', path: 'active', value: false })), 404);
    expectScimError(await scim.delete('/Groups/nope'), 404);
    expectScimError(await scim.get('/Bulk'), 404);
    expectScimError(await scim.get('/Schemas/urn:nope'), 404);
  });

  // Last: it spends this address's budget of failed authentications.
  it('guessing tokens is rate limited: 429 with Retry-After and a SCIM error body, while the right token still works', async () => {
    const guesser = new ScimClient(roster.baseUrl, {}, 'guess-0000000000000000000000000000000000');
    let limited: ScimReply | undefined;
    for (let i = 0; i < 20 && !limited; i++) {
      const reply = await guesser.get('/Users');
      if (reply.status === 429) limited = reply;
      else expect(reply.status).toBe(401);
    }
    expect(limited).toBeDefined();
    expectScimError(limited!, 429);
    expect((await scim.get('/Users?count=1')).status).toBe(200);
  });
});
