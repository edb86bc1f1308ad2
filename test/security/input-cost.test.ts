import { performance } from 'node:perf_hooks';
import { startTeamsTestRoster, type TeamsTestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { people } from '../helpers/harness.js';
import { cardText } from '../channels/teams/card-reading.js';
import { teamsUser } from '../channels/teams/teams-client.js';

/*
 * Input that costs nothing to send must cost nothing to handle: a Teams message of a megabyte of
 * "<@" used to send the mention-stripping pattern into quadratic backtracking, stalling every
 * request of the process for minutes. /healthz is measured while it is handled.
 */

describe('a megabyte of "<@" in a Teams message', () => {
  let t: TeamsTestRoster;
  beforeAll(async () => {
    t = await startTeamsTestRoster();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is answered like any unknown text while /healthz keeps answering in under 100 ms', async () => {
    const grace = teamsUser(t.roster.chat.person(people.grace)!);
    expect((await t.client.install(grace)).status).toBe(200);
    // A first ordinary message warms up what any first message loads (templates, handlers), which is not the point here.
    expect((await t.client.message(grace, 'help')).status).toBe(200);
    t.connector.reset();

    const text = '<@'.repeat(500_000); // 1,000,000 characters, inside the 1 MB body limit with the envelope
    const latencies: number[] = [];
    let done = false;
    const probe = (async () => {
      while (!done) {
        const started = performance.now();
        const res = await fetch(`${t.roster.baseUrl}/healthz`);
        await res.text();
        latencies.push(performance.now() - started);
        expect(res.status).toBe(200);
      }
    })();
    const started = performance.now();
    const posted = await t.client.message(grace, text);
    const handledMs = performance.now() - started;
    // Let the probe see the server after the reply too.
    const seen = latencies.length;
    while (latencies.length < seen + 3) await new Promise((r) => setImmediate(r));
    done = true;
    await probe;

    expect(posted.status).toBe(200);
    const reply = FakeConnector.card(t.connector.posts(grace.conversationId).at(-1));
    expect(cardText(reply)).toContain('help');
    expect(latencies.length).toBeGreaterThan(3);
    expect(Math.max(...latencies)).toBeLessThan(100);
    expect(handledMs).toBeLessThan(2_000);
  }, 60_000);
});
