import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type Locator, type Page } from 'playwright-core';
import { startPlayground, type RunningPlayground } from '../../scripts/playground.js';
import { createTeamsChannel } from '../../src/channels/teams/index.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { startTestRoster } from '../helpers/app.js';
import { agentRecord, degradedCheckIn, eventually, SHIPPED_CONFIG } from '../helpers/harness.js';
import { browserAvailable, freePort, launchChromium } from '../helpers/browser.js';

/*
 * The Teams app as a person uses it, in the Microsoft 365 Agents Playground (channel msteams,
 * telemetry off, no browser of its own) driven in headless Debian Chromium: Grace asks for the
 * catalog, requests an agent and submits its evaluation in one Playground; Noah, the
 * engineering approver, gets the approval card proactively in another and approves it; Grace then
 * cancels the still-pending request from her status card and Noah's card closes. Last, Grace
 * chooses Retrain on a check-in card of an agent she sponsors and gets the retraining card.
 */

const SCREENSHOTS = process.env.ROSTER_E2E_SCREENSHOTS;
const grace = 'grace.liu@brightwater.example';
const noah = 'noah.fischer@brightwater.example';
const liam = 'liam.oneill@brightwater.example'; // it-admin: typed-in evaluation results are his to record

// CI installs Debian's chromium (.ci/run) and must run this; elsewhere it is skipped when Chromium is absent.

const describeIfChromium = browserAvailable() ? describe : describe.skip;

describeIfChromium('Teams in the Microsoft 365 Agents Playground (headless Chromium)', () => {
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  let playgrounds: RunningPlayground[] = [];
  let browser: Browser;

  beforeAll(async () => {
    roster = await startTestRoster({ channels: [createTeamsChannel] });
    const org = loadOrgConfig(SHIPPED_CONFIG);
    const work = mkdtempSync(path.join(tmpdir(), 'roster-playground-'));
    const endpoint = `${roster.baseUrl}/api/messages`;
    playgrounds = [
      await startPlayground({ org, as: grace, endpoint, port: await freePort(), workDir: path.join(work, 'grace') }),
      await startPlayground({ org, as: noah, endpoint, port: await freePort(), workDir: path.join(work, 'noah') }),
      await startPlayground({ org, as: liam, endpoint, port: await freePort(), workDir: path.join(work, 'liam') }),
    ];
    browser = await launchChromium();
    if (SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    for (const p of playgrounds) await p.stop();
    await roster?.stop();
  });

  async function open(playground: RunningPlayground): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    await page.goto(playground.url);
    return page;
  }

  async function say(page: Page, text: string): Promise<void> {
    const box = page.locator('[role=textbox][contenteditable=true]');
    await box.click();
    await page.keyboard.type(text);
    await page.keyboard.press('Enter');
  }

  /** The last Adaptive Card in the chat that shows this text. */
  function card(page: Page, text: string | RegExp): Locator {
    return page.locator('.ac-adaptiveCard').filter({ hasText: text }).last();
  }

  async function shot(page: Page, name: string): Promise<void> {
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  it('catalog → request → evaluation in one chat, the approval card arriving and changing in the approver’s, then the request cancelled by its requester', async () => {
    const requester = await open(playgrounds[0]!);
    const approver = await open(playgrounds[1]!);
    const itAdmin = await open(playgrounds[2]!);
    // Opening a chat installs Roster there: each gets a welcome, and Roster can now reach them.
    await card(requester, "Hi Grace, I'm Roster").waitFor();
    await card(approver, "Hi Noah, I'm Roster").waitFor();

    // Grace asks for the catalog and requests the knowledge-base answerer.
    await say(requester, 'catalog');
    const catalog = card(requester, 'Agent catalog');
    await catalog.waitFor();
    await shot(requester, '1-catalog');
    await catalog
      .locator('.ac-container')
      .filter({ hasText: 'Knowledge-base answerer' })
      .getByRole('button', { name: 'Request' })
      .first()
      .click();

    const form = card(requester, 'Request an agent');
    await form.waitFor();
    await form.getByLabel('Agent name').fill('Docs Helper');
    await form.getByLabel('What will it do for you?').fill('Answers engineering how-to questions from the wiki.');
    // Sponsors are picked from the directory (Teams searches it as you type); Grace, who asks, is chosen already.
    expect(await form.getByRole('combobox', { name: /Sponsors/ }).inputValue()).toContain(grace);
    await form.getByLabel('Why does your team need it?').fill('The platform team answers the same questions every week.');
    await shot(requester, '2-request-form');
    await form.getByRole('button', { name: 'Send request' }).click();
    await card(requester, 'Request sent: Docs Helper').waitFor();
    await card(requester, 'Your request: Docs Helper').waitFor();

    // Typed-in results are an IT admin's: Grace is pointed to IT, and Liam records passing results with a reason.
    await say(requester, 'eval Docs Helper');
    await card(requester, 'Typed-in results need an IT admin').waitFor();
    await card(itAdmin, "Hi Liam, I'm Roster").waitFor();
    await say(itAdmin, 'eval Docs Helper');
    const evaluation = card(itAdmin, 'Evaluation results');
    await evaluation.waitFor();
    await evaluation.getByLabel('Accuracy (0 to 1)').fill('0.93');
    await evaluation.getByLabel('p95 latency (ms)').fill('1200');
    await evaluation.getByLabel('Cost per task (USD)').fill('0.01');
    for (const box of await evaluation.getByRole('checkbox').all()) await box.check();
    await evaluation.getByLabel('Reason: why typed in rather than measured by Roster').fill('Measured by the vendor; no endpoint yet.');
    await shot(itAdmin, '3-evaluation-form');
    await evaluation.getByRole('button', { name: 'Submit' }).click();
    await card(itAdmin, 'Evaluation passed').waitFor();
    await shot(itAdmin, '4-verdict');

    // Noah's approval card arrived proactively in his chat; he approves and the card changes.
    const approval = card(approver, 'Approve Docs Helper (');
    await approval.waitFor();
    await shot(approver, '5-approval-card');
    await approval.getByRole('button', { name: 'Approve' }).click();
    const decided = card(approver, /Approved by Noah Fischer/);
    await decided.waitFor();
    expect(await decided.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await decided.textContent()).toContain('You have already decided');
    expect(await decided.textContent()).toContain('1 of 2 approvals');
    await shot(approver, '6-approved');

    // The same decision is in Roster's records.
    const [agent] = await roster.services.agents.list({});
    const run = await roster.services.runs.get(agent!.requestRunId);
    expect(run?.steps.approvals?.decisions?.map((d) => d.by)).toEqual([noah]);

    // It still waits for a second approval, so Grace's status card offers Cancel request; she changes her mind.
    const status = requester
      .locator('.ac-adaptiveCard')
      .filter({ hasText: 'Your request: Docs Helper' })
      .filter({ has: requester.getByRole('button', { name: 'Cancel request' }) })
      .last();
    await status.waitFor();
    await shot(requester, '7-status-with-cancel');
    await status.getByRole('button', { name: 'Cancel request' }).click();
    const cancelled = card(requester, 'Cancelled by Grace Liu');
    await cancelled.waitFor();
    expect(await cancelled.getByRole('button', { name: 'Cancel request' }).count()).toBe(0);
    await shot(requester, '8-cancelled');
    // Noah's card changes in his chat too: cancelled, nothing left to decide.
    const closedForNoah = card(approver, /Cancelled\W+by Grace Liu/);
    await closedForNoah.waitFor();
    expect(await closedForNoah.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    await shot(approver, '9-cancelled-for-approver');
    const closed = await eventually(async () => {
      const r = await roster.services.runs.get(agent!.requestRunId);
      return r?.status === 'cancelled' ? r : undefined;
    });
    expect(closed.events.at(-1)).toMatchObject({ type: 'cancelled', by: grace });
  }, 180_000);

  it('a check-in card’s Retrain in the sponsor’s chat brings her the retraining card', async () => {
    const sponsor = await open(playgrounds[0]!);
    await card(sponsor, "Hi Grace, I'm Roster").waitFor();
    // An agent Grace sponsors whose check-in found it degraded; its review card reaches her as a check-in's does.
    const agent = agentRecord({ name: 'Ticket Scout', sponsors: [grace] });
    await roster.services.agents.insert(agent);
    const checkIn = degradedCheckIn(`chk_${agent.id}`, agent.id);
    await roster.services.supervision.checkinRepo.save(checkIn);
    await roster.services.notifier.send(grace, roster.services.supervision.cards.checkIn(checkIn, agent, grace));

    const review = sponsor
      .locator('.ac-adaptiveCard')
      .filter({ hasText: 'Ticket Scout' })
      .filter({ has: sponsor.getByRole('button', { name: 'Retrain' }) })
      .last();
    await review.waitFor();
    await shot(sponsor, '10-checkin');
    await review.getByRole('button', { name: 'Retrain' }).click();

    // The review card records her choice, and the retraining card arrives with Start and Postpone.
    const decided = card(sponsor, /retrain\W+chosen by Grace Liu/);
    await decided.waitFor();
    expect(await decided.getByRole('button', { name: 'Retrain' }).count()).toBe(0);
    const retraining = card(sponsor, 'Retraining requested: Ticket Scout');
    await retraining.waitFor();
    expect(await retraining.getByRole('button', { name: 'Start retraining' }).count()).toBe(1);
    expect(await retraining.getByRole('button', { name: 'Postpone…' }).count()).toBe(1);
    await shot(sponsor, '11-retraining');
    const due = await eventually(() =>
      roster.db.connection.collection<{ _id: string; state?: string }>('retraining').findOne({ _id: agent.id }),
    );
    expect(due!.state).toBe('due');
  }, 120_000);
});
