import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createSlackChannel } from '../../src/channels/slack/index.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { startTestRoster } from '../helpers/app.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { agentClient } from '../api/support.js';

/*
 * Issue 19 item 4, through the MCP SDK's own client: `hand_off_to_human` puts a case in the
 * queue (a card with Take it reaches the recruiter), `report_task` records a task event that the
 * next check-in counts (once, however often it is sent), and a retired agent's session is refused,
 * the one already open included.
 */

const SOFIA = 'sofia.alvarez@brightwater.example';
const JONAS = { id: 'U06R5C2T8WK', email: 'jonas.weber@brightwater.example' }; // the recruiters' queue

describe('the MCP tools hand_off_to_human and report_task', () => {
  let slack: FakeSlack;
  let roster: Awaited<ReturnType<typeof startTestRoster>>;

  beforeAll(async () => {
    slack = new FakeSlack();
    await slack.start();
    roster = await startTestRoster({ env: slack.rosterEnv(), channels: [createSlackChannel] });
  });
  afterAll(async () => {
    await roster?.stop();
    await slack?.stop();
  });

  it('hand_off_to_human sends the queue a card, report_task is counted in the check-in, and a retired agent is refused', async () => {
    const mcpUrl = new URL(`${roster.baseUrl}/mcp`);
    const { agent, token } = await agentClient(() => roster).agentAndToken(
      { catalogRoleId: 'resume-screener', businessUnit: 'people-ops', sponsors: [SOFIA], requestedBy: SOFIA, name: 'MCP screener' },
      mcpUrl.href,
    );
    const transport = () => new StreamableHTTPClientTransport(mcpUrl, { requestInit: { headers: { authorization: `Bearer ${token}` } } });

    const client = new Client({ name: 'resume-screener', version: '1.0.0' });
    await client.connect(transport());
    try {
      const handedOff = await client.callTool({
        name: 'hand_off_to_human',
        arguments: {
          kind: 'candidate-review',
          summary: 'Strong frontend candidate; please review for the design-systems role.',
          details: { candidateRef: 'CAND-6110' },
          idempotency_key: 'mcp-handoff-0001',
          wait: 0,
        },
      });
      expect(handedOff.isError).toBeFalsy();
      expect(handedOff.structuredContent).toMatchObject({ status: 'open', queue: 'recruiters', kind: 'candidate-review' });
      const id = String((handedOff.structuredContent as { id: string }).id);
      const card = await slack.waitFor(
        'chat.postMessage',
        (a) =>
          a.channel === JONAS.id && actionElements(a.blocks).some((e) => e.action_id === 'handoff_take' && String(e.value).includes(id)),
      );
      expect(JSON.stringify(card.args.blocks)).toContain('MCP screener hands off a case to Recruiters');
      expect(JSON.stringify(card.args.blocks)).toContain('CAND-6110');
      expect((await roster.services.handoffs.openFor(JONAS.email)).map((h) => h.id)).toContain(id);

      const task = {
        eventId: 'mcp-task-0001',
        time: new Date().toISOString(),
        taskType: 'screen',
        outcome: 'success',
        latencyMs: 1200,
        costUSD: 0.01,
      };
      const reported = await client.callTool({ name: 'report_task', arguments: task });
      expect(reported.isError).toBeFalsy();
      expect(reported.structuredContent).toMatchObject({ accepted: 1, duplicates: 0 });
      // The same event again (a retry) is not counted twice.
      expect((await client.callTool({ name: 'report_task', arguments: task })).structuredContent).toMatchObject({
        accepted: 0,
        duplicates: 1,
      });
      const invalid = await client.callTool({ name: 'report_task', arguments: { ...task, eventId: 'mcp-task-0002', outcome: 'meh' } });
      expect(invalid.isError).toBe(true);
      expect(await roster.services.supervision.telemetry.events(agent.id, { eventId: 'mcp-task-0001' })).toHaveLength(1);

      // Check-ins read whole days: tomorrow's covers today's task and the hand-off, one of each.
      const checkIn = await roster.services.supervision.checkins.run(agent.id, new Date(Date.now() + 86_400_000));
      expect(checkIn.sample.current).toBe(2);
      expect(checkIn.metrics.find((m) => m.metric === 'Hand-off rate')?.current).toBe('50.0%');

      // Retired: the session already open is refused at its next call, and a new one cannot start.
      await roster.services.agents.update(agent.id, { status: 'retired' });
      await expect(client.callTool({ name: 'report_task', arguments: { ...task, eventId: 'mcp-task-0003' } })).rejects.toThrow();
      expect(await roster.services.supervision.telemetry.events(agent.id, { eventId: 'mcp-task-0003' })).toHaveLength(0);
    } finally {
      await client.close();
    }
    const again = new Client({ name: 'resume-screener', version: '1.0.0' });
    await expect(again.connect(transport())).rejects.toThrow();
    const raw = await fetch(mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(raw.status).toBe(401);
    expect(((await raw.json()) as { error_description: string }).error_description).toContain('retired');
  });
});
