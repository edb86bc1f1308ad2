import { checkTeamsCard } from '../../../src/cards/checks.js';
import { newAgentId } from '../../../src/core/agents.js';
import { teamsTestRosterPerSuite } from '../../helpers/app.js';
import { agentRecord } from '../../helpers/harness.js';
import { FakeConnector } from '../../helpers/fake-connector.js';
import { generateEvents } from '../../helpers/synthetic-telemetry.js';
import { button, cardButtons, cardText } from './card-reading.js';
import { teamsUser } from './teams-client.js';

const DAY = 86_400_000;

type Json = Record<string, unknown>;
function find(node: unknown, test: (n: Json) => boolean): Json | undefined {
  if (Array.isArray(node)) return node.map((n) => find(n, test)).find(Boolean);
  if (!node || typeof node !== 'object') return undefined;
  if (test(node as Json)) return node as Json;
  return Object.values(node as Json)
    .map((n) => find(n, test))
    .find(Boolean);
}
/** The points of the card's Chart.Line (empty without one). */
function chartPoints(card: unknown): Array<{ x: string; y: number }> {
  const chart = find(card, (n) => n.type === 'Chart.Line') as { data?: Array<{ values: Array<{ x: string; y: number }> }> } | undefined;
  return chart?.data?.[0]?.values ?? [];
}
/** The text of a container that starts hidden, and that a click on the card shows. */
function hiddenText(card: unknown, id: string): string {
  const container = find(card, (n) => n.id === id);
  expect(container?.isVisible).toBe(false);
  expect(find(card, (n) => Array.isArray(n.targetElements) && (n.targetElements as unknown[]).includes(id))).toBeDefined();
  return cardText(container);
}
const SOFIA = 'sofia.alvarez@brightwater.example'; // sponsor here; prefers Teams
const LIAM = 'liam.oneill@brightwater.example'; // on-call level 1
const AISHA = 'aisha.khan@brightwater.example'; // on-call level 1

describe('Teams: a drift alert acknowledged and a check-in Retrain', () => {
  const suite = teamsTestRosterPerSuite();

  it('pages on-call in Teams, Acknowledge stops the page, and the sponsor chooses Retrain', async () => {
    const { roster, connector, client } = suite;
    const user = (email: string) => teamsUser(roster.chat.person(email)!);
    for (const email of [SOFIA, LIAM, AISHA]) await client.install(user(email));
    connector.reset();

    const id = newAgentId();
    const created = new Date(Date.now() - 40 * DAY).toISOString();
    const agent = agentRecord({
      id,
      name: 'Benefits Explainer',
      sponsors: [SOFIA],
      purpose: 'Explains benefits.',
      createdAt: created,
      updatedAt: created,
      statusChangedAt: created,
    });
    await roster.services.agents.insert(agent);
    await roster.services.supervision.telemetry.ingest(
      generateEvents({ agentId: id, profile: 'accuracy-drop', days: 30, end: new Date(Math.floor(Date.now() / DAY) * DAY), driftDays: 14 }),
    );
    await roster.services.supervision.checkins.run(id);

    const liam = user(LIAM);
    const page = connector
      .posts(liam.conversationId)
      .map((p) => FakeConnector.card(p))
      .find((c) => cardText(c).includes('Benefits Explainer'));
    expect(page).toBeDefined();
    expect(cardText(page)).toContain('accuracy fell from');
    // The page says in plain words what changed and how sure Roster is, draws the trend as a
    // native chart, and keeps the statistics behind "Show or hide the numbers".
    expect(cardText(page)).toMatch(/Accuracy fell from 9\d% to [78]\d% over \d+ days; this is very unlikely to be chance\./);
    expect(chartPoints(page).length).toBeGreaterThanOrEqual(20);
    expect(hiddenText(page, 'alert_numbers')).toMatch(/z = -\d+\.\d\d, p < 0\.000001.*two-proportion z-test/);
    expect(checkTeamsCard(page)).toEqual([]);
    const ack = await client.execute(liam, 'alert_ack', button(page, 'alert_ack').data!);
    expect(ack.status).toBe(200);
    expect(cardText(ack.card)).toContain('Acknowledged by Liam');
    // The paging buttons are gone; what concerns the agent itself (under "More") stays.
    expect(cardButtons(ack.card).map((b) => b.verb ?? b.title)).toEqual(['More', 'alert_note', 'alert_decisions', 'alert_retire']);
    const [alert] = await roster.services.supervision.alertRepo.list({ agentId: id });
    expect(alert!.status).toBe('acknowledged');

    // A person outside the rotation gets a refusal card and changes nothing.
    const outsider = await client.execute(user(SOFIA), 'alert_resolve', { alertId: alert!.id });
    expect(cardText(outsider.card)).toContain('on-call rotation');
    expect((await roster.services.supervision.alertRepo.get(alert!.id))!.status).toBe('acknowledged');

    const sofia = user(SOFIA);
    const review = connector
      .posts(sofia.conversationId)
      .map((p) => FakeConnector.card(p))
      .find((c) => cardText(c).includes('Check-in'));
    expect(review).toBeDefined();
    expect(cardText(review)).toMatch(/🔴 Accuracy fell from 9\d% to [78]\d% over \d+ days; this is very unlikely to be chance\./);
    // Daily accuracy as a Chart.Line of dated points (percentages), the sparkline only as its fallback.
    const points = chartPoints(review);
    expect(points.length).toBeGreaterThanOrEqual(20);
    expect(points[0]).toEqual({ x: expect.stringMatching(/^\d{1,2} [A-Z][a-z]{2}$/), y: expect.any(Number) });
    expect(points.at(-1)!.y).toBeLessThan(points[0]!.y);
    expect(hiddenText(review, 'checkin_numbers')).toMatch(/accuracy fell from 0\.9\d\d to 0\.[78]\d\d .*z = /);
    expect(checkTeamsCard(review)).toEqual([]);
    const retrain = await client.execute(sofia, 'checkin_retrain', button(review, 'checkin_retrain').data!);
    expect(cardText(retrain.card)).toContain('retrain');
    // Decided: Keep / Retrain / Retire are gone; Add note and the decisions behind the findings stay.
    expect(cardButtons(retrain.card).map((b) => b.verb)).toEqual(['checkin_note', 'checkin_decisions']);
    const trail = (await roster.services.audit.export({ agentId: id })).map(
      (e) => `${e.action}${e.actor.kind === 'person' ? `:${e.actor.email}` : ''}`,
    );
    expect(trail).toEqual(expect.arrayContaining([`alert.acknowledged:${LIAM}`, `checkin.retrain:${SOFIA}`]));
  }, 60_000);
});
