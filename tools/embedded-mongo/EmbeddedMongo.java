import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.DatabaseResolver;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;
import org.h2.mvstore.MVMap;

import java.io.InputStream;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.time.Instant;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiPredicate;

/**
 * Launcher for mongo-java-server, run by Roster when MONGODB_URI is unset.
 *
 * Usage: java -cp <classpath> EmbeddedMongo.java (memory | h2 <file>) [port]
 *
 * Prints one line "ROSTER_EMBEDDED_MONGO_READY <port>" once it accepts connections. It exits
 * when its standard input closes, so it can never outlive the Node process that started it,
 * even when that process is killed with SIGKILL.
 *
 * mongo-java-server answers a filter from an index only when the filter names exactly the index's
 * fields, and matches {@code $in} by comparing each document with every listed value. Roster's
 * filters such as {@code {_id, nextAt: {$lte}}} or {@code {agentId: {$in: [500 ids]}}} therefore
 * turned linear work quadratic. The collections below (memory and h2 backends) look candidates up
 * in a unique index whose fields the filter pins to values or {@code $in} lists, and match large
 * {@code $in} lists of plain values with a hash set; every candidate is still matched against the
 * whole filter by the server's own matcher, so results are the same, in the same order.
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
            backend = new IndexedH2Backend(args[1]);
            next = 2;
        } else {
            backend = new IndexedMemoryBackend();
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

    /** The largest number of index lookups one filter may expand to (a compound index × {@code $in} lists). */
    private static final int MAX_LOOKUPS = 100_000;

    /** Below this many values a {@code $in} list is matched by the server's own loop. */
    private static final int HASHED_IN_MIN = 8;

    /** A collection that reports its {@link Matching} to the {@code rosterEmbeddedStats} command (tests prove index use with it). */
    interface ExaminedCounter {
        Matching matching();
    }

    /**
     * How the indexed collections of both backends match a document: large {@code $in} lists by
     * hashing (the filter's hashed form is kept while the same query runs), counting what was examined.
     */
    static final class Matching {
        /** Documents the matcher examined. */
        final AtomicLong examined = new AtomicLong();
        /** {@code $in} list values the server's own matcher may have walked through (its cost is linear in them). */
        final AtomicLong walked = new AtomicLong();
        private volatile HashedFilter lastFilter;

        boolean matches(Document document, Document query, BiPredicate<Document, Document> matcher) {
            examined.incrementAndGet();
            HashedFilter filter = lastFilter;
            if (filter == null || filter.query != query) lastFilter = filter = new HashedFilter(query);
            return filter.matches(document, matcher, walked);
        }
    }

    /** A filter with its large {@code $in} clauses on plain values taken out and hashed. */
    static final class HashedFilter {
        final Document query;
        final List<String> keys = new ArrayList<>();
        final List<Set<Object>> sets = new ArrayList<>();
        final Document rest = new Document();
        final long queryInLength;
        final long restInLength;

        HashedFilter(Document query) {
            this.query = query;
            for (Map.Entry<String, Object> entry : query.entrySet()) {
                Set<Object> set = hashable(entry.getKey(), entry.getValue());
                if (set != null) {
                    keys.add(entry.getKey());
                    sets.add(set);
                } else {
                    rest.put(entry.getKey(), entry.getValue());
                }
            }
            queryInLength = inLength(query);
            restInLength = inLength(rest);
        }

        private static long inLength(Document filter) {
            long length = 0;
            for (Object condition : filter.values()) {
                if (condition instanceof Document && ((Document) condition).get("$in") instanceof Collection) {
                    length += ((Collection<?>) ((Document) condition).get("$in")).size();
                }
            }
            return length;
        }

        /**
         * A document's plain value is in the set exactly when the server's equality would find it
         * in the list (strings, ids, dates and booleans compare by equals); arrays, subdocuments
         * and missing fields go through the server's matcher with the whole filter.
         */
        boolean matches(Document document, BiPredicate<Document, Document> matcher, AtomicLong walked) {
            for (int i = 0; i < keys.size(); i++) {
                Object value = document.get(keys.get(i));
                if (!isPlain(value)) {
                    walked.addAndGet(queryInLength);
                    return matcher.test(document, query);
                }
                if (!sets.get(i).contains(value)) return false;
            }
            walked.addAndGet(restInLength);
            return matcher.test(document, rest);
        }

        private static Set<Object> hashable(String key, Object value) {
            if (key.startsWith("$") || key.contains(".") || !(value instanceof Document)) return null;
            Document condition = (Document) value;
            if (condition.size() != 1 || !(condition.get("$in") instanceof Collection)) return null;
            Collection<?> values = (Collection<?>) condition.get("$in");
            if (values.size() < HASHED_IN_MIN) return null;
            Set<Object> set = new HashSet<>();
            for (Object v : values) {
                if (!isPlain(v)) return null;
                set.add(v);
            }
            return set;
        }
    }

    static boolean isPlain(Object value) {
        return value instanceof String || value instanceof ObjectId || value instanceof Instant || value instanceof Boolean;
    }

    /** A value a unique index can look up exactly as the matcher compares it: not null, no operator, no array. */
    static boolean isLookupValue(Object value) {
        return isPlain(value) || value instanceof Number;
    }

    /**
     * The positions of the documents that can match {@code query}, from the unique index that pins
     * the fewest keys, or null when no index applies (or one already handles the filter as a whole).
     */
    static <P> Collection<P> candidates(List<Index<P>> indexes, Document query, Document orderBy, Comparator<P> naturalOrder) {
        if (query == null || query.isEmpty()) return null;
        if (orderBy != null && orderBy.containsKey("$natural")) return null;
        for (Index<P> index : indexes) {
            if (index.canHandle(query)) return null;
        }
        Index<P> best = null;
        List<Document> bestLookups = null;
        for (Index<P> index : indexes) {
            if (!index.isUnique()) continue;
            List<Document> lookups = lookups(index, query);
            if (lookups != null && (bestLookups == null || lookups.size() < bestLookups.size())) {
                best = index;
                bestLookups = lookups;
            }
        }
        if (best == null) return null;
        Set<P> positions = new LinkedHashSet<>();
        for (Document lookup : bestLookups) {
            if (!best.canHandle(lookup)) return null;
            for (P position : best.getPositions(lookup)) positions.add(position);
        }
        // In the order a full scan gives, so results do not depend on which path found them.
        List<P> ordered = new ArrayList<>(positions);
        ordered.sort(naturalOrder);
        return ordered;
    }

    /** The exact-key lookups that cover every document matching the filter on the index's keys. */
    private static <P> List<Document> lookups(Index<P> index, Document query) {
        List<Document> lookups = new ArrayList<>();
        lookups.add(new Document());
        for (IndexKey indexKey : index.getKeys()) {
            String key = indexKey.getKey();
            if (!query.containsKey(key)) return null;
            Object condition = query.get(key);
            List<Object> values = new ArrayList<>();
            if (isLookupValue(condition)) {
                values.add(condition);
            } else if (condition instanceof Document && ((Document) condition).size() == 1
                && ((Document) condition).get("$in") instanceof Collection) {
                for (Object v : (Collection<?>) ((Document) condition).get("$in")) {
                    if (!isLookupValue(v)) return null;
                    values.add(v);
                }
            } else {
                return null;
            }
            if ((long) lookups.size() * values.size() > MAX_LOOKUPS) return null;
            List<Document> expanded = new ArrayList<>(lookups.size() * values.size());
            for (Document lookup : lookups) {
                for (Object value : values) {
                    Document next = lookup.clone();
                    next.put(key, value);
                    expanded.add(next);
                }
            }
            lookups = expanded;
        }
        return lookups;
    }

    /** The memory backend with {@link IndexedMemoryCollection}s. */
    static final class IndexedMemoryBackend extends MemoryBackend {
        @Override
        public MemoryDatabase openOrCreateDatabase(String databaseName) {
            return new MemoryDatabase(databaseName, getCursorRegistry()) {
                @Override
                protected MemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
                    return new IndexedMemoryCollection(this, collectionName, options, cursorRegistry);
                }

                @Override
                public Document handleCommand(Channel channel, String command, Document query, DatabaseResolver resolver, Oplog oplog) {
                    Document stats = statsCommand(this, command, query);
                    return stats != null ? stats : super.handleCommand(channel, command, query, resolver, oplog);
                }
            };
        }
    }

    static final class IndexedMemoryCollection extends MemoryCollection implements ExaminedCounter {
        private final Matching matching = new Matching();

        IndexedMemoryCollection(MongoDatabase database, String name, CollectionOptions options, CursorRegistry cursors) {
            super(database, name, options, cursors);
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int skip, int limit, int batchSize, Document fields) {
            Collection<Integer> positions = candidates(getIndexes(), query, orderBy, Comparator.naturalOrder());
            if (positions == null) return super.queryDocuments(query, orderBy, skip, limit, batchSize, fields);
            return matchDocuments(query, positions, orderBy, skip, limit, batchSize, fields);
        }

        @Override
        protected boolean documentMatchesQuery(Document document, Document query) {
            return matching.matches(document, query, super::documentMatchesQuery);
        }

        @Override
        public Matching matching() {
            return matching;
        }
    }

    /** The h2 backend with {@link IndexedH2Collection}s over the same stored maps. */
    static final class IndexedH2Backend extends H2Backend {
        IndexedH2Backend(String file) {
            super(file);
        }

        @Override
        protected MongoDatabase openOrCreateDatabase(String databaseName) {
            return new H2Database(databaseName, getMvStore(), getCursorRegistry()) {
                @Override
                protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
                    MongoCollection<Object> plain = super.openOrCreateCollection(collectionName, options);
                    // The maps are opened under names private to H2Database; take them from its own collection.
                    return new IndexedH2Collection(this, collectionName, options, mapOf(plain, "dataMap"), mapOf(plain, "metaMap"), cursorRegistry);
                }

                @Override
                public Document handleCommand(Channel channel, String command, Document query, DatabaseResolver resolver, Oplog oplog) {
                    Document stats = statsCommand(this, command, query);
                    return stats != null ? stats : super.handleCommand(channel, command, query, resolver, oplog);
                }
            };
        }

        @SuppressWarnings("unchecked")
        private static <K, V> MVMap<K, V> mapOf(Object collection, String name) {
            try {
                Field field = H2Collection.class.getDeclaredField(name);
                field.setAccessible(true);
                return (MVMap<K, V>) field.get(collection);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("mongo-java-server's H2Collection has no field " + name, e);
            }
        }
    }

    static final class IndexedH2Collection extends H2Collection implements ExaminedCounter {
        private final Matching matching = new Matching();
        private final Comparator<Object> keyOrder;

        IndexedH2Collection(MongoDatabase database, String name, CollectionOptions options, MVMap<Object, Document> data,
                            MVMap<String, Object> meta, CursorRegistry cursors) {
            super(database, name, options, data, meta, cursors);
            // A scan walks the map in key order: its own key type orders the positions the same way.
            this.keyOrder = data.getKeyType()::compare;
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int skip, int limit, int batchSize, Document fields) {
            Collection<Object> positions = candidates(getIndexes(), query, orderBy, keyOrder);
            if (positions == null) return super.queryDocuments(query, orderBy, skip, limit, batchSize, fields);
            return matchDocuments(query, positions, orderBy, skip, limit, batchSize, fields);
        }

        @Override
        protected boolean documentMatchesQuery(Document document, Document query) {
            return matching.matches(document, query, super::documentMatchesQuery);
        }

        @Override
        public Matching matching() {
            return matching;
        }
    }

    /**
     * {@code {rosterEmbeddedStats: "<collection>"}}: how many documents the collection's matcher
     * has examined and how many {@code $in} values it walked, so a test can prove a filter was
     * answered from an index rather than a scan, and a list matched by hashing.
     */
    static Document statsCommand(MongoDatabase database, String command, Document query) {
        if (!command.equals("rosterEmbeddedStats")) return null;
        Object name = query.get(command);
        MongoCollection<?> collection = name instanceof String ? database.resolveCollection((String) name, false) : null;
        Matching matching = collection instanceof ExaminedCounter ? ((ExaminedCounter) collection).matching() : null;
        return new Document("examined", matching == null ? 0L : matching.examined.get())
            .append("inValuesWalked", matching == null ? 0L : matching.walked.get())
            .append("ok", 1.0);
    }
}
