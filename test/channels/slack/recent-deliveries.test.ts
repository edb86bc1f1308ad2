import { RecentDeliveries } from '../../../src/channels/slack/deliveries.js';

describe('the delivery keys a Slack channel saw lately (checked before the unique key)', () => {
  it('drops a repeat within the window and lets it through once the window passed', () => {
    let now = 0;
    const recent = new RecentDeliveries(100, 10 * 60_000, () => now);
    expect(recent.add('a')).toBe(true);
    expect(recent.add('a')).toBe(false);
    now += 5 * 60_000; // Slack's last retry comes about five minutes after the first delivery.
    expect(recent.add('a')).toBe(false);
    now += 10 * 60_000;
    expect(recent.add('a')).toBe(true);
  });

  it('keeps at most its bound, forgetting the oldest first', () => {
    const recent = new RecentDeliveries(3, 60_000, () => 0);
    for (const key of ['a', 'b', 'c', 'd']) expect(recent.add(key)).toBe(true);
    // 'a' was forgotten (the unique key in the database still catches it); the newer three are kept.
    expect(recent.add('b')).toBe(false);
    expect(recent.add('c')).toBe(false);
    expect(recent.add('d')).toBe(false);
    expect(recent.add('a')).toBe(true);
  });

  it('forgets a key whose delivery could not be recorded, so a retry of it is handled', () => {
    const recent = new RecentDeliveries();
    expect(recent.add('k')).toBe(true);
    recent.forget('k');
    expect(recent.add('k')).toBe(true);
  });
});
