import { Leavers } from '../../src/core/leavers.js';
import { leaverCards } from '../../src/views/sponsorship-cards.js';
import { createLeaverRepository } from '../../src/store/leaver-store.js';
import { parseChatCommand } from '../../src/channels/chat.js';
import type { ChannelFactory } from '../../src/channels/port.js';
import type { OutgoingCard } from '../../src/core/notifications.js';
import { startTestRoster } from '../helpers/app.js';
import { uniqueDbName } from '../helpers/db.js';
import { agentRecord, eventually, people, startHarness, type Harness } from '../helpers/harness.js';

const PRIYA = 'priya.raman@brightwater.example';

/** Leavers over the harness's services, reading the given directory (a start-up with that directory). */
function leaversOf(h: Harness, org: Harness['org']): Leavers {
  const { agents, audit, outbox, sponsorships } = h.services;
  return new Leavers({
    org,
    agents,
    repo: createLeaverRepository(h.db.connection),
    audit,
    notifier: h.notifier,
    outbox,
    sponsorships,
    cards: leaverCards,
  });
}

describe('leavers: a sponsor disappears from the directory', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('offers the agent to the leaver’s manager, who accepts it; with no sponsor left the sweep raises ownerless', async () => {
    h = await startHarness();
    const agent = agentRecord({ name: 'Ticket Router', purpose: 'Routes tickets.' });
    const id = agent.id;
    await h.services.agents.insert(agent);
    // Start-up with the full directory records the snapshot; nobody has left.
    expect(await leaversOf(h, h.org).check()).toEqual({ leavers: [], offers: 0 });

    // Tom (managed by Priya) leaves: the next start-up has a directory without him.
    const withoutTom = { ...h.org, people: h.org.people.filter((p) => p.email !== people.tom) };
    const leavers = leaversOf(h, withoutTom);
    expect(await leavers.check()).toEqual({ leavers: [people.tom], offers: 1 });
    expect(await leavers.check()).toEqual({ leavers: [], offers: 0 });
    const offer = h.notifier.to(PRIYA, 'notice').find((m) => String(m.card.data.title) === 'Ticket Router needs a sponsor');
    expect(String(offer?.card.data.text)).toContain(`sponsor accept ${id}`);

    // Until someone takes it, the agent has no sponsor in the directory: ownerless. Roster now runs with that directory.
    h = await h.restart({ org: () => withoutTom });
    expect((await h.services.supervision.checkins.sweep(new Date())).ownerless).toBe(1);

    await expect(h.services.leavers.accept(people.daniel, id)).rejects.toMatchObject({ code: 'forbidden' });
    const chat = h.chat;
    const reply = await chat.run(chat.person(PRIYA)!, parseChatCommand(`sponsor accept ${id}`));
    expect(reply.card).toMatchObject({ kind: 'notice', data: { title: 'You sponsor Ticket Router now' } });
    expect((await h.services.agents.get(id))?.sponsors).toEqual([PRIYA]);
    expect((await h.services.audit.export({ agentId: id })).map((e) => e.action)).toEqual(
      expect.arrayContaining(['sponsor.left', 'sponsorship.offered', 'sponsorship.accepted', 'alert.raised']),
    );
  });

  it("the offer's buttons: Accept sponsorship, or Retire agent (the manager takes it over to sign its retirement)", async () => {
    h = await startHarness();
    const kept = agentRecord({ name: 'Kept Router', sponsors: [people.tom] });
    const retired = agentRecord({ name: 'Retired Router', sponsors: [people.tom] });
    await h.services.agents.insert(kept);
    await h.services.agents.insert(retired);
    await leaversOf(h, h.org).check();
    const withoutTom = { ...h.org, people: h.org.people.filter((p) => p.email !== people.tom) };
    const leavers = leaversOf(h, withoutTom);
    expect(await leavers.check()).toEqual({ leavers: [people.tom], offers: 2 });
    const offer = h.notifier.to(PRIYA, 'notice').find((m) => m.card.data.title === 'Kept Router needs a sponsor')!;
    expect(offer.card.data.actions).toEqual([
      { action: 'sponsor_accept', label: 'Accept sponsorship', style: 'primary', value: { agentId: kept.id } },
      { action: 'sponsor_retire', label: 'Retire agent', style: 'danger', value: { agentId: kept.id } },
    ]);

    // Roster now runs with that directory.
    h = await h.restart({ org: () => withoutTom });
    const chat = h.chat;
    const priya = chat.person(PRIYA)!;
    await expect(chat.actions.click(chat.person(people.daniel)!, 'sponsor_accept', { agentId: kept.id })).rejects.toMatchObject({
      code: 'forbidden',
    });
    const accepted = await chat.actions.click(priya, 'sponsor_accept', { agentId: kept.id });
    expect(accepted.card).toMatchObject({ kind: 'notice', data: { title: 'You sponsor Kept Router now' } });
    expect((await h.services.agents.get(kept.id))?.sponsors).toEqual([PRIYA]);
    // A second click finds no offer waiting any more.
    await expect(chat.actions.click(priya, 'sponsor_accept', { agentId: kept.id })).rejects.toMatchObject({ code: 'forbidden' });

    const retiring = await chat.actions.click(priya, 'sponsor_retire', { agentId: retired.id });
    expect(retiring.card).toMatchObject({ kind: 'notice', data: { title: 'Retirement of Retired Router started' } });
    expect(retiring.followUp?.kind).toBe('request-status');
    const [run] = await h.services.runs.list({ agentId: retired.id, flowId: 'retirement' });
    expect(run).toMatchObject({ requester: PRIYA, context: { sponsors: [PRIYA] } });
    expect(
      (await h.services.audit.export({ agentId: retired.id })).find((e) => e.action === 'sponsorship.accepted')?.details,
    ).toMatchObject({
      toRetire: true,
    });
  });

  it("at start-up, a leaver's agents are offered to the manager in chat: the channels are ready before the start-up check", async () => {
    // A chat channel that reaches everyone and keeps what it is sent.
    const sent: Array<{ to: string; card: OutgoingCard }> = [];
    const chat: ChannelFactory = async () => ({
      name: 'slack',
      notifier: {
        channel: 'slack',
        canReach: async () => true,
        send: async (person, card) => {
          sent.push({ to: person.email, card });
          return { channel: 'slack', ts: String(sent.length) };
        },
        update: async () => undefined,
      },
    });
    const dbName = uniqueDbName('leavers');
    // The first start records the directory with Tom in it; he sponsors an agent.
    const before = await startTestRoster({ dbName, channels: [chat] });
    const agent = agentRecord({ name: 'Start-up Router', sponsors: [people.tom] });
    await before.services.agents.insert(agent);
    await before.stop();
    // The next start reads people.yaml without Tom: Priya, his manager, is offered the agent in chat.
    const after = await startTestRoster({
      dbName,
      channels: [chat],
      org: (org) => ({ ...org, people: org.people.filter((p) => p.email !== people.tom) }),
    });
    try {
      const offer = await eventually(() => sent.find((m) => m.to === PRIYA && m.card.data.title === 'Start-up Router needs a sponsor'));
      expect(String(offer.card.data.text)).toContain(`sponsor accept ${agent.id}`);
      expect((await after.services.audit.export({ agentId: agent.id })).map((e) => e.action)).toEqual(
        expect.arrayContaining(['sponsor.left', 'sponsorship.offered']),
      );
    } finally {
      await after.stop();
    }
  });
});
