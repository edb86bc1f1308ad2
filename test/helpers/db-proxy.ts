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

  static async start(): Promise<DbProxy> {
    const target = new URL(testMongoUri());
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
