import { createPagerTransport } from '../../src/http/pager-sender.js';
import { activeAgent } from '../access/support.js';
import { aiOpsPaging, FakePager } from '../helpers/fake-pager.js';
import { eventually, people, startHarness, type Harness } from '../helpers/harness.js';
import { commandsOf } from '../helpers/commands.js';
import { crashing, crashPoint } from '../helpers/crash-point.js';

/*
 * The pager's requests are effects in the alert's outbox: a writer that dies right after storing
 * the change, or after any number of its effects, leaves them to the worker, so PagerDuty hears of
 * each change at least once, and a trigger sent twice carries the same dedup key (one incident).
 */

describe('pager effects survive a writer killed between the change and its effects', () => {
  let h: Harness;
  let pd: FakePager;
  const crash = crashPoint();
  beforeAll(async () => {
    pd = new FakePager('pagerduty');
    await pd.start();
    const { rotations, pagers } = aiOpsPaging(
      { provider: 'pagerduty', routingKeyEnv: 'PD_KEY', baseUrl: pd.baseUrl },
      { PD_KEY: 'R01ABCDEF23456789ABCDEF012345678' },
    );
    h = await startHarness(
      crashing(crash, {
        org: (org) => ({ ...org, rotations }),
        pagers: { pagers, transport: createPagerTransport({ production: false }) },
      }),
    );
  });
  afterAll(async () => {
    await h?.close();
    await pd.stop();
  });

  const sent = (alertId: string, action: string) =>
    pd.calls.filter((c) => c.body.dedup_key === `roster-${alertId}` && c.body.event_action === action);
  /** Lets the worker perform what the dead writer left, until the alert's outbox is empty. */
  const recovered = (alertId: string) =>
    eventually(async () => {
      await h.services.outbox.drain();
      const doc = await h.db.connection.db!.collection('alerts').findOne({ _id: alertId as never });
      return Array.isArray(doc?.outbox) && doc.outbox.length === 0;
    });

  // Raising stores: the audit entry, the chat page, the escalation timers, the PagerDuty trigger.
  it.each([0, 1, 2, 3, 4])('raised, killed after %i of its effects: PagerDuty gets the trigger, with one dedup key', async (k) => {
    const agent = await activeAgent(h, { name: `Pager Raise ${k}` });
    crash.arm(`alert.raised:${k}`);
    await expect(
      h.services.supervision.alerts.raise({ kind: 'drift', agentId: agent.id, severity: 'warning', summary: 'Accuracy fell.' }),
    ).rejects.toThrow(/crashed/);
    const [alert] = await h.services.supervision.alertRepo.list({ agentId: agent.id });
    await recovered(alert!.id);
    // Killed before the trigger went out: it goes out once; killed after (4), the worker sends it again, same key.
    expect(sent(alert!.id, 'trigger')).toHaveLength(k === 4 ? 2 : 1);
    expect(new Set(sent(alert!.id, 'trigger').map((c) => JSON.stringify(c.body))).size).toBe(1);
  });

  // Acknowledging stores: the audit entry, the card updates, the PagerDuty acknowledgement.
  it.each([0, 1, 2])('acknowledged in chat, killed after %i of its effects: PagerDuty gets the acknowledgement', async (k) => {
    const agent = await activeAgent(h, { name: `Pager Ack ${k}` });
    const alert = await h.services.supervision.alerts.raise({
      kind: 'drift',
      agentId: agent.id,
      severity: 'warning',
      summary: 'Accuracy fell.',
    });
    crash.arm(`alert.acknowledged:${k}`);
    await expect(commandsOf(h.services).acknowledgeAlert(people.liam, alert.id)).rejects.toThrow(/crashed/);
    await recovered(alert.id);
    expect(sent(alert.id, 'acknowledge')).toHaveLength(1);
    expect(sent(alert.id, 'acknowledge')[0]!.body).toEqual({
      routing_key: 'R01ABCDEF23456789ABCDEF012345678',
      dedup_key: `roster-${alert.id}`,
      event_action: 'acknowledge',
    });
  });
});
