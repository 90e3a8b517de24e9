package dev.kiln.nn.zoo;

import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.data.KnowledgeGraph;
import dev.kiln.nn.models.TransE;
import dev.kiln.nn.optim.Adam;
import dev.kiln.nn.optim.Optimizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code transe}: TransE embeddings of WN18RR trained with the margin ranking loss over sampled negatives, scored by
 * filtered ranking of the test triples. Each training triple is paired with {@code negatives} corruptions of its
 * head or tail by a uniformly drawn entity; which end is corrupted follows Wang et al. (2014)'s "bern" rule (the
 * head with probability tails-per-head / (tails-per-head + heads-per-tail) of the relation), which makes fewer
 * false negatives on one-to-many and many-to-one relations. Entities are put back on the unit sphere before every
 * step. The metric is the filtered mean reciprocal rank over both ends of every test triple.
 */
final class TransEWordNet extends ZooModel {

    /** A recipe: embedding width, loss margin, negatives per triple, batch of triples, epochs, Adam's rate; {@code testTriples} scored (all when larger). */
    record Recipe(int dim, double margin, int negatives, int batch, int epochs, double lr, int testTriples) {}

    static final Recipe FULL = new Recipe(100, 1.0, 16, 4096, 30, 1e-2, Integer.MAX_VALUE);
    private static final Recipe QUICK = new Recipe(100, 2.0, 4, 256, 1, 2e-3, 100);
    /** The quick run's slice of the training triples: a few seconds' worth. */
    private static final int QUICK_TRAIN_TRIPLES = 8192;

    TransEWordNet() {
        super("transe", "knowledge-graph embeddings: margin ranking with negative sampling, filtered ranking",
                "WN18RR: 40,943 entities, 11 relations, 86,835 training / 3,134 test triples", "filtered MRR >= 0.226 and Hits@10 >= 0.50 (published TransE figures)");
    }

    @Override
    public ZooResult train(ZooOptions options) throws IOException { return train(options, options.quick() ? QUICK : FULL); }

    /** Trains with recipe {@code r} (quick mode still takes the quick slice of the training triples). */
    ZooResult train(ZooOptions options, Recipe r) throws IOException {
        KnowledgeGraph graph = KnowledgeGraph.load(KnowledgeGraph.Bundled.WN18RR);
        KnowledgeGraph.Triples train = options.quick() ? graph.train().first(QUICK_TRAIN_TRIPLES) : graph.train();
        double[] corruptHead = headCorruptionProbability(graph);
        Kiln.manualSeed(options.seed());
        try (TransE model = new TransE(graph.entities(), graph.relations(), r.dim())) {
            Optimizer optimizer = new Adam(model.parameters(), r.lr());
            int steps = (train.size() + r.batch() - 1) / r.batch();
            options.say("%s: %,d parameters, %d epochs of %d steps (%d triples, %d negatives each) on %s", name(), model.parameterCount(), r.epochs(), steps,
                    r.batch(), r.negatives(), Kiln.defaultDevice());
            SplittableRandom random = new SplittableRandom(options.seed());
            Training.LossLog losses = new Training.LossLog();
            int[] order = new int[train.size()];
            for (int i = 0; i < order.length; i++) order[i] = i;
            for (int epoch = 0; epoch < r.epochs(); epoch++) {
                Training.shuffle(order, random);
                int from = losses.steps();
                for (int start = 0; start < order.length; start += r.batch()) {
                    int[] rows = java.util.Arrays.copyOfRange(order, start, Math.min(order.length, start + r.batch()));
                    model.normalizeEntities();
                    try (Scope s = Scope.open()) {
                        Tensor[] batch = batch(train, rows, r.negatives(), graph.entities(), corruptHead, random);
                        losses.add(Training.step(optimizer, 0, () -> marginLoss(model, batch, r)));
                    }
                }
                if (options.quick() || (epoch + 1) % Math.max(1, r.epochs() / 10) == 0)
                    options.say("epoch %d/%d: mean training loss %.4f", epoch + 1, r.epochs(), losses.meanSince(from));
            }
            model.normalizeEntities();
            optimizer.close();
            losses.write(options);
            KnowledgeGraph.RankingMetrics metrics = filteredRanking(model, graph, graph.test().first(r.testTriples()));
            Training.saveCheckpoint(this, model, options, Map.of("filtered_mrr", Double.toString(metrics.mrr())));
            return result(metrics, losses.first(), losses.last());
        }
    }

    @Override
    public ZooResult evaluate(Path checkpoint, ZooOptions options) throws IOException {
        Recipe r = options.quick() ? QUICK : FULL;
        KnowledgeGraph graph = KnowledgeGraph.load(KnowledgeGraph.Bundled.WN18RR);
        try (TransE model = new TransE(graph.entities(), graph.relations(), r.dim())) {
            Training.loadCheckpoint(this, model, checkpoint);
            return result(filteredRanking(model, graph, graph.test().first(r.testTriples())), Double.NaN, Double.NaN);
        }
    }

    private static ZooResult result(KnowledgeGraph.RankingMetrics m, double firstLoss, double lastLoss) {
        return new ZooResult("filtered_mrr", m.mrr(), 0.226, false, firstLoss, lastLoss,
                Map.of("hits_at_1", m.hitsAt1(), "hits_at_3", m.hitsAt3(), "hits_at_10", m.hitsAt10()));
    }

    /** Per relation, the "bern" probability of corrupting the head: tails per head / (tails per head + heads per tail). */
    static double[] headCorruptionProbability(KnowledgeGraph graph) {
        KnowledgeGraph.Triples t = graph.train();
        double[] probability = new double[graph.relations()];
        for (int rel = 0; rel < graph.relations(); rel++) {
            java.util.Set<Integer> heads = new java.util.HashSet<>(), tails = new java.util.HashSet<>();
            int triples = 0;
            for (int i = 0; i < t.size(); i++)
                if (t.relation()[i] == rel) {
                    heads.add(t.head()[i]);
                    tails.add(t.tail()[i]);
                    triples++;
                }
            double tailsPerHead = triples == 0 ? 1 : (double) triples / heads.size(), headsPerTail = triples == 0 ? 1 : (double) triples / tails.size();
            probability[rel] = tailsPerHead / (tailsPerHead + headsPerTail);
        }
        return probability;
    }

    /** Positive heads, relations, tails (B), then negative heads, relations, tails (B x negatives), as INT64 tensors. */
    private static Tensor[] batch(KnowledgeGraph.Triples train, int[] rows, int negatives, int entities, double[] corruptHead, SplittableRandom random) {
        int b = rows.length;
        long[] h = new long[b], rel = new long[b], t = new long[b], nh = new long[b * negatives], nr = new long[b * negatives], nt = new long[b * negatives];
        for (int i = 0; i < b; i++) {
            int row = rows[i];
            h[i] = train.head()[row];
            rel[i] = train.relation()[row];
            t[i] = train.tail()[row];
            for (int k = 0; k < negatives; k++) {
                int at = i * negatives + k;
                boolean head = random.nextDouble() < corruptHead[(int) rel[i]];
                nh[at] = head ? random.nextInt(entities) : h[i];
                nr[at] = rel[i];
                nt[at] = head ? t[i] : random.nextInt(entities);
            }
        }
        return new Tensor[] {Tensor.of(h, b), Tensor.of(rel, b), Tensor.of(t, b), Tensor.of(nh, b, negatives), Tensor.of(nr, b, negatives), Tensor.of(nt, b, negatives)};
    }

    /** Mean of {@code max(0, margin + d(positive) - d(negative))} over every (positive, negative) pair. */
    private static Tensor marginLoss(TransE model, Tensor[] batch, Recipe r) {
        try (Scope s = Scope.open()) {
            Tensor positive = model.distance(batch[0], batch[1], batch[2]).unsqueeze(1);
            Tensor negative = model.distance(batch[3], batch[4], batch[5]);
            return s.keep(positive.add(r.margin()).sub(negative).relu().mean());
        }
    }

    /** Filtered ranks of the true tail of {@code (h, r, ?)} and the true head of {@code (?, r, t)} for every triple. */
    static KnowledgeGraph.RankingMetrics filteredRanking(TransE model, KnowledgeGraph graph, KnowledgeGraph.Triples triples) {
        KnowledgeGraph.RankingMetrics metrics = new KnowledgeGraph.RankingMetrics();
        int chunk = 256, n = graph.entities();
        for (int from = 0; from < triples.size(); from += chunk) {
            int to = Math.min(triples.size(), from + chunk);
            long[] h = new long[to - from], rel = new long[to - from], t = new long[to - from];
            for (int i = from; i < to; i++) {
                h[i - from] = triples.head()[i];
                rel[i - from] = triples.relation()[i];
                t[i - from] = triples.tail()[i];
            }
            for (boolean predictTail : new boolean[] {true, false}) {
                float[] scores;
                try (Scope s = Scope.open()) {
                    scores = model.scoreAll(Tensor.of(predictTail ? h : t, to - from), Tensor.of(rel, to - from), predictTail).toFloatArray();
                }
                for (int i = from; i < to; i++)
                    metrics.add(graph.filteredRank(triples.head()[i], triples.relation()[i], triples.tail()[i], predictTail,
                            java.util.Arrays.copyOfRange(scores, (i - from) * n, (i - from + 1) * n)));
            }
        }
        return metrics;
    }
}
