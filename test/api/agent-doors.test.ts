import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CommandEvent } from '../../src/commands/index.js';
import { startTestRoster } from '../helpers/app.js';
import { agentClient, agentWithKey, postForm } from './support.js';

/*
 * Issue #17: the agent-facing HTTP API and the MCP server are two doors to the same commands. An
 * agent's call through either gives the bus the same command, run by the same handler (the access
 * check, POST /api/v1/access/check, too), and a suspended agent is refused by that handler's
 * authorise stage (policies.ts), whichever door.
 */

const SOFIA = 'sofia.alvarez@brightwater.example';

describe('the agent API and the MCP server reach the same command handlers', () => {
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  let events: CommandEvent[];
  let stopObserving: () => void;

  beforeAll(async () => {
    roster = await startTestRoster({});
    stopObserving = roster.services.bus.observe((event) => events.push(event));
  });
  beforeEach(() => {
    events = [];
  });
  afterAll(async () => {
    stopObserving?.();
    await roster?.stop();
  });

  /** One agent with a token for Roster's API and one for the MCP server. */
  async function agentWithTokens(name: string) {
    const { agent, key } = await agentWithKey(roster.services, [], {
      catalogRoleId: 'resume-screener',
      businessUnit: 'people-ops',
      sponsors: [SOFIA],
      requestedBy: SOFIA,
      name,
    });
    const token = async (resource?: string) => {
      const res = await postForm(
        `${roster.baseUrl}/oauth/token`,
        { grant_type: 'client_credentials', ...(resource ? { resource } : {}) },
        { id: agent.id, secret: key },
      );
      expect(res.status).toBe(200);
      return String(res.body.access_token);
    };
    const mcpUrl = new URL(`${roster.baseUrl}/mcp`);
    const mcpToken = await token(mcpUrl.href);
    const client = new Client({ name: 'two-door-screener', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(mcpUrl, { requestInit: { headers: { authorization: `Bearer ${mcpToken}` } } }));
    return { agent, apiToken: await token(), client };
  }

  const ask = (key: string) => ({ action: 'candidate.screen', summary: 'Screen application A-1.', idempotency_key: key });
  const handOff = (key: string) => ({ kind: 'candidate-review', summary: 'Please review candidate C-1.', idempotency_key: key });

  it('POST /api/v1/approvals and request_approval, POST /api/v1/handoffs and hand_off_to_human: one handler each, the agent the actor', async () => {
    const { agent, apiToken, client } = await agentWithTokens('Two-door screener');
    const api = agentClient(() => roster).api;
    try {
      const overHttp = await api(apiToken, 'POST', '/api/v1/approvals', ask('doors-http-0001'));
      expect([overHttp.status, overHttp.body.status]).toEqual([201, 'allowed']);
      const overMcp = await client.callTool({ name: 'request_approval', arguments: ask('doors-mcp-0001') });
      expect(overMcp.isError).toBeFalsy();
      expect(overMcp.structuredContent).toMatchObject({ status: 'allowed', reason: 'autonomous' });

      const asked = events.filter((e) => e.type === 'runtime.approval.request');
      expect(asked).toHaveLength(2);
      expect(asked[0]!.handler).toBe(asked[1]!.handler);
      for (const event of asked) expect(event).toMatchObject({ actor: `agent:${agent.id}`, outcome: 'done', stage: 'done' });

      events = [];
      const caseOverHttp = await api(apiToken, 'POST', '/api/v1/handoffs', handOff('doors-http-0002'));
      expect([caseOverHttp.status, caseOverHttp.body.status]).toEqual([201, 'open']);
      const caseOverMcp = await client.callTool({ name: 'hand_off_to_human', arguments: handOff('doors-mcp-0002') });
      expect(caseOverMcp.structuredContent).toMatchObject({ status: 'open', queue: 'recruiters' });
      const handedOff = events.filter((e) => e.type === 'runtime.handoff.create');
      expect(handedOff).toHaveLength(2);
      expect(handedOff[0]!.handler).toBe(handedOff[1]!.handler);
      expect(handedOff[0]!.handler).not.toBe(asked[0]!.handler);
      expect((await roster.services.handoffs.openFor('jonas.weber@brightwater.example')).map((h) => h.id)).toEqual(
        expect.arrayContaining([caseOverHttp.body.id, (caseOverMcp.structuredContent as { id: string }).id]),
      );
    } finally {
      await client.close();
    }
  });

  it('POST /api/v1/access/check and check_access: one handler, the same answer', async () => {
    const { agent, apiToken, client } = await agentWithTokens('Checking screener');
    try {
      const overHttp = await agentClient(() => roster).api(apiToken, 'POST', '/api/v1/access/check', { scope: 'kb:read' });
      const overMcp = await client.callTool({ name: 'check_access', arguments: { scope: 'kb:read' } });
      expect(overHttp.status).toBe(200);
      expect(overMcp.structuredContent).toEqual(overHttp.body);
      expect(overHttp.body).toMatchObject({ allowed: false, reason: 'not_granted', agent_id: agent.id, scope: 'kb:read' });
      const checked = events.filter((e) => e.type === 'runtime.access.check');
      expect(checked).toHaveLength(2);
      expect(checked[0]!.handler).toBe(checked[1]!.handler);
      for (const event of checked) expect(event).toMatchObject({ actor: `agent:${agent.id}`, outcome: 'done' });
    } finally {
      await client.close();
    }
  });

  it('a suspended agent is refused at the authorise stage: 403 agent_not_active over HTTP, nothing stored', async () => {
    const { agent, apiToken, client } = await agentWithTokens('Suspended screener');
    await client.close();
    await roster.services.agents.update(agent.id, { status: 'suspended' });
    const refused = await agentClient(() => roster).api(apiToken, 'POST', '/api/v1/approvals', ask('doors-susp-0001'));
    expect([refused.status, refused.body.error]).toEqual([403, 'agent_not_active']);
    expect(events).toEqual([
      expect.objectContaining({ type: 'runtime.approval.request', actor: `agent:${agent.id}`, outcome: 'forbidden', stage: 'authorise' }),
    ]);
    expect(await roster.services.runtime.recent(agent.id)).toEqual([]);
  });
});
