import { performance, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { createSlackChannel } from '../../src/channels/slack/index.js';
import { createTeamsChannel } from '../../src/channels/teams/index.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { postSlack, slashCommand } from '../helpers/slack-requests.js';
import { startTeamsTestRoster, type TeamsTestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { agentRecord, people } from '../helpers/harness.js';
import { cardText } from '../channels/teams/card-reading.js';
import { teamsUser } from '../channels/teams/teams-client.js';

/*
 * Input that costs nothing to send must cost nothing to handle: a Teams message of a megabyte of
 * "<@" used to send the mention-stripping pattern into quadratic backtracking, stalling every
 * request of the process for minutes. /healthz is measured while it is handled.
 */

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * Watches this process's event loop (Roster runs in it) with a 1 ms ticker. A stall is a gap
 * between ticks, counted as the CPU time the process used during the gap rather than the gap's
 * wall time: a machine shared with other test suites may deschedule the process for a while,
 * which widens gaps without any work holding the loop, but only work spends CPU.
 *
 * Garbage collection is not counted either. The test runner's worker has by then loaded a hundred
 * suites, and a full collection of that heap once held a gap for 1.4 s of CPU in CI: that is the
 * runner's memory, not work Roster did for the message. Each gap is reduced by the GC pauses that
 * overlap it (Node's `gc` performance entries); the CPU a collection spends in helper threads can
 * only make the count larger, never smaller.
 */
function watchEventLoop() {
  let wall = performance.now();
  let cpu = cpuMs();
  let worstGapMs = 0;
  /** Gaps over 10 ms: [start, end] in performance.now() time and the CPU ms spent during it. */
  const gaps: Array<{ start: number; end: number; cpu: number }> = [];
  const pauses: Array<{ start: number; end: number }> = [];
  const record = (entries: PerformanceEntry[]) => {
    for (const e of entries) pauses.push({ start: e.startTime, end: e.startTime + e.duration });
  };
  const gcObserver = new PerformanceObserver((list) => record(list.getEntries()));
  gcObserver.observe({ entryTypes: ['gc'] });
  const ticker = setInterval(() => {
    const [nowWall, nowCpu] = [performance.now(), cpuMs()];
    worstGapMs = Math.max(worstGapMs, nowWall - wall);
    if (nowWall - wall > 10) gaps.push({ start: wall, end: nowWall, cpu: nowCpu - cpu });
    [wall, cpu] = [nowWall, nowCpu];
  }, 1);
  return {
    /** The longest stall (CPU ms, less GC pauses), the longest wall-clock gap, and the GC pause time inside the worst stall's gap. */
    async stop() {
      clearInterval(ticker);
      // GC entries are queued to the observer asynchronously: let them arrive, then take any still queued.
      await new Promise((r) => setTimeout(r, 0));
      record(gcObserver.takeRecords());
      gcObserver.disconnect();
      let worstStallMs = 0;
      let gcInWorstMs = 0;
      for (const gap of gaps) {
        const gcMs = pauses.reduce((sum, p) => sum + Math.max(0, Math.min(p.end, gap.end) - Math.max(p.start, gap.start)), 0);
        const stall = Math.min(gap.end - gap.start, gap.cpu) - gcMs;
        if (stall > worstStallMs) [worstStallMs, gcInWorstMs] = [stall, gcMs];
      }
      return { worstStallMs, worstGapMs, gcInWorstMs };
    },
  };
}

describe('a megabyte of "<@" in a Teams message', () => {
  let t: TeamsTestRoster;
  beforeAll(async () => {
    t = await startTeamsTestRoster();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is answered like any unknown text while /healthz keeps answering and the event loop is not held 100 ms', async () => {
    const grace = teamsUser(t.roster.chat.person(people.grace)!);
    expect((await t.client.install(grace)).status).toBe(200);
    // A first ordinary message warms up what any first message loads (templates, handlers), which is not the point here.
    expect((await t.client.message(grace, 'help')).status).toBe(200);

    /** Sends `text` while /healthz is probed; how often the probe was answered, the CPU the process spent until the reply, and the worst stall. */
    const underProbe = async (text: string) => {
      t.connector.reset();
      const loop = watchEventLoop();
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
      const cpuBefore = cpuMs();
      const posted = await t.client.message(grace, text);
      const handledCpuMs = cpuMs() - cpuBefore;
      // Let the probe see the server after the reply too.
      const seen = latencies.length;
      while (latencies.length < seen + 3) await new Promise((r) => setImmediate(r));
      done = true;
      await probe;
      const { worstStallMs, worstGapMs, gcInWorstMs } = await loop.stop();
      expect(posted.status).toBe(200);
      expect(latencies.length).toBeGreaterThan(3);
      return { probes: latencies.length, handledCpuMs, worstStallMs, worstGapMs, gcInWorstMs };
    };

    // The same megabyte without mention syntax: what any 1 MB message costs on this machine right now
    // (another test suite may share the CPU), so the hostile one is judged against it.
    const benign = await underProbe('a'.repeat(1_000_000));
    const hostile = await underProbe('<@'.repeat(500_000)); // 1,000,000 characters, inside the 1 MB body limit with the envelope
    const reply = FakeConnector.card(t.connector.posts(grace.conversationId).at(-1));
    expect(cardText(reply)).toContain('help');
    // Wall-clock bounds on /healthz (they were 1 s, or twice a harmless megabyte) failed at load 20 on a
    // shared machine, so time is judged in CPU: the process's CPU until the reply (Roster, the client
    // and the probe share it) stays within three times a harmless megabyte's, or 2 s. The quadratic
    // pattern this guards against took seconds of CPU at 60 KB and minutes at 1 MB. /healthz answered
    // 200 every time it was asked (checked in the probe) and more than three times.
    expect(hostile.handledCpuMs).toBeLessThan(Math.max(2_000, 3 * benign.handledCpuMs));
    // The bound, held on a loaded machine too: handling the megabyte never holds the event
    // loop (so /healthz, and every other request) for 100 ms of work. Measured three times: the
    // longest stretch is 15–30 ms of CPU, as for a megabyte of plain text. Without the 500-character
    // cut the mention pattern runs over the whole megabyte, about 100 ms of CPU on every try (the
    // unbounded pattern before it: minutes), so the least of the three tells the two apart.
    const tries = [hostile];
    for (let i = 0; i < 2; i += 1) tries.push(await underProbe('<@'.repeat(500_000)));
    const stalls = tries.map((r) => r.worstStallMs);
    // At least two of the three under 100 ms: the CPU counted in a gap is the whole process's, so
    // on a loaded machine a JIT or concurrent-marking thread working while the main thread waits to
    // be scheduled can fill one gap (CI, 2026-12-02: one try 158 ms with no GC pause in it, the
    // other two under 100 ms). Work that holds the loop does so on every try, as the cut-less
    // pattern's 100 ms did; the least of the three tells them apart.
    // On failure this shows each try's worst stall, its gap's wall time and the GC pauses taken out of it.
    expect(tries.filter((r) => r.worstStallMs < 100).length >= 2 ? 'two or three under 100 ms' : tries).toBe('two or three under 100 ms');
    expect(Math.min(...stalls)).toBeLessThan(50);
  }, 120_000);
});

describe('reads do not queue behind the audit chain', () => {
  let t: TeamsTestRoster;
  beforeAll(async () => {
    t = await startTeamsTestRoster();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('"show" and "list" answer in Teams while every audit append is held, and are recorded in the read log', async () => {
    const liam = teamsUser(t.roster.chat.person(people.liam)!);
    expect((await t.client.install(liam)).status).toBe(200);
    const agent = agentRecord({ name: 'Looked At', sponsors: [people.liam], businessUnit: 'engineering' });
    await t.roster.services.agents.insert(agent);

    // Hold the chain as a burst of writers would: every append waits until released.
    const audit = t.roster.services.audit;
    const append = audit.append.bind(audit);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held: Array<Promise<unknown>> = [];
    audit.append = (input) => {
      const entry = gate.then(() => append(input));
      held.push(entry);
      return entry;
    };
    try {
      t.connector.reset();
      const shown = await Promise.race([
        t.client.message(liam, `show ${agent.id}`),
        new Promise<'held'>((r) => setTimeout(() => r('held'), 10_000)),
      ]);
      expect(shown).not.toBe('held');
      expect(cardText(FakeConnector.card(t.connector.posts(liam.conversationId).at(-1)))).toContain('Looked At');
      const listed = await Promise.race([
        t.client.message(liam, 'list mine'),
        new Promise<'held'>((r) => setTimeout(() => r('held'), 10_000)),
      ]);
      expect(listed).not.toBe('held');
      expect(cardText(FakeConnector.card(t.connector.posts(liam.conversationId).at(-1)))).toContain('Your agents');
    } finally {
      release();
      audit.append = append;
      await Promise.allSettled(held);
    }
    const reads = await t.roster.services.reads.list({ agentId: agent.id });
    expect(reads.map((r) => [r.action, r.actor])).toEqual([['agent.viewed', { kind: 'person', email: people.liam }]]);
    expect((await t.roster.services.reads.list()).some((r) => r.action === 'agents.listed')).toBe(true);
  }, 30_000);
});

describe('per-principal rate limits at every door', () => {
  const PRIYA = 'U04E6T1V5GA'; // Slack
  const AISHA = 'U04L2V8F5HY'; // Slack
  let slack: FakeSlack;
  let t: TeamsTestRoster;
  beforeAll(async () => {
    slack = new FakeSlack();
    await slack.start();
    t = await startTeamsTestRoster({
      env: slack.rosterEnv(),
      channels: [createSlackChannel, createTeamsChannel],
      settings: {
        rateLimits: {
          chat: { requests: 3, per: { text: '1h', ms: 3_600_000 } },
          telemetry: { requests: 600, per: { text: '1m', ms: 60_000 } },
          anonymous: { requests: 3, per: { text: '1h', ms: 3_600_000 } },
        },
      },
    });
  });
  afterAll(async () => {
    await t?.stop();
    await slack?.stop();
  });

  it('Slack: a fourth command within the window gets a friendly "slow down", and nothing else happens; others are served', async () => {
    for (let i = 0; i < 3; i++) {
      await postSlack(t.roster.baseUrl, slashCommand(PRIYA, 'help', slack.responseUrl(`ok-${i}`)));
      expect(JSON.stringify((await slack.waitForResponse(`ok-${i}`)).body)).not.toContain('Slow down');
    }
    const limited = await postSlack(t.roster.baseUrl, slashCommand(PRIYA, 'list mine', slack.responseUrl('limited')));
    expect(limited.status).toBe(200);
    const answer = await slack.waitForResponse('limited');
    expect(answer.body.response_type).toBe('ephemeral');
    expect(String(answer.body.text)).toContain('Slow down a little');
    expect(JSON.stringify(answer.body.blocks)).toMatch(/wait \d+ seconds? and try again/);
    await postSlack(t.roster.baseUrl, slashCommand(AISHA, 'help', slack.responseUrl('other')));
    expect(JSON.stringify((await slack.waitForResponse('other')).body)).not.toContain('Slow down');
  });

  it('Teams: a fourth message or click within the window gets the "slow down" card instead of an answer', async () => {
    const tom = teamsUser(t.roster.chat.person(people.tom)!);
    expect((await t.client.install(tom)).status).toBe(200);
    t.connector.reset();
    for (let i = 0; i < 3; i++) expect((await t.client.message(tom, 'help')).status).toBe(200);
    expect(t.connector.posts(tom.conversationId).map((c) => cardText(FakeConnector.card(c)))).not.toContainEqual(
      expect.stringContaining('Slow down'),
    );
    await t.client.message(tom, 'catalog');
    expect(cardText(FakeConnector.card(t.connector.posts(tom.conversationId).at(-1)))).toContain('Slow down a little');
    const click = await t.client.execute(tom, 'catalog_request', { roleId: 'support-assistant' });
    expect(click.status).toBe(200);
    expect(cardText(click.card)).toContain('Slow down a little');
  });

  it('HTTP without authentication: 429 with Retry-After per client address; /healthz is never refused', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${t.roster.baseUrl}/metrics`)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await fetch(`${t.roster.baseUrl}/readyz`);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: 'rate_limited' });
    expect((await fetch(`${t.roster.baseUrl}/dashboard?token=x`)).status).toBe(429);
    for (let i = 0; i < 20; i++) expect((await fetch(`${t.roster.baseUrl}/healthz`)).status).toBe(200);
  });
});
