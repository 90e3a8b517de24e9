package dev.kiln.nn.zoo;

import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.Activation;
import dev.kiln.nn.BatchNorm1d;
import dev.kiln.nn.GradientMonitor;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.ModuleDict;
import dev.kiln.nn.Sequential;
import dev.kiln.nn.optim.Gradients;
import dev.kiln.nn.optim.SGD;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Vanishing and exploding gradients, diagnosed by {@link GradientMonitor} and fixed. Five {@value #DEPTH}-layer
 * perceptrons of width {@value #WIDTH} learn a synthetic 4-class problem (the arg-max of a fixed random linear
 * map of 32 Gaussian inputs) with plain SGD: sigmoid activations (the gradient vanishes on the way down), then
 * the fixes ReLU with batch norm and ReLU residual blocks; ReLU with weights twice Kaiming's scale (the gradient
 * explodes), then the same with gradient clipping. After training, the monitor checks each network's gradients
 * on a fixed batch (after clipping, for the clipped one: what the optimizer applies). The metric is the fraction
 * of networks whose report is as expected: the two broken ones flagged, the three fixed ones healthy.
 */
final class GradientHealth extends ZooModel {
    private static final int DEPTH = 20, WIDTH = 64, INPUTS = 32, CLASSES = 4, BATCH = 128;
    private static final double LR = 0.05, CLIP = 1.0;
    private static final long DATA_SEED = 4_242, EVAL_SEED = 4_343;
    /** Per-parameter gradient norms below 1e-6 count as vanishing, above 1e3 as exploding. */
    private static final GradientMonitor MONITOR = new GradientMonitor(1e-6, 1e3);

    /** One network of the comparison: {@code broken} says whether the monitor should flag it. */
    private record Case(String name, boolean broken, boolean clipped, Supplier<Module> net) {}

    private static final List<Case> CASES = List.of(
            new Case("sigmoid", true, false, () -> mlp(Activation::sigmoid, false, 1)),
            new Case("relu_batchnorm", false, false, () -> mlp(Activation::relu, true, 1)),
            new Case("relu_residual", false, false, GradientHealth::residual),
            new Case("relu_init_x2", true, false, () -> mlp(Activation::relu, false, 2)),
            new Case("relu_init_x2_clipped", false, true, () -> mlp(Activation::relu, false, 2)));

    GradientHealth() {
        super("gradient-health", "vanishing and exploding gradients diagnosed by GradientMonitor, fixed by ReLU, batch norm, residuals, clipping",
                "synthetic: 4 classes from 32 Gaussian inputs", "the broken networks flagged and the fixed ones healthy (fraction 1.0)");
    }

    /** DEPTH linear layers with {@code activation} between them (and batch norm before it); weights scaled by {@code initScale}. */
    private static Module mlp(Supplier<Activation> activation, boolean batchNorm, double initScale) {
        Sequential net = new Sequential();
        for (int i = 0; i < DEPTH; i++) {
            boolean last = i == DEPTH - 1;
            // A bias before batch norm is cancelled by its mean subtraction (its gradient is zero, which the monitor
            // rightly flags as vanishing), so those layers have none, as in PyTorch practice.
            net.add(new Linear(i == 0 ? INPUTS : WIDTH, last ? CLASSES : WIDTH, last || !batchNorm));
            if (last) break;
            if (batchNorm) net.add(new BatchNorm1d(WIDTH));
            net.add(activation.get());
        }
        if (initScale != 1)
            try (GradMode ng = GradMode.noGrad()) {
                net.namedParameters().forEach((name, p) -> {
                    // Kaiming's deviation for ReLU, times the scale: each layer multiplies the signal by about initScale.
                    if (name.endsWith("weight")) p.mul_(initScale * Math.sqrt(2.0 / p.size(1)) / Math.sqrt(1.0 / (3 * p.size(1))));
                });
            }
        return net;
    }

    /** A linear stem, DEPTH-2 residual blocks {@code x + W relu(x)}, a linear read-out. */
    private static Module residual() {
        Sequential net = new Sequential(new Linear(INPUTS, WIDTH));
        for (int i = 0; i < DEPTH - 2; i++) net.add(new ResidualLinear());
        net.add(Activation.relu());
        net.add(new Linear(WIDTH, CLASSES));
        return net;
    }

    private static final class ResidualLinear extends Module {
        private final Linear linear = registerModule("linear", new Linear(WIDTH, WIDTH));

        @Override
        public Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                return s.keep(x.add(linear.forward(x.relu())));
            }
        }
    }

    private static ModuleDict networks() {
        ModuleDict all = new ModuleDict();
        for (Case c : CASES) all.put(c.name(), c.net().get());
        return all;
    }

    @Override
    public ZooResult train(ZooOptions options) throws IOException {
        int steps = options.pick(400, 15);
        Kiln.manualSeed(options.seed());
        float[] map = gaussians(new SplittableRandom(DATA_SEED), INPUTS * CLASSES);
        try (ModuleDict nets = networks()) {
            options.say("%s: %d networks of %d layers, %d SGD steps of %d examples each, lr %.2f", name(), CASES.size(), DEPTH, steps, BATCH, LR);
            report(nets, map, options, "at initialisation");
            double first = 0, last = 0;
            for (Case c : CASES) {
                Module net = nets.children().get(c.name());
                SGD optimizer = new SGD(net.parameters(), LR);
                SplittableRandom random = new SplittableRandom(options.seed());
                Training.LossLog losses = new Training.LossLog();
                for (int step = 0; step < steps; step++)
                    losses.add(Training.step(optimizer, c.clipped() ? CLIP : 0, () -> batchLoss(net, map, random)));
                options.say("%s: training loss %.4f -> %.4f", c.name(), losses.first(), losses.last());
                if (!c.broken()) {
                    first += losses.first();
                    last += losses.last();
                }
            }
            ZooResult result = report(nets, map, options, "after training");
            Training.saveCheckpoint(this, nets, options, Map.of("steps", Integer.toString(steps)));
            return new ZooResult(result.metric(), result.value(), result.target(), false, first, last, result.details());
        }
    }

    @Override
    public ZooResult evaluate(Path checkpoint, ZooOptions options) throws IOException {
        try (ModuleDict nets = networks()) {
            Training.loadCheckpoint(this, nets, checkpoint);
            return report(nets, gaussians(new SplittableRandom(DATA_SEED), INPUTS * CLASSES), options, "of the checkpoint");
        }
    }

    /** The monitor's verdict on each network's gradients for the evaluation batch; prints the report. */
    private static ZooResult report(ModuleDict nets, float[] map, ZooOptions options, String when) {
        Map<String, Double> details = new LinkedHashMap<>();
        int expected = 0;
        for (Case c : CASES) {
            Module net = nets.children().get(c.name());
            SplittableRandom random = new SplittableRandom(EVAL_SEED);
            net.zeroGrad();
            try (Scope s = Scope.open()) {
                batchLoss(net, map, random).backward();
                if (c.clipped()) Gradients.clipNorm(net.parameters(), CLIP);
                GradientMonitor.Report r = MONITOR.check(net);
                Map<String, GradientMonitor.Entry> e = r.entries();
                double firstLayer = e.values().iterator().next().norm(), lastLayer = new ArrayList<>(e.values()).getLast().norm();
                options.say("monitor %s, %s: %s; first-layer gradient norm %.3g, last-layer %.3g, total %.3g%s", when, c.name(),
                        r.healthy() ? "healthy" : r.problems().size() + " problems", firstLayer, lastLayer, r.totalNorm(),
                        r.healthy() ? "" : " (" + r.problems().getFirst() + ")");
                details.put(c.name() + "_first_layer_grad_norm", firstLayer);
                if (r.healthy() != c.broken()) expected++;
            }
            net.zeroGrad();
        }
        return new ZooResult("as_expected_fraction", (double) expected / CASES.size(), 1.0, false, Double.NaN, Double.NaN, details);
    }

    /** Cross-entropy of {@code net} on a fresh batch: Gaussian inputs, labels the arg-max of the fixed linear map. */
    private static Tensor batchLoss(Module net, float[] map, SplittableRandom random) {
        float[] x = gaussians(random, BATCH * INPUTS);
        int[] y = new int[BATCH];
        for (int b = 0; b < BATCH; b++) {
            double best = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < CLASSES; k++) {
                double v = 0;
                for (int i = 0; i < INPUTS; i++) v += x[b * INPUTS + i] * map[i * CLASSES + k];
                if (v > best) {
                    best = v;
                    y[b] = k;
                }
            }
        }
        try (Scope s = Scope.open()) {
            return s.keep(Functional.crossEntropy(net.forward(Tensor.of(x, BATCH, INPUTS)), Tensor.of(y, BATCH).to(dev.kiln.DType.INT64)));
        }
    }

    private static float[] gaussians(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) random.nextGaussian();
        return v;
    }
}
