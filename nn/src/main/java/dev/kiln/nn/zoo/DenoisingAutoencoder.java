package dev.kiln.nn.zoo;

import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.Activation;
import dev.kiln.nn.Conv2d;
import dev.kiln.nn.ConvTranspose2d;
import dev.kiln.nn.Module;
import dev.kiln.nn.Sequential;
import dev.kiln.nn.data.ArrayDataset;
import dev.kiln.nn.data.Mnist;
import dev.kiln.nn.io.ImageGrid;
import dev.kiln.nn.optim.Adam;
import dev.kiln.nn.optim.LRScheduler;
import dev.kiln.nn.optim.LrSchedule;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A convolutional denoising autoencoder on the MNIST sample: digits in [0, 1] with Gaussian noise of deviation
 * {@value #NOISE} added (clamped back to [0, 1]) go in, the clean digits are the target. The encoder halves the
 * resolution twice with strided convolutions (28 to 14 to 7, 16 and 32 channels), the decoder doubles it back
 * with transposed convolutions and ends in a sigmoid. The metric is how many times smaller the reconstruction's
 * mean squared error is than the noisy input's, on held-out digits with fixed noise; training also writes
 * {@code denoising.png}: ten held-out digits noisy, clean and reconstructed, one row each.
 */
final class DenoisingAutoencoder extends ZooModel {
    static final double NOISE = 0.5;
    private static final long EVAL_SEED = 7_001;
    private static final int PICTURED = 10;

    DenoisingAutoencoder() {
        super("denoising-autoencoder", "convolutional encoder-decoder, reconstruction of noisy digits",
                "MNIST sample with Gaussian noise (deviation 0.5): 8,000 training / 2,000 held-out digits",
                "reconstruction error >= 3x below the noisy input's");
    }

    static Sequential architecture() {
        return new Sequential(
                new Conv2d(1, 16, 3, 2, 1), Activation.relu(),
                new Conv2d(16, 32, 3, 2, 1), Activation.relu(),
                new ConvTranspose2d(32, 16, 3, 2, 1, 1, 1, true, 1), Activation.relu(),
                new ConvTranspose2d(16, 1, 3, 2, 1, 1, 1, true, 1), Activation.sigmoid());
    }

    @Override
    public ZooResult train(ZooOptions options) throws IOException {
        float[] train = digits(0, options.pick(8000, 320));
        float[][] heldOut = heldOut(options);
        int batch = options.pick(64, 32), epochs = options.pick(6, 2), n = train.length / 784, steps = n / batch;
        Kiln.manualSeed(options.seed());
        try (Sequential model = architecture()) {
            Adam optimizer = new Adam(model.parameters(), 2e-3);
            LRScheduler scheduler = new LRScheduler(optimizer, LrSchedule.cosine((long) steps * epochs, 1e-4));
            options.say("%s: %,d parameters, %d training digits, %d epochs of %d steps on %s", name(), model.parameterCount(), n, epochs, steps, Kiln.defaultDevice());
            SplittableRandom shuffle = new SplittableRandom(options.seed());
            Training.LossLog losses = new Training.LossLog();
            for (int epoch = 0; epoch < epochs; epoch++) {
                int from = losses.steps();
                int[] order = permutation(n, shuffle);
                for (int b = 0; b < steps; b++) {
                    float[] x = new float[batch * 784];
                    for (int i = 0; i < batch; i++) System.arraycopy(train, order[b * batch + i] * 784, x, i * 784, 784);
                    try (Scope s = Scope.open()) {
                        Tensor clean = Tensor.of(x, batch, 1, 28, 28);
                        Tensor noisy = clean.add(Tensor.randn(batch, 1, 28, 28).mul(NOISE)).clamp(0, 1);
                        losses.add(Training.step(optimizer, 0, () -> Functional.mseLoss(model.forward(noisy), clean)));
                    }
                    scheduler.step();
                }
                options.say("epoch %d/%d: mean loss %.5f", epoch + 1, epochs, losses.meanSince(from));
            }
            optimizer.close();
            losses.write(options);
            ZooResult result = measure(model, heldOut, losses.first(), losses.last());
            Training.saveCheckpoint(this, model, options, Map.of("error_ratio", Double.toString(result.value())));
            picture(model, heldOut, options.out().resolve("denoising.png"));
            options.say("wrote %s", options.out().resolve("denoising.png"));
            return result;
        }
    }

    @Override
    public ZooResult evaluate(Path checkpoint, ZooOptions options) throws IOException {
        try (Sequential model = architecture()) {
            Training.loadCheckpoint(this, model, checkpoint);
            return measure(model, heldOut(options), Double.NaN, Double.NaN);
        }
    }

    /** The ratio of the noisy input's error to the reconstruction's, both against the clean digits. */
    private static ZooResult measure(Module model, float[][] heldOut, double firstLoss, double lastLoss) {
        int n = heldOut[0].length / 784;
        double noisyError, reconstructionError;
        model.eval();
        try (GradMode ng = GradMode.noGrad(); Scope s = Scope.open()) {
            Tensor clean = Tensor.of(heldOut[0], n, 1, 28, 28), noisy = Tensor.of(heldOut[1], n, 1, 28, 28);
            noisyError = Functional.mseLoss(noisy, clean).item();
            reconstructionError = Functional.mseLoss(model.forward(noisy), clean).item();
        }
        model.train();
        return new ZooResult("error_ratio", noisyError / reconstructionError, 3.0, false, firstLoss, lastLoss,
                Map.of("noisy_mse", noisyError, "reconstruction_mse", reconstructionError));
    }

    private static void picture(Module model, float[][] heldOut, Path png) throws IOException {
        model.eval();
        try (GradMode ng = GradMode.noGrad(); Scope s = Scope.open()) {
            Tensor clean = Tensor.of(java.util.Arrays.copyOf(heldOut[0], PICTURED * 784), PICTURED, 1, 28, 28);
            Tensor noisy = Tensor.of(java.util.Arrays.copyOf(heldOut[1], PICTURED * 784), PICTURED, 1, 28, 28);
            ImageGrid.write(png, Tensor.cat(List.of(noisy, clean, model.forward(noisy)), 0), PICTURED, 3);
        }
        model.train();
    }

    /** Held-out clean digits (the end of the sample) and their noisy copies, with noise from a fixed seed. */
    private static float[][] heldOut(ZooOptions options) throws IOException {
        float[] clean = digits(10_000 - options.pick(2000, 250), 10_000);
        float[] noisy = new float[clean.length];
        SplittableRandom random = new SplittableRandom(EVAL_SEED);
        for (int i = 0; i < clean.length; i++) noisy[i] = (float) Math.clamp(clean[i] + NOISE * random.nextGaussian(), 0, 1);
        return new float[][] {clean, noisy};
    }

    /** Digits {@code [from, to)} of the sample as pixels in [0, 1] (undoing the sample's standardisation). */
    static float[] digits(int from, int to) throws IOException {
        ArrayDataset all = Mnist.sample();
        float[] x = new float[(to - from) * 784];
        for (int i = from; i < to; i++) {
            float[] d = all.get(i).input();
            for (int j = 0; j < 784; j++) x[(i - from) * 784 + j] = (float) Math.clamp(d[j] * Mnist.STD + Mnist.MEAN, 0, 1);
        }
        return x;
    }

    static int[] permutation(int n, SplittableRandom random) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1), t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
