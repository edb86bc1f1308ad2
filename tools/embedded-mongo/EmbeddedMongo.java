import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * Launcher for mongo-java-server, run by Roster when MONGODB_URI is unset.
 *
 * Usage: java -cp <classpath> EmbeddedMongo.java (memory | h2 <file>) [port]
 *
 * Prints one line "ROSTER_EMBEDDED_MONGO_READY <port>" once it accepts connections. It exits
 * when its standard input closes, so it can never outlive the Node process that started it,
 * even when that process is killed with SIGKILL.
 */
public final class EmbeddedMongo {

    /** MongoDB 6.0's wire profile: the Node driver 7 refuses servers below wire version 9. */
    private static final MongoVersion MONGO_6_0 = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(6, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 17;
        }
    };

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: EmbeddedMongo (memory | h2 <file>) [port]");
            System.exit(2);
        }
        final MongoBackend backend;
        int next = 1;
        if (args[0].equals("h2")) {
            backend = new H2Backend(args[1]);
            next = 2;
        } else {
            backend = new MemoryBackend();
        }
        backend.version(MONGO_6_0);
        int port = args.length > next ? Integer.parseInt(args[next]) : 0;

        MongoServer server = new MongoServer(backend);
        server.bind("127.0.0.1", port);
        InetSocketAddress address = server.getLocalAddress();

        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "embedded-mongo-shutdown"));

        System.out.println("ROSTER_EMBEDDED_MONGO_READY " + address.getPort());
        System.out.flush();

        InputStream in = System.in;
        byte[] buffer = new byte[256];
        while (in.read(buffer) >= 0) {
            // The parent never writes; reading only detects that it has gone.
        }
        System.exit(0);
    }
}
