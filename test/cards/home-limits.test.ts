import { readFileSync } from 'node:fs';
import path from 'node:path';
import { renderCard } from '../../src/cards/render.js';
import { checkRenderedCard } from '../../src/cards/checks.js';
import type { CardModel } from '../../src/cards/view-models.js';
import { FIXTURES_DIR } from './support.js';

/*
 * App Home holds at most 100 blocks. The home view at its fullest (away, fleet, ten approvals
 * and more, ten hand-offs and boundary changes with buttons, twenty agents and more, fifteen open
 * requests and more) must still publish: Slack refuses the whole view otherwise.
 */

function fullestHome(): CardModel {
  const sample = JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'home.runtime.json'), 'utf8')) as { data: Record<string, unknown> };
  const busy = JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'home.busy.json'), 'utf8')) as { data: Record<string, unknown> };
  const away = JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'home.away.json'), 'utf8')) as { data: Record<string, unknown> };
  const approval = (sample.data.approvals as Array<Record<string, unknown>>)[0]!;
  const tasks = sample.data.tasks as unknown[];
  return {
    kind: 'home',
    data: {
      ...sample.data,
      away: away.data.away,
      fleet: busy.data.fleet,
      approvals: Array.from({ length: 14 }, (_, i) => ({ ...approval, runId: `run_8Kq2Lx9Pa${i}` })),
      tasks: Array.from({ length: 10 }, (_, i) => tasks[i % tasks.length]),
      taskCount: 14,
      myAgents: Array.from({ length: 25 }, (_, i) => ({
        agentId: `agt_x3k9m2pq${i}`,
        name: `Agent ${i}`,
        roleTitle: 'Invoice triage',
        status: 'active',
        businessUnit: 'Finance',
      })),
      openRequests: Array.from({ length: 18 }, (_, i) => ({
        runId: `run_5Tm1Qw8E${i}`,
        agentName: `Pilot ${i}`,
        roleTitle: 'Card fraud screening',
        statusLabel: 'Waiting for IT',
        requestedAt: '1 Jun 2025, 16:40 UTC',
      })),
    },
  } as CardModel;
}

describe('the home view at its fullest', () => {
  it('stays within App Home’s 100 blocks and renders valid on Slack and Teams', () => {
    const slack = renderCard('slack', fullestHome());
    expect(checkRenderedCard(slack)).toEqual([]);
    const blocks = (slack as { view: { blocks: unknown[] } }).view.blocks;
    expect(blocks.length).toBeGreaterThan(80);
    expect(blocks.length).toBeLessThanOrEqual(100);
    expect(JSON.stringify(blocks)).toContain('Hand-offs and changes waiting for you (14)');
    expect(checkRenderedCard(renderCard('teams', fullestHome()))).toEqual([]);
  });

  it('with Find agents… and a page of results, still within 100 blocks', () => {
    const found = JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'agent-list.find.json'), 'utf8')) as { data: { agents: unknown[] } };
    const agents = Array.from({ length: 10 }, (_, i) => ({ ...(found.data.agents[0] as object), agentId: `agt_f0und${i}` }));
    const home = fullestHome();
    const card = { kind: 'home', data: { ...home.data, offerFind: true, found: { ...found.data, agents } } } as CardModel;
    const slack = renderCard('slack', card);
    expect(checkRenderedCard(slack)).toEqual([]);
    const blocks = (slack as { view: { blocks: unknown[] } }).view.blocks;
    expect(blocks.length).toBeLessThanOrEqual(100);
    expect(JSON.stringify(blocks)).toContain('find_open');
    expect(JSON.stringify(blocks)).toContain('agt_f0und9');
    expect(checkRenderedCard(renderCard('teams', card))).toEqual([]);
  });
});
