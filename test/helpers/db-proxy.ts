import net from 'node:net';
import mongoose from 'mongoose';
import { testMongoUri } from './db.js';

/** The database's answer to one request, held back by a {@link DbProxy} until released. */
export interface HeldAnswer {
  /** Resolves once the database's answer has reached the proxy (and is being held). */
  readonly arrived: Promise<void>;
  /** Passes the answer on to the driver: at once if it has arrived, else as soon as it does. */
  release(): void;
}

interface Hold {
  marker: Buffer;
  /** The requestID of the request it caught, once caught. */
  requestId?: number;
  released: boolean;
  deliver?: () => void;
  arrived: () => void;
}

/**
 * A TCP proxy on 127.0.0.1 in front of the test database that holds back the database's answer to
 * a chosen request, so that a test decides which answer comes late, and after which others,
 * instead of hoping a loaded machine's database is slow in the right order. A request is chosen by
 * bytes it carries (a delivery key, say). Messages are read only for their wire-protocol header
 * (int32 messageLength, requestID, responseTo); everything else passes through untouched. The
 * driver sends one request at a time on a connection, so holding one answer delays nothing else.
 */
export class DbProxy {
  private readonly sockets = new Set<net.Socket>();
  private readonly holds: Hold[] = [];

  private constructor(private readonly server: net.Server) {}

  /** The commands clients sent through this proxy, as {@link commandOf} reads them (see {@link onCommand}). */
  private readonly commandListeners: Array<(command: WireCommand) => void> = [];

  /** Starts a proxy in front of `targetUri` (the test database unless given). */
  static async start(targetUri = testMongoUri()): Promise<DbProxy> {
    const target = new URL(targetUri);
    const server = net.createServer();
    const proxy = new DbProxy(server);
    server.on('connection', (client) => proxy.pipe(client, net.connect(Number(target.port), target.hostname)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** The connection string of the test database through the proxy. */
  get uri(): string {
    return `mongodb://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /**
   * Calls `listener` with each command a client sends through the proxy (read from its bytes: the
   * client's own process does no work for it, unlike the driver's command monitoring).
   */
  onCommand(listener: (command: WireCommand) => void): void {
    this.commandListeners.push(listener);
  }

  /** Holds the answer to the next request whose bytes contain `marker`, until it is released. */
  hold(marker: string): HeldAnswer {
    let arrived!: () => void;
    const hasArrived = new Promise<void>((resolve) => (arrived = resolve));
    const hold: Hold = { marker: Buffer.from(marker), released: false, arrived };
    this.holds.push(hold);
    return {
      arrived: hasArrived,
      release: () => {
        if (hold.released) return;
        hold.released = true;
        hold.deliver?.();
      },
    };
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pipe(client: net.Socket, upstream: net.Socket): void {
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    // Holds caught by a request on this connection and still waiting for their answer.
    const waiting: Hold[] = [];
    onMessages(client, (request) => {
      if (this.commandListeners.length > 0) {
        const command = commandOf(request);
        if (command) for (const listener of this.commandListeners) listener(command);
      }
      const hold = this.holds.find((h) => h.requestId === undefined && request.includes(h.marker));
      if (hold) {
        hold.requestId = request.readInt32LE(4);
        waiting.push(hold);
      }
      upstream.write(request);
    });
    onMessages(upstream, (answer) => {
      const hold = waiting.find((h) => h.requestId === answer.readInt32LE(8));
      if (!hold) return void client.write(answer);
      waiting.splice(waiting.indexOf(hold), 1);
      hold.deliver = () => void client.write(answer);
      hold.arrived();
      if (hold.released) hold.deliver();
    });
  }
}

/** Calls `onMessage` with each whole wire-protocol message read from `socket`. */
function onMessages(socket: net.Socket, onMessage: (message: Buffer) => void): void {
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
      const length = pending.readInt32LE(0);
      onMessage(pending.subarray(0, length));
      pending = pending.subarray(length);
    }
  });
}

/**
 * What the driver's command monitoring says of a command (`commandStarted`'s `commandName` and a
 * `command` with what {@link isBackgroundCommand} reads: the first field, which names the
 * collection, and the top-level fields of `filter`), read from a request's wire-protocol bytes.
 */
export interface WireCommand {
  commandName: string;
  command: Record<string, unknown>;
}

const OP_MSG = 2013;

/** BSON type bytes (bsonspec.org) the command's reading looks at. */
const BSON_STRING = 0x02;
const BSON_DOCUMENT = 0x03;

/**
 * The command a request carries: the body of an OP_MSG (its kind-0 section); undefined for anything
 * else (an answer, OP_COMPRESSED, the OP_QUERY `ismaster` that opens a connection, which command
 * monitoring never reports either). Only the body's first field (the command's name and, as a
 * string, its collection) and `filter`'s field names are read, with the BSON library's on-demand
 * element parser (what the driver reads its replies with): documents are walked, never decoded, so
 * a large insert costs a few reads.
 */
export function commandOf(message: Buffer): WireCommand | undefined {
  if (message.readInt32LE(12) !== OP_MSG) return undefined;
  const body = bodyOf(message);
  if (body === undefined) return undefined;
  const { parseToElements } = mongoose.mongo.BSON.onDemand;
  const name = ([, at, length]: readonly [number, number, number, ...number[]]) => message.toString('utf8', at, at + length);
  let commandName: string | undefined;
  const command: Record<string, unknown> = {};
  for (const element of parseToElements(message, body)) {
    const [type, , , value, length] = element;
    if (commandName === undefined) {
      commandName = name(element);
      // A string's value is its int32 length, its bytes and a terminating zero.
      command[commandName] = type === BSON_STRING ? message.toString('utf8', value + 4, value + length - 1) : true;
    } else if (type === BSON_DOCUMENT && name(element) === 'filter') {
      command.filter = Object.fromEntries([...parseToElements(message, value)].map((field) => [name(field), true]));
    }
  }
  return commandName === undefined ? undefined : { commandName, command };
}

/** Offset of an OP_MSG's body: its one kind-0 section, wherever it is among the kind-1 ones. */
function bodyOf(message: Buffer): number | undefined {
  const checksum = (message.readUInt32LE(16) & 1) === 1;
  const end = message.length - (checksum ? 4 : 0);
  for (let at = 20; at < end; at += 1 + message.readInt32LE(at + 1)) if (message[at] === 0) return at + 1;
  return undefined;
}
