import type { OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail } from '../config/directory.js';
import { readerTime } from './reader-time.js';
import type { Connection } from 'mongoose';
import type { RequestHandler, Router } from 'express';
import type { Env } from '../config/env.js';
import type { Logger } from '../logger.js';
import type { Services } from '../services.js';
import type { ChatService } from './chat.js';
import type { MessageRef, Notifier, OutgoingCard } from '../core/notifications.js';

export type ChannelName = 'slack' | 'teams';

/**
 * One chat platform's side of the notification port: it renders the card for its platform,
 * sends it to a person it can reach, and updates a message it sent (refs carry `channel`).
 */
export interface ChannelNotifier {
  readonly channel: ChannelName;
  /** Whether this person can be reached here now (an id in the directory, a stored conversation…). */
  canReach(person: Person): Promise<boolean>;
  send(person: Person, card: OutgoingCard): Promise<MessageRef | undefined>;
  update(ref: MessageRef, card: OutgoingCard): Promise<void>;
  /** The zone the person's client reports here (Slack's `tz`, the Teams client's), when known. */
  timeZoneOf?(person: Person): Promise<string | undefined>;
}

/**
 * The notifier the core uses: a person is reached on their preferred channel when it can reach
 * them, else on any other; updates go back to the channel that sent the message.
 */
export class RoutingNotifier implements Notifier {
  private readonly channels: ChannelNotifier[] = [];

  constructor(
    private readonly org: OrgConfig,
    private readonly log: Logger,
  ) {}

  /**
   * Adds a channel as src/compose.ts builds it, before anything can send: a channel both delivers
   * the domain's cards and feeds it clicks, so the domain is built on this port and the channels after it.
   */
  register(channel: ChannelNotifier): void {
    this.channels.push(channel);
  }

  get channelNames(): ChannelName[] {
    return this.channels.map((c) => c.channel);
  }

  async send(recipient: string, card: OutgoingCard): Promise<MessageRef | undefined> {
    const person = findPersonByEmail(this.org, recipient);
    if (!person) {
      this.log.warn({ recipient, kind: card.kind }, 'card for someone not in the directory was not sent');
      return undefined;
    }
    let failure: unknown;
    for (const channel of this.byPreference(person)) {
      try {
        // A platform that cannot say whether it reaches the person (its look-up failed) failed this send.
        if (!(await channel.canReach(person))) continue;
        return await channel.send(person, card);
      } catch (err) {
        // One platform refusing (an uninstalled app, an outage) is no reason not to try the other.
        failure = err;
        this.log.warn({ err, recipient, kind: card.kind, channel: channel.channel }, 'a channel refused a card; trying the next one');
      }
    }
    if (failure !== undefined) throw failure;
    this.log.warn({ recipient, kind: card.kind }, 'no configured channel can reach this person: card not delivered');
    return undefined;
  }

  /**
   * Where a person is, for times and working hours: the zone their chat client reports (their
   * preferred channel first), else the directory's, else the organisation's.
   */
  async timeZoneOf(recipient: string): Promise<string> {
    const person = findPersonByEmail(this.org, recipient);
    if (!person) return readerTime(this.org, undefined).zone;
    for (const channel of this.byPreference(person)) {
      const reported = await channel.timeZoneOf?.(person).catch(() => undefined);
      if (reported) return readerTime(this.org, person, reported).zone;
    }
    return readerTime(this.org, person).zone;
  }

  /** The channels, the person's preferred one first. */
  private byPreference(person: Person): ChannelNotifier[] {
    return [...this.channels].sort((a, b) => Number(b.channel === person.preferredChannel) - Number(a.channel === person.preferredChannel));
  }

  async update(ref: MessageRef, card: OutgoingCard): Promise<void> {
    const channel = this.channels.find((c) => c.channel === ref.channel);
    if (!channel) {
      this.log.warn({ channel: ref.channel, kind: card.kind }, 'card update for a channel that is not configured was skipped');
      return;
    }
    await channel.update(ref, card);
  }
}

/** What a channel adapter is built from. */
export interface ChannelDeps {
  env: Env;
  org: OrgConfig;
  services: Services;
  chat: ChatService;
  connection: Connection;
  log: Logger;
}

/** Builds one chat channel; resolves undefined when the environment does not configure it. */
export type ChannelFactory = (deps: ChannelDeps) => Promise<Channel | undefined>;

/** A built chat channel: its notifier, the HTTP route it serves, and its own start/stop (e.g. Socket Mode). */
export interface Channel {
  readonly name: ChannelName;
  readonly notifier: ChannelNotifier;
  readonly mount?: { path: string; handler: Router | RequestHandler };
  start?(): Promise<void>;
  /** Resolves when no acknowledged interaction is waiting or being worked on (shutdown waits for it, within its grace). */
  idle?(): Promise<void>;
  stop?(): Promise<void>;
}
