package dev.kiln.examples;

import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.Activation;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.Sequential;
import dev.kiln.nn.data.ArrayDataset;
import dev.kiln.nn.data.Batch;
import dev.kiln.nn.data.DataLoader;
import dev.kiln.nn.io.Checkpoint;
import dev.kiln.nn.loss.Loss;
import dev.kiln.nn.metrics.Metrics;
import dev.kiln.nn.optim.Adam;
import dev.kiln.nn.optim.Optimizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A complete Kiln program to copy: an MLP learns to tell three interleaved spirals apart, is saved to a
 * checkpoint, and is loaded back into a fresh model that must predict exactly what the trained one does.
 *
 * <p>In this repository {@code mvn -q test -pl examples -am} builds and runs it (SpiralClassifierTest); in a
 * project of your own, run {@link #main} with the JVM flags of the README's "Use Kiln in your project" section.
 */
public final class SpiralClassifier {
    static final int CLASSES = 3;
    static final int POINTS_PER_CLASS = 200;
    static final int EPOCHS = 60;

    /**
     * What one run measured, so that a test can check it.
     *
     * @param trainAccuracy the trained model's accuracy on the training points
     * @param firstLoss the mean loss of the first epoch
     * @param lastLoss the mean loss of the last epoch
     * @param checkpointRoundTripExact whether the model loaded from the checkpoint gives bit-identical logits
     */
    public record Result(double trainAccuracy, double firstLoss, double lastLoss, boolean checkpointRoundTripExact) {}

    private SpiralClassifier() {}

    /**
     * Trains, saves, reloads and compares, printing progress.
     *
     * @param args optional: the directory to write the checkpoint to (default: a temporary one)
     * @throws IOException if the checkpoint cannot be written or read
     */
    public static void main(String[] args) throws IOException {
        Path dir = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("kiln-example");
        Result r = run(dir.resolve("spirals.safetensors"));
        System.out.printf("accuracy %.3f, loss %.4f -> %.4f, checkpoint round trip %s%n",
                r.trainAccuracy(), r.firstLoss(), r.lastLoss(), r.checkpointRoundTripExact() ? "exact" : "DIFFERS");
    }

    /**
     * The whole example; {@code checkpoint} is the file the trained model is saved to.
     *
     * @param checkpoint where to write the checkpoint
     * @return accuracy, losses and whether the reloaded model predicts bit-identically
     * @throws IOException if the checkpoint cannot be written or read
     */
    public static Result run(Path checkpoint) throws IOException {
        Kiln.manualSeed(42);
        System.out.println("device: " + Kiln.defaultDevice());
        float[] points = new float[CLASSES * POINTS_PER_CLASS * 2];
        int[] labels = new int[CLASSES * POINTS_PER_CLASS];
        spirals(points, labels, new SplittableRandom(7));
        DataLoader loader = new DataLoader(new ArrayDataset(points, new int[] {2}, labels), 32).shuffle(1);

        Module model = mlp();
        Optimizer optimizer = new Adam(model.parameters(), 0.01);
        Loss criterion = Loss.crossEntropy();
        double firstLoss = Double.NaN, lastLoss = Double.NaN;
        for (int epoch = 0; epoch < EPOCHS; epoch++) {
            double sum = 0;
            for (Batch b : loader.epoch(epoch)) {
                // One scope per step closes every tensor the step made; parameters and optimizer state outlive it.
                try (Scope step = Scope.open(); b) {
                    Tensor loss = criterion.forward(model.forward(b.inputs()), b.targets());
                    optimizer.zeroGrad();
                    loss.backward();
                    optimizer.step();
                    sum += loss.item() * b.size();
                }
            }
            double epochLoss = sum / labels.length;
            if (epoch == 0) firstLoss = epochLoss;
            lastLoss = epochLoss;
            if (epoch % 10 == 0 || epoch == EPOCHS - 1) System.out.printf("epoch %2d  loss %.4f%n", epoch, epochLoss);
        }

        Checkpoint.save(checkpoint, model, optimizer, null, Map.of("epochs", Integer.toString(EPOCHS)));
        Module restored = mlp();
        Checkpoint.load(checkpoint, restored, null, null);

        model.eval();
        restored.eval();
        try (Scope s = Scope.open(); GradMode g = GradMode.noGrad()) {
            Tensor all = Tensor.of(points, labels.length, 2);
            Tensor logits = model.forward(all);
            double accuracy = Metrics.accuracy(logits, Tensor.of(Arrays.stream(labels).asLongStream().toArray()));
            boolean exact = Arrays.equals(logits.toFloatArray(), restored.forward(all).toFloatArray());
            return new Result(accuracy, firstLoss, lastLoss, exact);
        } finally {
            model.close();
            restored.close();
            optimizer.close();
        }
    }

    private static Module mlp() {
        return new Sequential(new Linear(2, 64), Activation.relu(), new Linear(64, 64), Activation.relu(), new Linear(64, CLASSES));
    }

    /** Three arms winding out from the origin, one per class, with a little noise. */
    private static void spirals(float[] points, int[] labels, SplittableRandom random) {
        for (int c = 0; c < CLASSES; c++) {
            for (int i = 0; i < POINTS_PER_CLASS; i++) {
                int n = c * POINTS_PER_CLASS + i;
                double radius = (double) i / POINTS_PER_CLASS;
                double angle = c * 2 * Math.PI / CLASSES + radius * 4 + random.nextGaussian() * 0.2;
                points[2 * n] = (float) (radius * Math.sin(angle));
                points[2 * n + 1] = (float) (radius * Math.cos(angle));
                labels[n] = c;
            }
        }
    }
}
