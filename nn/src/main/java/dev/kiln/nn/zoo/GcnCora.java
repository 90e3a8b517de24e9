package dev.kiln.nn.zoo;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.GraphConv;
import dev.kiln.nn.Module;
import dev.kiln.nn.data.Cora;
import dev.kiln.nn.optim.Adam;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Kipf and Welling's two-layer graph convolutional network on Cora with the Planetoid split, their recipe:
 * row-normalised features, 16 hidden units, no biases, dropout 0.5 before each layer, Adam at 0.01 with L2
 * weight decay 5e-4 on the first layer only, up to 200 full-graph epochs on the 140 labelled nodes, stopped
 * early as their code does: after epoch 10, as soon as the validation loss (with the L2 term) exceeds the mean
 * of the 10 before it. The metric is the test accuracy (1,000 nodes) of the model where training stopped,
 * averaged over 10 seeds; quick mode runs one seed for 30 epochs.
 */
final class GcnCora extends ZooModel {
    private static final int HIDDEN = 16;
    private static final double WEIGHT_DECAY = 5e-4;
    /** Kipf and Welling's early-stopping window, in epochs. */
    private static final int PATIENCE = 10;

    GcnCora() {
        super("gcn-cora", "graph convolution, semi-supervised node classification", "Cora, Planetoid split (140 / 500 / 1,000 nodes)",
                "test accuracy >= 81.5%, mean of 10 seeds (Kipf and Welling)");
    }

    /** The graph on the default device: row-normalised features, normalised adjacency, labels and split indices. */
    private record Graph(Tensor features, Tensor adjacency, Tensor labels, Tensor train, Tensor validation, Tensor test) implements AutoCloseable {
        static Graph of(Cora cora) {
            float[] x = cora.features().clone();
            int f = cora.featureCount();
            for (int node = 0; node < cora.nodes(); node++) {
                float sum = 0;
                for (int j = 0; j < f; j++) sum += x[node * f + j];
                if (sum > 0) for (int j = 0; j < f; j++) x[node * f + j] /= sum;
            }
            try (Tensor a = Tensor.of(cora.adjacency(), cora.nodes(), cora.nodes())) {
                return new Graph(Tensor.of(x, cora.nodes(), f), GraphConv.normalizedAdjacency(a), ids(cora.labels()), ids(cora.train()),
                        ids(cora.validation()), ids(cora.test()));
            }
        }

        private static Tensor ids(int[] values) { return Tensor.of(values, values.length).to(DType.INT64); }

        @Override
        public void close() { List.of(features, adjacency, labels, train, validation, test).forEach(Tensor::close); }
    }

    /** GraphConv, ReLU, GraphConv with dropout on the input of each. */
    static final class Gcn extends Module {
        private final GraphConv first;
        private final GraphConv second;

        Gcn(int features, int classes) {
            first = registerModule("conv1", new GraphConv(features, HIDDEN, false));
            second = registerModule("conv2", new GraphConv(HIDDEN, classes, false));
        }

        Tensor forward(Tensor x, Tensor adjacency) {
            try (Scope s = Scope.open()) {
                Tensor h = first.forward(Functional.dropout(x, 0.5, isTraining()), adjacency).relu();
                return s.keep(second.forward(Functional.dropout(h, 0.5, isTraining()), adjacency));
            }
        }
    }

    @Override
    public ZooResult train(ZooOptions options) throws IOException {
        Cora cora = Cora.load();
        int seeds = options.pick(10, 1), epochs = options.pick(200, 30);
        double sum = 0;
        double firstLoss = 0, lastLoss = 0;
        try (Graph g = Graph.of(cora)) {
            for (int k = 0; k < seeds; k++) {
                long seed = options.seed() + k;
                Kiln.manualSeed(seed);
                try (Gcn model = new Gcn(cora.featureCount(), cora.classes())) {
                    Adam optimizer = new Adam(model.first.parameters(), 0.01);
                    optimizer.weightDecay(WEIGHT_DECAY);
                    optimizer.addParamGroup(model.second.parameters(), Map.of("weight_decay", 0.0));
                    Training.LossLog losses = new Training.LossLog();
                    List<Double> validationLosses = new ArrayList<>();
                    while (validationLosses.size() < epochs && !stopEarly(validationLosses)) {
                        losses.add(Training.step(optimizer, 0, () -> Functional.crossEntropy(model.forward(g.features(), g.adjacency()).indexSelect(0, g.train()),
                                g.labels().indexSelect(0, g.train()))));
                        validationLosses.add(validationLoss(model, g));
                    }
                    optimizer.close();
                    double validation = accuracy(model, g, g.validation()), test = accuracy(model, g, g.test());
                    options.say("seed %d: %d epochs, training loss %.4f -> %.4f, validation accuracy %.2f%%, test accuracy %.2f%%", seed,
                            validationLosses.size(), losses.first(), losses.last(), 100 * validation, 100 * test);
                    sum += test;
                    firstLoss += losses.first() / seeds;
                    lastLoss += losses.last() / seeds;
                    if (k == 0) {
                        losses.write(options);
                        Training.saveCheckpoint(this, model, options, Map.of("seed", Long.toString(seed), "test_accuracy", Double.toString(test)));
                    }
                }
            }
        }
        double mean = sum / seeds;
        return new ZooResult(seeds == 1 ? "test_accuracy" : "mean_test_accuracy", mean, 0.815, false, firstLoss, lastLoss, Map.of("seeds", (double) seeds));
    }

    /** The checkpoint holds the first seed's model: its test accuracy (one seed, not the mean). */
    @Override
    public ZooResult evaluate(Path checkpoint, ZooOptions options) throws IOException {
        Cora cora = Cora.load();
        try (Graph g = Graph.of(cora); Gcn model = new Gcn(cora.featureCount(), cora.classes())) {
            Training.loadCheckpoint(this, model, checkpoint);
            return new ZooResult("test_accuracy", accuracy(model, g, g.test()), 0.815, false, Double.NaN, Double.NaN, Map.of("seeds", 1.0));
        }
    }

    /** Kipf and Welling's rule: past the first {@link #PATIENCE} epochs, the last loss is above the mean of the {@link #PATIENCE} before it. */
    private static boolean stopEarly(List<Double> validationLosses) {
        int n = validationLosses.size();
        if (n <= PATIENCE + 1) return false;
        double mean = validationLosses.subList(n - 1 - PATIENCE, n - 1).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        return validationLosses.get(n - 1) > mean;
    }

    /** Cross-entropy on the validation nodes plus the training objective's L2 term, as their early stopping measures it. */
    private static double validationLoss(Gcn model, Graph g) {
        model.eval();
        try (GradMode ng = GradMode.noGrad(); Scope s = Scope.open()) {
            Tensor logits = model.forward(g.features(), g.adjacency()).indexSelect(0, g.validation());
            double l2 = model.first.parameters().stream().mapToDouble(p -> p.square().sum().item()).sum();
            double loss = Functional.crossEntropy(logits, g.labels().indexSelect(0, g.validation())).item() + WEIGHT_DECAY / 2 * l2;
            model.train();
            return loss;
        }
    }

    private static double accuracy(Gcn model, Graph g, Tensor nodes) {
        model.eval();
        try (GradMode ng = GradMode.noGrad(); Scope s = Scope.open()) {
            Tensor predicted = model.forward(g.features(), g.adjacency()).indexSelect(0, nodes).argmax(1, false);
            double correct = predicted.eq(g.labels().indexSelect(0, nodes)).to(DType.INT64).sum().item();
            model.train();
            return correct / nodes.size(0);
        }
    }
}
