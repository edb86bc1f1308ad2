import { createSlackChannel } from '../../src/channels/slack/index.js';
import { startTestRoster } from '../helpers/app.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { postSlack, slashCommand } from '../helpers/slack-requests.js';
import { ScimClient, SCIM_TOKEN } from './scim-client.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CHAT = 'urn:roster:params:scim:schemas:extension:chat:2.0:User';

describe('chat identities of provisioned people', () => {
  let slack: FakeSlack;
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  beforeEach(async () => {
    slack = new FakeSlack();
    await slack.start();
    roster = await startTestRoster({ env: { ...slack.rosterEnv(), ROSTER_SCIM_TOKEN: SCIM_TOKEN }, channels: [createSlackChannel] });
  });
  afterEach(async () => {
    await roster.stop();
    await slack.stop();
  });

  it('links a Slack id by the verified e-mail once; afterwards the id alone is enough', async () => {
    const scim = new ScimClient(roster.baseUrl);
    expect((await scim.post('/Users', { schemas: [USER], userName: 'zoe.park@brightwater.example', displayName: 'Zoe Park' })).status).toBe(
      201,
    );
    expect(roster.chat.person('zoe.park@brightwater.example')?.slackUserId).toBeUndefined();

    slack.emails.set('U09ZOEPARK1', 'Zoe.Park@brightwater.example');
    await postSlack(roster.baseUrl, slashCommand('U09ZOEPARK1', 'help', slack.responseUrl('first')));
    expect(JSON.stringify((await slack.waitForResponse('first')).body)).not.toContain("not in Roster's directory");
    expect(roster.chat.person('zoe.park@brightwater.example')?.slackUserId).toBe('U09ZOEPARK1');

    // Slack no longer answers users.info: the stored link still identifies her.
    slack.emails.delete('U09ZOEPARK1');
    const before = slack.of('users.info').length;
    await postSlack(roster.baseUrl, slashCommand('U09ZOEPARK1', 'help', slack.responseUrl('second')));
    expect(JSON.stringify((await slack.waitForResponse('second')).body)).not.toContain("not in Roster's directory");
    expect(slack.of('users.info')).toHaveLength(before);
  });

  it("takes the person's time zone from SCIM's timezone (an IANA zone), and shows their times in it", async () => {
    const scim = new ScimClient(roster.baseUrl);
    const base = { schemas: [USER], displayName: 'Kai Tanaka', emails: [{ value: 'kai.tanaka@brightwater.example', primary: true }] };
    expect((await scim.post('/Users', { ...base, userName: 'kai.tanaka@brightwater.example', timezone: 'Asia/Tokyo' })).status).toBe(201);
    expect(roster.chat.person('kai.tanaka@brightwater.example')?.timeZone).toBe('Asia/Tokyo');
    // An IdP sending something that is not a zone: kept in the resource, never used for times.
    expect(
      (
        await scim.post('/Users', {
          ...base,
          userName: 'kai.other@brightwater.example',
          displayName: 'Kai Other',
          emails: [{ value: 'kai.other@brightwater.example' }],
          timezone: 'Tokyo time',
        })
      ).status,
    ).toBe(201);
    expect(roster.chat.person('kai.other@brightwater.example')?.timeZone).toBeUndefined();
    expect(await roster.services.notifier.timeZoneOf?.('kai.tanaka@brightwater.example')).toBe('Asia/Tokyo');
  });

  it('takes immutable chat ids the identity provider provisions, and refuses malformed ones', async () => {
    const scim = new ScimClient(roster.baseUrl);
    const created = await scim.post('/Users', {
      schemas: [USER, CHAT],
      userName: 'ivan.petrov@brightwater.example',
      [CHAT]: { slackUserId: 'U09IVANPET', teamsAadObjectId: '0F8E7D6C-5B4A-4392-8170-6F5E4D3C2B1A', preferredChannel: 'teams' },
    });
    expect(created.status).toBe(201);
    expect(roster.chat.person('ivan.petrov@brightwater.example')).toMatchObject({
      slackUserId: 'U09IVANPET',
      teamsAadObjectId: '0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
      preferredChannel: 'teams',
    });
    const bad = await scim.post('/Users', { schemas: [USER, CHAT], userName: 'x@brightwater.example', [CHAT]: { slackUserId: 'nope' } });
    expect(bad.status).toBe(400);
    expect(bad.body.scimType).toBe('invalidValue');
  });
});
