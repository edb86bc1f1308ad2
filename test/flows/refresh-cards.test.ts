import type { MessageRef, OutgoingCard } from '../../src/core/notifications.js';
import { commandsOf } from '../helpers/commands.js';
import { eventually, people, requestAwaitingApproval, startHarness, type Harness } from '../helpers/harness.js';
import { RecordingNotifier } from '../helpers/recording-notifier.js';

/** A chat whose next `failing` updates of approval cards fail (a rate limit, a timeout). */
class ApprovalUpdatesFail extends RecordingNotifier {
  failing = 0;
  override async update(ref: MessageRef, card: OutgoingCard): Promise<void> {
    const message = this.messages.find((m) => m.ref.id === ref.id);
    if (this.failing > 0 && message?.versions[0]!.kind === 'approval-request') {
      this.failing -= 1;
      throw new Error('ratelimited');
    }
    return super.update(ref, card);
  }
}

/*
 * A decision refreshes the step's approval cards and the status cards with one outbox effect
 * (flow.refresh-cards, issue 21). A failed approval-card update must not hold the status cards
 * back, and the effect, retried, brings every approval card up to date.
 */
describe('a decision refreshes the approval and status cards together', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it("still moves the requester's status card when an approval card's update fails, and the retry updates every approval card", async () => {
    const notifier = new ApprovalUpdatesFail();
    h = await startHarness({ notifier, outbox: { baseDelayMs: 50, maxDelayMs: 200, drainEvery: '1 second' } });
    const { runId } = await requestAwaitingApproval(h.services, h.org, people.grace, 'Refresh Proof');
    const status = () => notifier.to(people.grace, 'request-status');
    const approvals = () => notifier.messages.filter((m) => m.versions[0]!.kind === 'approval-request');
    await eventually(() => status().length === 1 && approvals().length >= 2);
    expect(approvals().every((m) => m.versions.at(-1)!.data.progressLabel === '0 of 2 approvals')).toBe(true);
    const statusVersions = () => notifier.messages.find((m) => m.versions[0]!.kind === 'request-status')!.versions.length;
    const before = statusVersions();

    // Every approval card's update fails until the status card has moved.
    notifier.failing = Number.MAX_SAFE_INTEGER;
    await commandsOf(h.services).decide(people.liam, { runId, stepId: 'approvals', decision: 'approve' });
    await eventually(() => statusVersions() > before);
    expect(notifier.failing).toBeLessThan(Number.MAX_SAFE_INTEGER);
    notifier.failing = 0;
    // Retried: every approval card shows Liam's approval.
    await eventually(() => approvals().every((m) => m.versions.at(-1)!.data.progressLabel === '1 of 2 approvals'));
    await eventually(async () => (await h.services.outboxRepo.depth()).pending === 0);
    expect(await h.services.outboxRepo.depth()).toEqual({ pending: 0, parked: 0 });
  }, 60_000);
});
