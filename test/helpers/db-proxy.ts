import net from 'node:net';
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

/**
 * The command a request carries: the body of an OP_MSG (its kind-0 section); undefined for anything
 * else (an answer, OP_COMPRESSED, the OP_QUERY `ismaster` that opens a connection, which command
 * monitoring never reports either). Only the body's
 * first field (the command's name and, as a string, its collection) and `filter`'s field names are
 * read: documents are walked, never decoded, so a large insert costs a few reads.
 */
export function commandOf(message: Buffer): WireCommand | undefined {
  const opCode = message.readInt32LE(12);
  if (opCode !== OP_MSG) return undefined;
  const body = bodyOf(message);
  if (body === undefined) return undefined;
  const first = elementAt(message, body + 4);
  if (!first) return undefined;
  const command: Record<string, unknown> = {
    [first.key]: first.type === 0x02 ? bsonString(message, first.value) : true,
  };
  for (let element: Element | undefined = first; element; element = elementAt(message, element.next)) {
    if (element.key === 'filter' && element.type === 0x03) {
      const filter: Record<string, true> = {};
      for (let f = elementAt(message, element.value + 4); f; f = elementAt(message, f.next)) filter[f.key] = true;
      command.filter = filter;
    }
  }
  return { commandName: first.key, command };
}

/** Offset of an OP_MSG's body: its one kind-0 section, wherever it is among the kind-1 ones. */
function bodyOf(message: Buffer): number | undefined {
  const checksum = (message.readUInt32LE(16) & 1) === 1;
  const end = message.length - (checksum ? 4 : 0);
  for (let at = 20; at < end; at += 1 + message.readInt32LE(at + 1)) if (message[at] === 0) return at + 1;
  return undefined;
}

interface Element {
  /** The BSON type byte. */
  type: number;
  key: string;
  /** Offset of its value, and of the next element. */
  value: number;
  next: number;
}

/** The BSON element at `at`, or undefined at the end of its document. */
function elementAt(b: Buffer, at: number): Element | undefined {
  const type = b[at];
  if (type === undefined || type === 0) return undefined;
  const keyEnd = b.indexOf(0, at + 1);
  const value = keyEnd + 1;
  return { type, key: b.toString('utf8', at + 1, keyEnd), value, next: value + valueLength(b, type, value) };
}

/** The length of a BSON value of `type` at `at` (bsonspec.org). */
function valueLength(b: Buffer, type: number, at: number): number {
  switch (type) {
    case 0x01: // double
    case 0x09: // UTC datetime
    case 0x11: // timestamp
    case 0x12: // int64
      return 8;
    case 0x02: // string
    case 0x0d: // JavaScript code
    case 0x0e: // symbol
      return 4 + b.readInt32LE(at);
    case 0x03: // document
    case 0x04: // array
    case 0x0f: // code with scope
      return b.readInt32LE(at);
    case 0x05: // binary
      return 4 + 1 + b.readInt32LE(at);
    case 0x06: // undefined
    case 0x0a: // null
    case 0x7f: // max key
    case 0xff: // min key
      return 0;
    case 0x07: // ObjectId
      return 12;
    case 0x08: // boolean
      return 1;
    case 0x0b: {
      // regex: two C strings
      const pattern = b.indexOf(0, at);
      return b.indexOf(0, pattern + 1) + 1 - at;
    }
    case 0x0c: // DBPointer
      return 4 + b.readInt32LE(at) + 12;
    case 0x10: // int32
      return 4;
    case 0x13: // decimal128
      return 16;
    default:
      throw new Error(`BSON type 0x${type.toString(16)} at ${at}`);
  }
}

const bsonString = (b: Buffer, at: number) => b.toString('utf8', at + 4, at + 4 + b.readInt32LE(at) - 1);
