import { newAgentId } from '../../../src/core/agents.js';
import { slackTestRosterPerSuite } from '../../helpers/app.js';
import { agentRecord, eventually } from '../../helpers/harness.js';
import { buttonClick, interaction, postSlack } from '../../helpers/slack-requests.js';
import { generateEvents } from '../../helpers/synthetic-telemetry.js';
import { actionElements } from '../../helpers/slack-blocks.js';

const PRIYA = { id: 'U04E6T1V5GA', email: 'priya.raman@brightwater.example' }; // sponsor, customer-support
const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' }; // on-call level 1
const AISHA = { id: 'U04L2V8F5HY', email: 'aisha.khan@brightwater.example' }; // on-call level 1
const DAY = 86_400_000;

const buttons = actionElements;

describe('Slack: a drift alert acknowledged and a check-in Retrain', () => {
  const suite = slackTestRosterPerSuite();

  it('pages on-call with the alert, Acknowledge updates every card, and the sponsor chooses Retrain once', async () => {
    const { roster, slack } = suite;
    const id = newAgentId();
    const created = new Date(Date.now() - 40 * DAY).toISOString();
    const agent = agentRecord({
      id,
      name: 'Ticket Drafter',
      sponsors: [PRIYA.email],
      purpose: 'Drafts ticket replies.',
      createdAt: created,
      updatedAt: created,
      statusChangedAt: created,
    });
    await roster.services.agents.insert(agent);
    const end = new Date(Math.floor(Date.now() / DAY) * DAY);
    await roster.services.supervision.telemetry.ingest(
      generateEvents({ agentId: id, profile: 'accuracy-drop', days: 30, end, driftDays: 14 }),
    );
    await roster.services.supervision.checkins.run(id);

    // The sponsor's review and the on-call page arrive by DM.
    const review = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === PRIYA.id && buttons(a.blocks).some((b) => b.action_id === 'checkin_retrain'),
    );
    const page = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === LIAM.id && buttons(a.blocks).some((b) => b.action_id === 'alert_ack'),
    );
    await slack.waitFor('chat.postMessage', (a) => a.channel === AISHA.id && buttons(a.blocks).some((b) => b.action_id === 'alert_ack'));
    // In plain words on the page; the statistics behind "Show the numbers".
    const pageBlocks = page.args.blocks as Array<{ type: string; text?: { text: string }; elements?: Array<{ text?: string }> }>;
    const plain = /Accuracy fell from 9\d% to [78]\d% over \d+ days; this is very unlikely to be chance\./;
    expect(pageBlocks.find((b) => b.type === 'section')!.text!.text).toMatch(plain);
    expect(pageBlocks.find((b) => b.type === 'section')!.text!.text).not.toContain('z = ');
    const smallPrint = pageBlocks.filter((b) => b.type === 'context').map((b) => b.elements!.map((e) => e.text).join(' '));
    // Without ROSTER_PUBLIC_URL no chart image: the daily accuracy stays a sparkline in the small print.
    expect(pageBlocks.some((b) => b.type === 'image')).toBe(false);
    expect(smallPrint.join('\n')).toMatch(/Daily accuracy [▁▂▃▄▅▆▇█]{20,}/);
    // The statistics are one click away ("Show the numbers"), a private reply that leaves the page as it is.
    expect(JSON.stringify(pageBlocks)).not.toContain('z = ');
    const pageNumbers = buttons(page.args.blocks).find((b) => b.action_id === 'alert_numbers')!;
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(LIAM.id, 'alert_numbers', String(pageNumbers.value), slack.responseUrl('page-numbers'))),
    );
    const pageNumbersReply = await slack.waitForResponse('page-numbers');
    expect(pageNumbersReply.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(JSON.stringify(pageNumbersReply.body.blocks)).toContain('accuracy fell from');
    expect(JSON.stringify(pageNumbersReply.body.blocks)).toMatch(/z = -\d+\.\d\d, p &lt; 0\.000001/); // escaped for mrkdwn
    // The review: the finding in plain words, its numbers one click away, and the daily accuracy sparkline.
    const reviewBlocks = review.args.blocks as typeof pageBlocks;
    const finding = reviewBlocks.findIndex((b) => b.type === 'section' && plain.test(b.text!.text));
    expect(reviewBlocks[finding]!.text!.text).toMatch(/^🔴 /);
    expect(JSON.stringify(reviewBlocks)).not.toContain('z = ');
    const reviewNumbers = buttons(review.args.blocks).find((b) => b.action_id === 'checkin_numbers')!;
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(PRIYA.id, 'checkin_numbers', String(reviewNumbers.value), slack.responseUrl('review-numbers'))),
    );
    expect(JSON.stringify((await slack.waitForResponse('review-numbers')).body.blocks)).toMatch(
      /accuracy fell from 0\.9\d\d to 0\.[78]\d\d .*z = .*two-proportion z-test/,
    );
    expect(reviewBlocks.some((b) => b.type === 'image')).toBe(false);
    expect(JSON.stringify(reviewBlocks)).toMatch(/Daily accuracy [▁▂▃▄▅▆▇█]{20,}/);

    const ack = buttons(page.args.blocks).find((b) => b.action_id === 'alert_ack')!;
    await postSlack(roster.baseUrl, interaction(buttonClick(LIAM.id, 'alert_ack', String(ack.value), slack.responseUrl('ack'))));
    const [alert] = await roster.services.supervision.alertRepo.list({ agentId: id });
    await eventually(async () => (await roster.services.supervision.alertRepo.get(alert!.id))?.status === 'acknowledged');
    // Aisha's copy of the page is updated in place: acknowledged, no paging buttons (those about the agent stay).
    const updated = await slack.waitFor(
      'chat.update',
      (a) => a.channel === `D${AISHA.id.slice(1)}` && JSON.stringify(a.blocks).includes('Acknowledged by'),
    );
    expect(buttons(updated.args.blocks).map((b) => b.action_id)).toEqual([
      'alert_numbers',
      'alert_note',
      'alert_decisions',
      'alert_retire',
    ]);

    const retrain = buttons(review.args.blocks).find((b) => b.action_id === 'checkin_retrain')!;
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(PRIYA.id, 'checkin_retrain', String(retrain.value), slack.responseUrl('retrain'))),
    );
    const replaced = await slack.waitForResponse('retrain');
    expect(replaced.body.replace_original).toBe(true);
    expect(JSON.stringify(replaced.body.blocks)).toContain('retrain');
    // Decided: Keep / Retrain / Retire are gone; Add note and the decisions behind the findings stay.
    expect(buttons(replaced.body.blocks).map((b) => b.action_id)).toEqual(['checkin_numbers', 'checkin_note', 'checkin_decisions']);
    const trail = (await roster.services.audit.export({ agentId: id })).map(
      (e) => `${e.action}${e.actor.kind === 'person' ? `:${e.actor.email}` : ''}`,
    );
    expect(trail).toEqual(expect.arrayContaining(['alert.raised', `alert.acknowledged:${LIAM.email}`, `checkin.retrain:${PRIYA.email}`]));
  }, 60_000);
});
