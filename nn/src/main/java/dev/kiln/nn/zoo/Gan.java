package dev.kiln.nn.zoo;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.Activation;
import dev.kiln.nn.BatchNorm2d;
import dev.kiln.nn.Conv2d;
import dev.kiln.nn.ConvTranspose2d;
import dev.kiln.nn.Flatten;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.Sequential;
import dev.kiln.nn.data.DataLoader;
import dev.kiln.nn.data.Mnist;
import dev.kiln.nn.data.Batch;
import dev.kiln.nn.io.ImageGrid;
import dev.kiln.nn.models.MnistNets;
import dev.kiln.nn.optim.Adam;
import dev.kiln.random.Generator;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A DCGAN (Radford, Metz and Chintala 2016) on the MNIST sample, at DCGAN's widths for this resolution: the generator
 * maps 64 Gaussian latents through a linear layer to 128 x 7 x 7, then two transposed convolutions (64 channels at
 * 14 x 14) with batch norm and ReLU to a 28 x 28 digit in [-1, 1] (tanh); the discriminator mirrors it with strided convolutions, batch norm and
 * leaky ReLU. Both train with Adam (2e-4, betas 0.5 / 0.999) on the non-saturating loss, one discriminator step per
 * generator step. The judge is a LeNet-5 trained separately, to convergence, on the same 8,000 training digits: the metric is the
 * fraction of 1,000 samples (fixed latents) it labels with confidence above 0.9, counted as 0 unless all ten digits
 * are among those labels. The training loss followed is the discriminator's. Training writes {@code samples.png}.
 */
final class Gan extends ZooModel {
    private static final int LATENT = 64;
    /** The narrower feature maps' channels (twice this in the wider ones): DCGAN's 64 and 128 at this resolution. */
    private static final int WIDTH = 64;
    private static final double CONFIDENCE = 0.9;
    private static final long SAMPLE_SEED = 9_001;
    private static final int PICTURED = 100;

    Gan() {
        super("gan", "adversarial training of a generator and a discriminator (DCGAN)", "MNIST sample: 8,000 training digits",
                ">= 90% of 1,000 samples labelled with confidence > 0.9 by a separately trained classifier, covering all 10 digits");
    }

    /** Latents (B, 64) to digits (B, 1, 28, 28) in [-1, 1]. */
    static final class DigitGenerator extends Module {
        private final Linear project;
        private final Sequential upsample;

        DigitGenerator() {
            project = registerModule("project", new Linear(LATENT, WIDTH * 2 * 7 * 7, false));
            upsample = registerModule("upsample", new Sequential(
                    new BatchNorm2d(WIDTH * 2), Activation.relu(),
                    new ConvTranspose2d(WIDTH * 2, WIDTH, 4, 2, 1, 0, 1, false, 1), new BatchNorm2d(WIDTH), Activation.relu(),
                    new ConvTranspose2d(WIDTH, 1, 4, 2, 1), Activation.tanh()));
        }

        @Override
        public Tensor forward(Tensor z) {
            try (Scope s = Scope.open()) {
                return s.keep(upsample.forward(project.forward(z).reshape(z.size(0), WIDTH * 2, 7, 7)));
            }
        }
    }

    /** The three networks in one module, so one checkpoint holds the generator with its judge. */
    static final class Parts extends Module {
        final DigitGenerator generator;
        final Sequential discriminator;
        final Sequential judge;

        Parts() {
            generator = registerModule("generator", new DigitGenerator());
            discriminator = registerModule("discriminator", new Sequential(
                    new Conv2d(1, WIDTH, 4, 2, 1), Activation.leakyRelu(0.2),
                    new Conv2d(WIDTH, WIDTH * 2, 4, 2, 1, 1, 1, false), new BatchNorm2d(WIDTH * 2), Activation.leakyRelu(0.2),
                    new Flatten(), new Linear(WIDTH * 2 * 7 * 7, 1)));
            judge = registerModule("judge", MnistNets.lenet5());
        }
    }

    @Override
    public ZooResult train(ZooOptions options) throws IOException {
        int n = options.pick(8000, 320), batch = options.pick(64, 32), epochs = options.pick(40, 2), steps = n / batch;
        float[] digits = DenoisingAutoencoder.digits(0, n);
        Kiln.manualSeed(options.seed());
        try (Parts parts = new Parts()) {
            trainJudge(parts.judge, n, options);
            Adam g = new Adam(parts.generator.parameters(), 2e-4).betas(0.5, 0.999);
            Adam d = new Adam(parts.discriminator.parameters(), 2e-4).betas(0.5, 0.999);
            options.say("%s: generator %,d and discriminator %,d parameters, %d digits, %d epochs of %d steps on %s", name(),
                    parts.generator.parameterCount(), parts.discriminator.parameterCount(), n, epochs, steps, Kiln.defaultDevice());
            SplittableRandom shuffle = new SplittableRandom(options.seed());
            Training.LossLog discriminatorLosses = new Training.LossLog(), generatorLosses = new Training.LossLog();
            for (int epoch = 0; epoch < epochs; epoch++) {
                int from = discriminatorLosses.steps();
                int[] order = DenoisingAutoencoder.permutation(n, shuffle);
                for (int b = 0; b < steps; b++) {
                    float[] x = new float[batch * 784];
                    for (int i = 0; i < batch; i++) System.arraycopy(digits, order[b * batch + i] * 784, x, i * 784, 784);
                    try (Scope s = Scope.open()) {
                        Tensor real = Tensor.of(x, batch, 1, 28, 28).mul(2).sub(1);
                        Tensor fake = parts.generator.forward(Tensor.randn(batch, LATENT));
                        discriminatorLosses.add(Training.step(d, 0, () -> realOrFake(parts.discriminator.forward(real), 1)
                                .add(realOrFake(parts.discriminator.forward(fake.detach()), 0))));
                        generatorLosses.add(Training.step(g, 0, () -> realOrFake(parts.discriminator.forward(fake), 1)));
                    }
                }
                options.say("epoch %d/%d: discriminator loss %.4f, generator loss %.4f", epoch + 1, epochs, discriminatorLosses.meanSince(from),
                        generatorLosses.meanSince(from));
            }
            g.close();
            d.close();
            discriminatorLosses.write(options);
            ZooResult result = measure(parts, options, discriminatorLosses.first(), discriminatorLosses.last());
            Training.saveCheckpoint(this, parts, options, Map.of("confident_fraction", Double.toString(result.value())));
            Path png = options.out().resolve("samples.png");
            try (GradMode ng = GradMode.noGrad(); Scope s = Scope.open()) {
                parts.generator.eval();
                ImageGrid.write(png, pixels(parts.generator.forward(latents(PICTURED))), 10, 2);
            }
            options.say("wrote %s", png);
            return result;
        }
    }

    @Override
    public ZooResult evaluate(Path checkpoint, ZooOptions options) throws IOException {
        try (Parts parts = new Parts()) {
            Training.loadCheckpoint(this, parts, checkpoint);
            return measure(parts, options, Double.NaN, Double.NaN);
        }
    }

    /** Binary cross-entropy of the discriminator's logits against all-real (1) or all-fake (0) labels. */
    private static Tensor realOrFake(Tensor logits, double label) {
        try (Tensor target = Tensor.fullLike(logits, label)) {
            return Functional.binaryCrossEntropyWithLogits(logits, target);
        }
    }

    /**
     * LeNet-5 on the training digits (standardised, as the sample comes), trained to convergence: Adam from 1e-3 on a
     * cosine schedule over 15 epochs (1 in quick mode). A judge trained for only 4 epochs labelled just 91% of the
     * real held-out digits with confidence above 0.9, so even real data would have missed the target.
     */
    private static void trainJudge(Module judge, int n, ZooOptions options) throws IOException {
        DataLoader loader = new DataLoader(Mnist.sample().subset(0, n), 64).shuffle(options.seed()).dropLast(true);
        Adam optimizer = new Adam(judge.parameters(), 1e-3);
        int epochs = options.pick(15, 1);
        for (int epoch = 0; epoch < epochs; epoch++) {
            optimizer.setLr(1e-3 * 0.5 * (1 + Math.cos(Math.PI * epoch / epochs)));
            for (Batch batch : loader.epoch(epoch))
                try (batch) {
                    Training.step(optimizer, 0, () -> Functional.crossEntropy(judge.forward(batch.inputs()), batch.targets()));
                }
        }
        optimizer.close();
        judge.eval();
    }

    /** Generated digits in [-1, 1] to pixels in [0, 1]. */
    private static Tensor pixels(Tensor generated) { return generated.add(1).div(2); }

    /** The fixed latents of the evaluation and the picture. */
    private static Tensor latents(int count) { return Tensor.randn(new Generator(SAMPLE_SEED), DType.FLOAT32, null, count, LATENT); }

    /** The judge's labels of the generator's samples: the confident fraction, and which digits they cover. */
    private static ZooResult measure(Parts parts, ZooOptions options, double firstLoss, double lastLoss) {
        int count = options.pick(1000, 100);
        parts.generator.eval();
        parts.judge.eval();
        double confident = 0;
        int[] perDigit = new int[10];
        try (GradMode ng = GradMode.noGrad(); Scope s = Scope.open()) {
            Tensor standardised = pixels(parts.generator.forward(latents(count))).sub(Mnist.MEAN).div(Mnist.STD);
            Tensor.ValuesIndices best = parts.judge.forward(standardised).softmax(1).max(1, false);
            double[] probability = best.values().toDoubleArray();
            long[] label = best.indices().toLongArray();
            for (int i = 0; i < count; i++)
                if (probability[i] > CONFIDENCE) {
                    confident++;
                    perDigit[(int) label[i]]++;
                }
        }
        int digits = (int) java.util.Arrays.stream(perDigit).filter(c -> c > 0).count();
        double fraction = confident / count, real = realConfidentFraction(parts.judge, options);
        options.say("%.1f%% of %d samples labelled with confidence > %.1f, covering %d of 10 digits (per digit %s; real held-out digits: %.1f%%)",
                100 * fraction, count, CONFIDENCE, digits, java.util.Arrays.toString(perDigit), 100 * real);
        return new ZooResult("confident_fraction", digits == 10 ? fraction : 0, 0.9, false, firstLoss, lastLoss,
                Map.of("confident_fraction_any_digits", fraction, "digits_covered", (double) digits, "judge_real_confident_fraction", real));
    }

    /** The judge's own ceiling: the fraction of real held-out digits (the sample's last 2,000) it labels with confidence > 0.9. */
    private static double realConfidentFraction(Module judge, ZooOptions options) {
        int from = 8000, to = options.pick(10_000, 8200);
        try (GradMode ng = GradMode.noGrad(); Scope s = Scope.open()) {
            Tensor inputs = new DataLoader(Mnist.sample().subset(from, to), to - from).epoch(0).iterator().next().inputs();
            double[] probability = judge.forward(inputs).softmax(1).max(1, false).values().toDoubleArray();
            return java.util.Arrays.stream(probability).filter(p -> p > CONFIDENCE).count() / (double) (to - from);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
