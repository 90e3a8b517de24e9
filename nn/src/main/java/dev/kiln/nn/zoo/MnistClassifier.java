package dev.kiln.nn.zoo;

import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.nn.Module;
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
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * A digit classifier on the bundled MNIST sample: the first 8,000 digits for training (shifted at random by up
 * to 2 pixels), the last 2,000 held out; Adam with a one-cycle schedule, cross-entropy unless the model brings a
 * loss of its own; the predicted class is the largest of the model's ten outputs. Quick mode trains two passes
 * over 320 digits in batches of 32 and holds out the last 250.
 */
final class MnistClassifier extends ZooModel {
    private final Supplier<Module> architecture;
    private final int epochs;
    private final double lr;
    private final double targetAccuracy;
    private final BiFunction<Module, Batch, Tensor> loss;

    /** With cross-entropy on the model's outputs. */
    MnistClassifier(String name, String shows, String target, double targetAccuracy, Supplier<Module> architecture, int epochs, double lr) {
        this(name, shows, target, targetAccuracy, architecture, epochs, lr, (model, batch) -> Functional.crossEntropy(model.forward(batch.inputs()), batch.targets()));
    }

    /** With the training loss of a batch given by {@code loss}. */
    MnistClassifier(String name, String shows, String target, double targetAccuracy, Supplier<Module> architecture, int epochs, double lr,
                    BiFunction<Module, Batch, Tensor> loss) {
        super(name, shows, "MNIST sample: 8,000 training / 2,000 held-out digits", target);
        this.architecture = architecture;
        this.epochs = epochs;
        this.lr = lr;
        this.targetAccuracy = targetAccuracy;
        this.loss = loss;
    }

    @Override
    public ZooResult train(ZooOptions options) throws IOException {
        ArrayDataset all = Mnist.sample();
        Dataset train = new RandomShift(all.subset(0, options.pick(8000, 320)), 2, options.seed());
        int epochs = options.pick(this.epochs, 2);
        Kiln.manualSeed(options.seed());
        try (Module model = architecture.get()) {
            DataLoader loader = new DataLoader(train, options.pick(64, 32)).shuffle(options.seed()).dropLast(true);
            Adam optimizer = new Adam(model.parameters(), lr);
            LRScheduler scheduler = new LRScheduler(optimizer, LrSchedule.oneCycle((long) loader.batchCount() * epochs, 0.25, 10, 100));
            options.say("%s: %,d parameters, %d training digits, %d epochs of %d steps on %s", name(), model.parameterCount(), train.size(), epochs,
                    loader.batchCount(), Kiln.defaultDevice());
            Training.LossLog losses = new Training.LossLog();
            double accuracy = 0;
            for (int epoch = 0; epoch < epochs; epoch++) {
                int from = losses.steps();
                for (Batch batch : loader.epoch(epoch)) {
                    try (batch) {
                        losses.add(Training.step(optimizer, 0, () -> loss.apply(model, batch)));
                    }
                    scheduler.step();
                }
                accuracy = heldOutAccuracy(model, all, options);
                options.say("epoch %d/%d: mean loss %.4f, held-out accuracy %.2f%%", epoch + 1, epochs, losses.meanSince(from), 100 * accuracy);
            }
            optimizer.close();
            losses.write(options);
            Training.saveCheckpoint(this, model, options, Map.of("held_out_accuracy", Double.toString(accuracy)));
            return result(accuracy, losses.first(), losses.last());
        }
    }

    @Override
    public ZooResult evaluate(Path checkpoint, ZooOptions options) throws IOException {
        try (Module model = architecture.get()) {
            Training.loadCheckpoint(this, model, checkpoint);
            return result(heldOutAccuracy(model, Mnist.sample(), options), Double.NaN, Double.NaN);
        }
    }

    private static double heldOutAccuracy(Module model, ArrayDataset all, ZooOptions options) {
        return Metrics.accuracy(model, new DataLoader(all.subset(all.size() - options.pick(2000, 250), all.size()), 500).prefetch(0).epoch(0));
    }

    private ZooResult result(double accuracy, double firstLoss, double lastLoss) {
        return new ZooResult("held_out_accuracy", accuracy, targetAccuracy, false, firstLoss, lastLoss, Map.of());
    }
}
