package dev.kiln.nn.zoo;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.Activation;
import dev.kiln.nn.Conv2d;
import dev.kiln.nn.Flatten;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.Sequential;
import dev.kiln.nn.data.ArrayDataset;
import dev.kiln.nn.data.Batch;
import dev.kiln.nn.data.DataLoader;
import dev.kiln.nn.data.Dataset;
import dev.kiln.nn.data.Mnist;
import dev.kiln.nn.data.RandomShift;
import dev.kiln.nn.optim.Adam;
import dev.kiln.nn.optim.LRScheduler;
import dev.kiln.nn.optim.LrSchedule;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Two tasks on one trunk: the digit (10 classes) and its parity (even or odd) from a shared convolutional trunk
 * with a linear head each, the two cross-entropies weighted by learned uncertainties (Kendall, Gal and Cipolla
 * 2018: {@code sum_i exp(-s_i) L_i + s_i} with {@code s_i} the log variance of task i). The same network is
 * trained on each task alone as the baseline; the metric is the worse head's accuracy minus its single-task
 * baseline's, in percentage points (target: at least -0.5). Same data and schedule as the MNIST classifiers.
 */
final class Multitask extends ZooModel {
    private static final String[] TASKS = {"digit", "parity"};

    Multitask() {
        super("multitask", "shared trunk with two heads (digit, parity), uncertainty-weighted losses",
                "MNIST sample: 8,000 training / 2,000 held-out digits; parity derived from the label",
                "each head within 0.5 points of its single-task baseline or better");
    }

    /** Trunk (two strided 5x5 convolutions) and one linear head per task; {@code log_vars} holds s_i. */
    static final class Net extends Module {
        private final Sequential trunk;
        private final Linear digitHead;
        private final Linear parityHead;

        Net() {
            trunk = registerModule("trunk", new Sequential(new Conv2d(1, 16, 5, 2, 2), Activation.relu(), new Conv2d(16, 32, 5, 2, 2), Activation.relu(), new Flatten()));
            digitHead = registerModule("digit", new Linear(32 * 7 * 7, 10));
            parityHead = registerModule("parity", new Linear(32 * 7 * 7, 2));
            registerParameter("log_vars", Tensor.zeros(2));
        }

        /** The loss of the chosen tasks: one task's cross-entropy alone, or both with the uncertainty weighting. */
        Tensor loss(Tensor images, Tensor digits, boolean[] tasks) {
            try (Scope s = Scope.open()) {
                Tensor features = trunk.forward(images);
                Tensor[] losses = {Functional.crossEntropy(digitHead.forward(features), digits),
                        Functional.crossEntropy(parityHead.forward(features), parity(digits))};
                Tensor total = null;
                for (int i = 0; i < 2; i++) {
                    if (!tasks[i]) continue;
                    Tensor term = tasks[0] && tasks[1] ? losses[i].mul(param("log_vars").select(0, i).neg().exp()).add(param("log_vars").select(0, i)) : losses[i];
                    total = total == null ? term : total.add(term);
                }
                return s.keep(total);
            }
        }

        /** Held-out accuracy of each head. */
        double[] accuracies(Iterable<Batch> batches) {
            eval();
            long[] correct = new long[2];
            long total = 0;
            try (GradMode ng = GradMode.noGrad()) {
                for (Batch b : batches)
                    try (Scope s = Scope.open(); b) {
                        Tensor features = trunk.forward(b.inputs());
                        correct[0] += (long) digitHead.forward(features).argmax(1, false).eq(b.targets()).to(DType.INT64).sum().item();
                        correct[1] += (long) parityHead.forward(features).argmax(1, false).eq(parity(b.targets())).to(DType.INT64).sum().item();
                        total += b.size();
                    }
            }
            train();
            return new double[] {(double) correct[0] / total, (double) correct[1] / total};
        }

        private static Tensor parity(Tensor digits) { return digits.remainder(2).to(DType.INT64); }
    }

    @Override
    public ZooResult train(ZooOptions options) throws IOException {
        ArrayDataset all = Mnist.sample();
        Dataset train = new RandomShift(all.subset(0, options.pick(8000, 320)), 2, options.seed());
        double[] digitOnly = run(train, all, new boolean[] {true, false}, options, null)[0];
        double[] parityOnly = run(train, all, new boolean[] {false, true}, options, null)[0];
        double[] baselines = {digitOnly[0], parityOnly[1]};
        double[][] both = run(train, all, new boolean[] {true, true}, options, baselines);
        return result(both[0], baselines, both[1][0], both[1][1]);
    }

    /**
     * Trains one network on the chosen tasks; returns its held-out accuracies and its first and last mean losses.
     * With {@code baselines} (the multi-task run) it also writes the checkpoint.
     */
    private double[][] run(Dataset train, ArrayDataset all, boolean[] tasks, ZooOptions options, double[] baselines) throws IOException {
        int epochs = options.pick(6, 2);
        Kiln.manualSeed(options.seed());
        try (Net net = new Net()) {
            DataLoader loader = new DataLoader(train, options.pick(64, 32)).shuffle(options.seed()).dropLast(true);
            Adam optimizer = new Adam(net.parameters(), 0.004);
            LRScheduler scheduler = new LRScheduler(optimizer, LrSchedule.oneCycle((long) loader.batchCount() * epochs, 0.25, 10, 100));
            Training.LossLog losses = new Training.LossLog();
            for (int epoch = 0; epoch < epochs; epoch++)
                for (Batch batch : loader.epoch(epoch)) {
                    try (batch) {
                        losses.add(Training.step(optimizer, 0, () -> net.loss(batch.inputs(), batch.targets(), tasks)));
                    }
                    scheduler.step();
                }
            optimizer.close();
            double[] accuracies = heldOut(net, all, options);
            String which = tasks[0] && tasks[1] ? "both tasks" : tasks[0] ? "digit alone" : "parity alone";
            options.say("%s: digit accuracy %.2f%%, parity accuracy %.2f%% (loss %.4f -> %.4f)", which, 100 * accuracies[0], 100 * accuracies[1], losses.first(), losses.last());
            if (baselines != null) {
                float[] s = net.namedParameters().get("log_vars").toFloatArray();
                options.say("learned task weights exp(-s): digit %.3f, parity %.3f", Math.exp(-s[0]), Math.exp(-s[1]));
                losses.write(options);
                Training.saveCheckpoint(this, net, options, Map.of("baseline_digit_accuracy", Double.toString(baselines[0]),
                        "baseline_parity_accuracy", Double.toString(baselines[1])));
            }
            return new double[][] {accuracies, {losses.first(), losses.last()}};
        }
    }

    @Override
    public ZooResult evaluate(Path checkpoint, ZooOptions options) throws IOException {
        try (Net net = new Net()) {
            Map<String, String> meta = Training.loadCheckpoint(this, net, checkpoint);
            double[] baselines = {Double.parseDouble(meta.get("baseline_digit_accuracy")), Double.parseDouble(meta.get("baseline_parity_accuracy"))};
            return result(heldOut(net, Mnist.sample(), options), baselines, Double.NaN, Double.NaN);
        }
    }

    private static double[] heldOut(Net net, ArrayDataset all, ZooOptions options) {
        return net.accuracies(new DataLoader(all.subset(all.size() - options.pick(2000, 250), all.size()), 500).prefetch(0).epoch(0));
    }

    /** The headline: the smaller gap to the baseline, in points; every accuracy in the details. */
    private static ZooResult result(double[] accuracies, double[] baselines, double firstLoss, double lastLoss) {
        Map<String, Double> details = new LinkedHashMap<>();
        double worst = Double.POSITIVE_INFINITY;
        for (int i = 0; i < 2; i++) {
            details.put(TASKS[i] + "_accuracy", accuracies[i]);
            details.put(TASKS[i] + "_baseline_accuracy", baselines[i]);
            worst = Math.min(worst, 100 * (accuracies[i] - baselines[i]));
        }
        return new ZooResult("worst_head_gain_points", worst, -0.5, false, firstLoss, lastLoss, details);
    }
}
