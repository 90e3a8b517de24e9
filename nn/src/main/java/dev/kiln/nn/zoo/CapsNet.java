package dev.kiln.nn.zoo;

import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.Activation;
import dev.kiln.nn.CapsuleLayer;
import dev.kiln.nn.Conv2d;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.Sequential;
import dev.kiln.nn.data.ArrayDataset;
import dev.kiln.nn.data.Batch;
import dev.kiln.nn.data.DataLoader;
import dev.kiln.nn.data.Dataset;
import dev.kiln.nn.data.Mnist;
import dev.kiln.nn.data.RandomShift;
import dev.kiln.nn.metrics.Metrics;
import dev.kiln.nn.optim.Adam;
import dev.kiln.nn.optim.LRScheduler;
import dev.kiln.nn.optim.LrSchedule;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Sabour, Frosst and Hinton's CapsNet (2017), narrowed for a CPU: a 9x9 convolution of 32 channels, primary
 * capsules from a strided 9x9 convolution (8 types of 8-D capsules on a 6x6 grid, 288 capsules), ten 16-D digit
 * capsules by three rounds of dynamic routing ({@link CapsuleLayer}), the capsule lengths as class scores. The loss
 * is their margin loss (m+ 0.9, m- 0.1, lambda 0.5) plus 0.0005 times the squared error of a reconstruction
 * decoded (512-1024-784) from the true class's capsule, the others masked. Training digits are shifted by up to 2
 * pixels as in the paper; Adam with a one-cycle schedule peaking at 2e-3.
 */
final class CapsNet extends ZooModel {
    private static final int TYPES = 8;
    private static final int PRIMARY_DIM = 8;
    private static final int GRID = 6;
    private static final int DIGIT_DIM = 16;
    private static final double RECONSTRUCTION_WEIGHT = 0.0005;

    CapsNet() {
        super("capsnet", "capsule layers with dynamic routing, margin loss, reconstruction", "MNIST sample: 8,000 training / 2,000 held-out digits",
                "held-out accuracy >= 98.5%");
    }

    /** The network: {@link #forward} gives the ten capsule lengths, {@link #digitCapsules} the capsules themselves. */
    static final class Network extends Module {
        private final Conv2d features;
        private final Conv2d primary;
        private final CapsuleLayer digits;
        private final Sequential decoder;

        Network() {
            features = registerModule("conv1", new Conv2d(1, 32, 9));
            primary = registerModule("primary", new Conv2d(32, TYPES * PRIMARY_DIM, 9, 2, 0));
            digits = registerModule("digits", new CapsuleLayer(TYPES * GRID * GRID, PRIMARY_DIM, 10, DIGIT_DIM, 3));
            decoder = registerModule("decoder", new Sequential(new Linear(10 * DIGIT_DIM, 512), Activation.relu(), new Linear(512, 1024), Activation.relu(),
                    new Linear(1024, 784), Activation.sigmoid()));
        }

        /** (B, 1, 28, 28) to the digit capsules (B, 10, 16). */
        Tensor digitCapsules(Tensor x) {
            int b = x.size(0);
            try (Scope s = Scope.open()) {
                Tensor grid = primary.forward(features.forward(x).relu());
                // (B, types * dim, 6, 6): channel t * dim + d is component d of the type-t capsule at each grid point.
                Tensor capsules = grid.reshape(b, TYPES, PRIMARY_DIM, GRID, GRID).permute(0, 1, 3, 4, 2).reshape(b, TYPES * GRID * GRID, PRIMARY_DIM);
                return s.keep(digits.forward(CapsuleLayer.squash(capsules)));
            }
        }

        @Override
        public Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                return s.keep(lengths(digitCapsules(x)));
            }
        }

        /** The reconstruction (B, 784) from the capsules of {@code classes}, the others masked out. */
        Tensor reconstruct(Tensor capsules, Tensor classes) {
            try (Scope s = Scope.open()) {
                Tensor mask = classes.oneHot(10).to(capsules.dtype()).unsqueeze(2);
                return s.keep(decoder.forward(capsules.mul(mask).flatten(1, 2)));
            }
        }
    }

    /** Capsule lengths, with a small floor inside the root so that the gradient at a zero capsule is finite. */
    private static Tensor lengths(Tensor capsules) { return capsules.square().sum(new int[] {2}, false).add(1e-9).sqrt(); }

    /** Sabour et al.'s margin loss, summed over classes and averaged over the batch. */
    private static Tensor marginLoss(Tensor lengths, Tensor classes) {
        try (Scope s = Scope.open()) {
            Tensor present = classes.oneHot(10).to(lengths.dtype());
            Tensor missed = lengths.rsub(0.9).relu().square(), spurious = lengths.sub(0.1).relu().square();
            Tensor perClass = present.mul(missed).add(present.rsub(1).mul(spurious).mul(0.5));
            return s.keep(perClass.sum(new int[] {1}, false).mean());
        }
    }

    @Override
    public ZooResult train(ZooOptions options) throws IOException {
        ArrayDataset all = Mnist.sample();
        Dataset train = new RandomShift(all.subset(0, options.pick(8000, 320)), 2, options.seed());
        int epochs = options.pick(10, 2);
        Kiln.manualSeed(options.seed());
        try (Network model = new Network()) {
            DataLoader loader = new DataLoader(train, options.pick(64, 32)).shuffle(options.seed()).dropLast(true);
            Adam optimizer = new Adam(model.parameters(), 2e-3);
            LRScheduler scheduler = new LRScheduler(optimizer, LrSchedule.oneCycle((long) loader.batchCount() * epochs, 0.25, 10, 100));
            options.say("%s: %,d parameters, %d training digits, %d epochs of %d steps on %s", name(), model.parameterCount(), train.size(), epochs,
                    loader.batchCount(), Kiln.defaultDevice());
            Training.LossLog losses = new Training.LossLog();
            double accuracy = 0;
            for (int epoch = 0; epoch < epochs; epoch++) {
                int from = losses.steps();
                for (Batch batch : loader.epoch(epoch)) {
                    try (batch) {
                        losses.add(Training.step(optimizer, 0, () -> loss(model, batch)));
                    }
                    scheduler.step();
                }
                accuracy = heldOutAccuracy(model, all, options);
                options.say("epoch %d/%d: mean loss %.4f, held-out accuracy %.2f%%", epoch + 1, epochs, losses.meanSince(from), 100 * accuracy);
            }
            optimizer.close();
            losses.write(options);
            Training.saveCheckpoint(this, model, options, Map.of("held_out_accuracy", Double.toString(accuracy)));
            return new ZooResult("held_out_accuracy", accuracy, 0.985, false, losses.first(), losses.last(), Map.of());
        }
    }

    /** Margin loss plus the weighted squared error of the reconstruction from the true class's capsule, against the digit's pixels in [0, 1]. */
    private static Tensor loss(Network model, Batch batch) {
        try (Scope s = Scope.open()) {
            Tensor x = batch.inputs(), classes = batch.targets();
            Tensor capsules = model.digitCapsules(x);
            Tensor pixels = x.mul(Mnist.STD).add(Mnist.MEAN).clamp(0, 1).reshape(x.size(0), 784);
            Tensor squaredError = model.reconstruct(capsules, classes).sub(pixels).square().sum(new int[] {1}, false).mean();
            return s.keep(marginLoss(lengths(capsules), classes).add(squaredError.mul(RECONSTRUCTION_WEIGHT)));
        }
    }

    @Override
    public ZooResult evaluate(Path checkpoint, ZooOptions options) throws IOException {
        try (Network model = new Network()) {
            Training.loadCheckpoint(this, model, checkpoint);
            return new ZooResult("held_out_accuracy", heldOutAccuracy(model, Mnist.sample(), options), 0.985, false, Double.NaN, Double.NaN, Map.of());
        }
    }

    private static double heldOutAccuracy(Network model, ArrayDataset all, ZooOptions options) {
        return Metrics.accuracy(model, new DataLoader(all.subset(all.size() - options.pick(2000, 250), all.size()), 250).prefetch(0).epoch(0));
    }
}
