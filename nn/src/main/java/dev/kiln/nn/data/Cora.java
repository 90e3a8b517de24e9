package dev.kiln.nn.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * The Cora citation graph with the Planetoid split (140 training, 500 validation, 1,000 test nodes), read from
 * the text files bundled with kiln-nn (see the provenance note in their folder): binary bag-of-words features,
 * class labels and undirected edges.
 *
 * @param nodes the number of nodes (2,708)
 * @param featureCount the features per node (1,433)
 * @param classes the number of classes (7)
 * @param features (nodes x featureCount) 0/1 values, row-major
 * @param labels the class of each node
 * @param edges    undirected edges as pairs of node ids, each listed once
 * @param train the training nodes
 * @param validation the validation nodes
 * @param test the test nodes
 */
public record Cora(int nodes, int featureCount, int classes, float[] features, int[] labels, int[][] edges, int[] train, int[] validation, int[] test) {
    private static final String FOLDER = "/dev/kiln/nn/data/cora/";

    /**
     * Reads the bundled files.
     *
     * @return the graph and its split
     * @throws IOException if a file is missing or malformed
     */
    public static Cora load() throws IOException {
        List<String[]> featureRows = rows("cora-features.txt.gz");
        int nodes = featureRows.size(), featureCount = 1433;
        float[] features = new float[nodes * featureCount];
        int[] labels = new int[nodes];
        int classes = 0;
        for (String[] row : featureRows) {
            int node = Integer.parseInt(row[0]);
            labels[node] = Integer.parseInt(row[1]);
            classes = Math.max(classes, labels[node] + 1);
            for (int i = 2; i < row.length; i++) features[node * featureCount + Integer.parseInt(row[i])] = 1;
        }
        List<String[]> edgeRows = rows("cora-edges.txt");
        int[][] edges = new int[edgeRows.size()][];
        for (int i = 0; i < edges.length; i++) edges[i] = new int[] {Integer.parseInt(edgeRows.get(i)[0]), Integer.parseInt(edgeRows.get(i)[1])};
        int[] train = null, validation = null, test = null;
        for (String[] row : rows("cora-split.txt")) {
            int[] ids = new int[row.length - 1];
            for (int i = 1; i < row.length; i++) ids[i - 1] = Integer.parseInt(row[i]);
            switch (row[0]) {
                case "train" -> train = ids;
                case "val" -> validation = ids;
                case "test" -> test = ids;
                default -> throw new IOException("cora-split.txt: unknown split '" + row[0] + "'");
            }
        }
        if (train == null || validation == null || test == null) throw new IOException("cora-split.txt: expected train, val and test lines");
        return new Cora(nodes, featureCount, classes, features, labels, edges, train, validation, test);
    }

    /** {@return the dense symmetric 0/1 adjacency matrix (nodes x nodes), row-major, without self-loops} */

    public float[] adjacency() {
        float[] a = new float[nodes * nodes];
        for (int[] e : edges) {
            a[e[0] * nodes + e[1]] = 1;
            a[e[1] * nodes + e[0]] = 1;
        }
        return a;
    }

    private static List<String[]> rows(String file) throws IOException {
        try (InputStream raw = Cora.class.getResourceAsStream(FOLDER + file)) {
            if (raw == null) throw new IOException("Cora resource " + FOLDER + file + " is missing from the class path");
            InputStream in = file.endsWith(".gz") ? new GZIPInputStream(raw) : raw;
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            List<String[]> rows = new ArrayList<>();
            for (String line; (line = reader.readLine()) != null; )
                if (!line.isBlank() && !line.startsWith("#")) rows.add(line.trim().split("\\s+"));
            return rows;
        }
    }
}
