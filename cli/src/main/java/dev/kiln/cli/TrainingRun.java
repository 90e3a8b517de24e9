package dev.kiln.cli;

import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.Module;
import dev.kiln.nn.data.ArrayDataset;
import dev.kiln.nn.data.Batch;
import dev.kiln.nn.data.DataLoader;
import dev.kiln.nn.data.Dataset;
import dev.kiln.nn.data.Mnist;
import dev.kiln.nn.data.RandomShift;
import dev.kiln.nn.io.Checkpoint;
import dev.kiln.nn.loss.Loss;
import dev.kiln.nn.metrics.Metrics;
import dev.kiln.nn.models.MnistNets;
import dev.kiln.nn.optim.Adam;
import dev.kiln.nn.optim.LRScheduler;
import dev.kiln.nn.optim.LrSchedule;
import dev.kiln.nn.optim.Optimizer;
import dev.kiln.nn.zoo.Zoo;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * One training run on the bundled MNIST sample: Adam with a one-cycle schedule, one {@link Scope} per step,
 * held-out accuracy after each epoch, then a checkpoint, a CSV log and a loss-curve PNG in the output folder.
 */
final class TrainingRun {
    static final Map<String, Supplier<Module>> MODELS = Map.of("mnist-cnn", MnistNets::cnn, "mnist-lenet", MnistNets::lenet, "mnist-mlp", MnistNets::mlp);

    /** Model names for picocli's help: the MNIST models this class trains, then the zoo's. */
    static final class ModelNames implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            List<String> names = new ArrayList<>(new java.util.TreeSet<>(MODELS.keySet()));
            names.addAll(Zoo.names());
            return names.iterator();
        }
    }

    /** The one-cycle schedule (warm-up over a quarter of the steps, PyTorch-style, from step 0) needs a warm-up past its first step. */
    private static final int MIN_STEPS = 5;

    record Config(String model, int epochs, int batchSize, double lr, long seed, Path out, int trainSize, int testSize, int shift, boolean progress) {}

    record Result(String metric, double value) {}

    private final Config config;
    private final PrintWriter out;
    TrainingRun(Config config, PrintWriter out) {
        this.config = config;
        this.out = out;
    }

    Result run() throws IOException {
        Supplier<Module> factory = MODELS.get(config.model());
        if (factory == null) throw new IllegalArgumentException("unknown model '" + config.model() + "'; choose one of " + String.join(", ", new ModelNames()));
        ArrayDataset all = Mnist.sample();
        if (config.trainSize() <= 0 || config.testSize() <= 0 || config.trainSize() + config.testSize() > all.size())
            throw new IllegalArgumentException("--train-size and --test-size must be positive and together at most " + all.size());
        Dataset train = new RandomShift(all.subset(0, config.trainSize()), config.shift(), config.seed());
        Dataset heldOut = all.subset(all.size() - config.testSize(), all.size());
        if (config.batchSize() > config.trainSize())
            throw new IllegalArgumentException("--batch-size " + config.batchSize() + " is larger than the " + config.trainSize()
                    + " training digits (--train-size): no full batch to train on");
        Files.createDirectories(config.out());

        Kiln.manualSeed(config.seed());
        Module model = factory.get();
        DataLoader loader = new DataLoader(train, config.batchSize()).shuffle(config.seed()).dropLast(true);
        DataLoader evalLoader = new DataLoader(heldOut, 500);
        Optimizer optimizer = new Adam(model.parameters(), config.lr());
        long totalSteps = (long) loader.batchCount() * config.epochs();
        if (totalSteps < MIN_STEPS)
            throw new IllegalArgumentException("--epochs " + config.epochs() + " of " + loader.batchCount() + " batches (--batch-size " + config.batchSize()
                    + " over " + config.trainSize() + " training digits) is " + totalSteps + " steps; the one-cycle schedule needs at least " + MIN_STEPS);
        LRScheduler scheduler = new LRScheduler(optimizer, LrSchedule.oneCycle(totalSteps, 0.25, 10, 100));
        Loss criterion = Loss.crossEntropy();
        out.printf(Locale.ROOT, "training %s (%,d parameters) on %s: %d training / %d held-out digits, %d epochs of %d steps%n",
                config.model(), model.parameterCount(), Kiln.defaultDevice(), train.size(), heldOut.size(), config.epochs(), loader.batchCount());
        out.flush();

        List<double[]> stepLosses = new ArrayList<>();
        double accuracy = 0;
        try (PrintWriter csv = new PrintWriter(Files.newBufferedWriter(config.out().resolve("log.csv")))) {
            csv.println("step,epoch,loss,lr,held_out_accuracy");
            long step = 0;
            for (int epoch = 0; epoch < config.epochs(); epoch++) {
                model.train();
                try (ProgressBar bar = progressBar(epoch)) {
                    for (Batch batch : loader.epoch(epoch)) {
                        double lr = optimizer.lr();
                        double loss;
                        try (Scope s = Scope.open(); batch) {
                            Tensor logits = model.forward(batch.inputs());
                            Tensor l = criterion.forward(logits, batch.targets());
                            optimizer.zeroGrad();
                            l.backward();
                            try (GradMode ng = GradMode.noGrad()) {
                                optimizer.step();
                            }
                            loss = l.item();
                        }
                        if (!Double.isFinite(loss))
                            throw new IllegalStateException("training diverged: the loss is " + loss + " at step " + (step + 1) + " (epoch " + (epoch + 1)
                                    + ", learning rate " + lr + "); no checkpoint written. Try a lower --lr");
                        scheduler.step();
                        step++;
                        stepLosses.add(new double[] {step, loss});
                        csv.printf(Locale.ROOT, "%d,%d,%.6f,%.6g,%n", step, epoch + 1, loss, lr);
                        if (bar != null) {
                            bar.step();
                            bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f", loss));
                        }
                    }
                }
                accuracy = evaluate(model, evalLoader);
                csv.printf(Locale.ROOT, "%d,%d,,,%.6f%n", step, epoch + 1, accuracy);
                csv.flush();
                out.printf(Locale.ROOT, "epoch %d/%d: mean loss %.4f, held-out accuracy %.2f%%%n", epoch + 1, config.epochs(),
                        meanOfLast(stepLosses, loader.batchCount()), 100 * accuracy);
                out.flush();
                Checkpoint.save(config.out().resolve("checkpoint.safetensors"), model, optimizer, scheduler,
                        Map.of("model", config.model(), "epoch", Integer.toString(epoch + 1), "held_out_accuracy", Double.toString(accuracy)));
            }
        }
        LossCurve.write(config.out().resolve("loss.png"), config.model() + " on " + Kiln.defaultDevice(), stepLosses);
        out.println("wrote " + config.out().resolve("checkpoint.safetensors") + ", log.csv and loss.png");
        optimizer.close();
        model.close();
        return new Result("held_out_accuracy", accuracy);
    }

    /** A progress bar per epoch on standard error, so standard output stays the run's record. */
    private ProgressBar progressBar(int epoch) {
        if (!config.progress()) return null;
        return new ProgressBarBuilder().setTaskName(String.format("epoch %d/%d", epoch + 1, config.epochs()))
                .setInitialMax((long) config.trainSize() / config.batchSize()).setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(500).continuousUpdate().setConsumer(new ConsoleProgressBarConsumer(System.err)).build();
    }

    private static double meanOfLast(List<double[]> losses, int n) {
        double sum = 0;
        int from = Math.max(0, losses.size() - n);
        for (int i = from; i < losses.size(); i++) sum += losses.get(i)[1];
        return sum / Math.max(1, losses.size() - from);
    }

    /** Fraction of held-out digits whose arg-max logit is the label. */
    static double evaluate(Module model, DataLoader loader) { return Metrics.accuracy(model, loader.epoch(0)); }
}
