package dev.kiln.nn.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;

/**
 * A knowledge graph of {@code (head, relation, tail)} triples split into training, validation and test sets, as
 * the link-prediction benchmarks ship them, with the filtered ranking of Bordes et al. (2013): when a model ranks
 * every entity as the missing head or tail of a test triple, the other entities that complete a known triple (in
 * any split) are left out of the ranking, so that a model is not penalised for ranking a true answer first.
 *
 * <p>Entities and relations are numbered in the order they first appear, training split first.
 */
public final class KnowledgeGraph {
    /** The bundled graphs (see the provenance note in their folder). */
    public enum Bundled {
        /** WN18RR: 40,943 WordNet entities, 11 relations, 86,835 / 3,034 / 3,134 triples. */
        WN18RR,
        /** UMLS: 135 medical concepts, 46 relations, 5,216 / 652 / 661 triples. */
        UMLS;

        String folder() { return this == WN18RR ? "WN18RR" : "umls"; }
    }

    /**
     * Triples as three parallel arrays of ids.
     *
     * @param head the head entity of each triple
     * @param relation the relation of each triple
     * @param tail the tail entity of each triple
     */
    public record Triples(int[] head, int[] relation, int[] tail) {
        /** Checks the arrays are parallel. */
        public Triples {
            if (head.length != relation.length || head.length != tail.length)
                throw new IllegalArgumentException("KnowledgeGraph.Triples: head, relation and tail differ in length: " + head.length + ", " + relation.length + ", " + tail.length);
        }

        /** {@return the number of triples} */
        public int size() { return head.length; }

        /**
         * The first {@code n} triples (all when there are fewer).
         *
         * @param n the number of triples to keep
         * @return the leading triples
         */
        public Triples first(int n) {
            int k = Math.min(n, size());
            return new Triples(java.util.Arrays.copyOf(head, k), java.util.Arrays.copyOf(relation, k), java.util.Arrays.copyOf(tail, k));
        }
    }

    private final List<String> entityNames;
    private final List<String> relationNames;
    private final Triples train;
    private final Triples validation;
    private final Triples test;
    /** Known tails of (head, relation) and known heads of (tail, relation), over all splits. */
    private final Map<Long, Set<Integer>> knownTails = new HashMap<>(), knownHeads = new HashMap<>();

    private KnowledgeGraph(List<String> entityNames, List<String> relationNames, Triples train, Triples validation, Triples test) {
        this.entityNames = List.copyOf(entityNames);
        this.relationNames = List.copyOf(relationNames);
        this.train = train;
        this.validation = validation;
        this.test = test;
        for (Triples split : List.of(train, validation, test))
            for (int i = 0; i < split.size(); i++) {
                knownTails.computeIfAbsent(key(split.head()[i], split.relation()[i]), k -> new HashSet<>()).add(split.tail()[i]);
                knownHeads.computeIfAbsent(key(split.tail()[i], split.relation()[i]), k -> new HashSet<>()).add(split.head()[i]);
            }
    }

    private long key(int entity, int relation) { return (long) entity * relationNames.size() + relation; }

    /**
     * Reads a bundled graph.
     *
     * @param graph which graph
     * @return the graph
     * @throws IOException if a file is missing or a line is not three tab-separated fields
     */
    public static KnowledgeGraph load(Bundled graph) throws IOException {
        Map<String, Integer> entities = new LinkedHashMap<>(), relations = new LinkedHashMap<>();
        List<Triples> splits = new ArrayList<>();
        for (String split : List.of("train", "valid", "test")) {
            String resource = "/dev/kiln/nn/data/kg/" + graph.folder() + "/" + split + ".txt.gz";
            try (InputStream in = KnowledgeGraph.class.getResourceAsStream(resource)) {
                if (in == null) throw new IOException("knowledge graph resource " + resource + " is missing from the class path");
                splits.add(parse(new String(new GZIPInputStream(in).readAllBytes(), StandardCharsets.UTF_8), resource, entities, relations));
            }
        }
        return new KnowledgeGraph(new ArrayList<>(entities.keySet()), new ArrayList<>(relations.keySet()), splits.get(0), splits.get(1), splits.get(2));
    }

    /**
     * A graph from tab-separated {@code head relation tail} lines, one text per split.
     *
     * @param train the training triples
     * @param validation the validation triples
     * @param test the test triples
     * @return the graph
     * @throws IOException if a line is not three tab-separated fields
     */
    public static KnowledgeGraph parse(String train, String validation, String test) throws IOException {
        Map<String, Integer> entities = new LinkedHashMap<>(), relations = new LinkedHashMap<>();
        Triples a = parse(train, "train", entities, relations), b = parse(validation, "validation", entities, relations), c = parse(test, "test", entities, relations);
        return new KnowledgeGraph(new ArrayList<>(entities.keySet()), new ArrayList<>(relations.keySet()), a, b, c);
    }

    private static Triples parse(String text, String source, Map<String, Integer> entities, Map<String, Integer> relations) throws IOException {
        List<int[]> rows = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new java.io.StringReader(text))) {
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) continue;
                String[] f = line.strip().split("\t");
                if (f.length != 3) throw new IOException(source + " line " + number + ": expected 'head<TAB>relation<TAB>tail', got '" + line + "'");
                rows.add(new int[] {entities.computeIfAbsent(f[0], k -> entities.size()), relations.computeIfAbsent(f[1], k -> relations.size()),
                        entities.computeIfAbsent(f[2], k -> entities.size())});
            }
        }
        int[] h = new int[rows.size()], r = new int[rows.size()], t = new int[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            h[i] = rows.get(i)[0];
            r[i] = rows.get(i)[1];
            t[i] = rows.get(i)[2];
        }
        return new Triples(h, r, t);
    }

    /** {@return the number of entities} */
    public int entities() { return entityNames.size(); }

    /** {@return the number of relations} */
    public int relations() { return relationNames.size(); }

    /** {@return the entity names, by id} */
    public List<String> entityNames() { return entityNames; }

    /** {@return the relation names, by id} */
    public List<String> relationNames() { return relationNames; }

    /** {@return the training triples} */
    public Triples train() { return train; }

    /** {@return the validation triples} */
    public Triples validation() { return validation; }

    /** {@return the test triples} */
    public Triples test() { return test; }

    /**
     * The filtered rank of the true answer of a query among every entity: 1 plus the number of entities scored
     * higher, plus half the number scored equal (ties are split rather than resolved in the model's favour),
     * counting only entities that complete no known triple. The query is {@code (head, relation, ?)} with answer
     * {@code tail} when {@code predictTail}, else {@code (?, relation, tail)} with answer {@code head}.
     *
     * @param head the head entity
     * @param relation the relation
     * @param tail the tail entity
     * @param predictTail whether the tail is the missing entity (else the head)
     * @param scores the model's score of each entity as the missing one, higher is better, length {@link #entities()}
     * @return the filtered rank, at least 1
     * @throws IllegalArgumentException if scores has the wrong length
     */
    public double filteredRank(int head, int relation, int tail, boolean predictTail, float[] scores) {
        if (scores.length != entities())
            throw new IllegalArgumentException("KnowledgeGraph.filteredRank: expected " + entities() + " scores, got " + scores.length);
        int answer = predictTail ? tail : head;
        Set<Integer> known = predictTail ? knownTails.get(key(head, relation)) : knownHeads.get(key(tail, relation));
        float target = scores[answer];
        long higher = 0, equal = 0;
        for (int e = 0; e < scores.length; e++) {
            if (e == answer || scores[e] < target) continue;
            if (known != null && known.contains(e)) continue;
            if (scores[e] > target) higher++;
            else equal++;
        }
        return 1 + higher + equal / 2.0;
    }

    /** Mean reciprocal rank and hits at 1, 3 and 10 of a set of ranks; {@link #add} one rank at a time. */
    public static final class RankingMetrics {
        private long count;
        private double reciprocal, hits1, hits3, hits10;

        /** No ranks yet. */
        public RankingMetrics() {}

        /**
         * Adds one rank.
         *
         * @param rank a rank, at least 1
         */
        public void add(double rank) {
            count++;
            reciprocal += 1 / rank;
            if (rank <= 1) hits1++;
            if (rank <= 3) hits3++;
            if (rank <= 10) hits10++;
        }

        /** {@return the number of ranks added} */
        public long count() { return count; }

        /** {@return the mean reciprocal rank} */
        public double mrr() { return reciprocal / count; }

        /** {@return the fraction of ranks at most 1} */
        public double hitsAt1() { return hits1 / count; }

        /** {@return the fraction of ranks at most 3} */
        public double hitsAt3() { return hits3 / count; }

        /** {@return the fraction of ranks at most 10} */
        public double hitsAt10() { return hits10 / count; }
    }
}
