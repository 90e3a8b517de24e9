package dev.kiln.nn.determinism;

import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.Sequential;
import dev.kiln.nn.TransformerEncoderLayer;
import dev.kiln.nn.TransformerOptions;
import dev.kiln.nn.data.ArrayDataset;
import dev.kiln.nn.data.Batch;
import dev.kiln.nn.data.DataLoader;
import dev.kiln.nn.io.Checkpoint;
import dev.kiln.nn.loss.Loss;
import dev.kiln.nn.optim.AdamW;
import dev.kiln.nn.optim.Optimizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A seeded training run of a small Transformer classifier (attention, layer norm, dropout, AdamW, a shuffling
 * loader), run as its own JVM by {@link DeterminismTest}. It prints one line: the bits of every step's loss and of
 * every parameter, hashed, so two processes agree only if they computed the same floats throughout.
 *
 * <p>Arguments: {@code steps [checkpoint-path stop-step | --resume checkpoint-path]}.
 */
public final class TrainingRun {
    static final int LENGTH = 6, WIDTH = 16, CLASSES = 3, EXAMPLES = 96, BATCH = 12;

    private TrainingRun() {}

    public static void main(String[] args) throws IOException {
        int steps = Integer.parseInt(args[0]);
        boolean resume = args.length == 3 && args[1].equals("--resume");
        Path checkpoint = args.length == 3 ? Path.of(resume ? args[2] : args[1]) : null;
        int stopAt = args.length == 3 && !resume ? Integer.parseInt(args[2]) : -1;

        Kiln.manualSeed(42);
        Module model = new Sequential(
                new TransformerEncoderLayer(WIDTH, 4, TransformerOptions.defaults().withDimFeedforward(32).withDropout(0.1).withBatchFirst(true)),
                new MeanOverSequence(),
                new Linear(WIDTH, CLASSES));
        Optimizer optimizer = new AdamW(model.parameters(), 3e-3);
        DataLoader loader = new DataLoader(data(), BATCH).shuffle(7).dropLast(true);
        int step = 0;
        long hash = 17;
        if (resume) {
            Map<String, String> meta = Checkpoint.load(checkpoint, model, optimizer, null);
            step = Integer.parseInt(meta.get("step"));
            hash = Long.parseLong(meta.get("hash"));
        }
        Loss ce = Loss.crossEntropy();
        int perEpoch = loader.batchCount();
        while (step < steps) {
            Iterator<Batch> batches = loader.epoch(step / perEpoch, step % perEpoch).iterator();
            while (batches.hasNext() && step < steps) {
                if (step == stopAt) {
                    Checkpoint.save(checkpoint, model, optimizer, null, Map.of("step", Integer.toString(step), "hash", Long.toString(hash)));
                    System.out.println("stopped " + step);
                    return;
                }
                try (Scope s = Scope.open(); Batch b = batches.next()) {
                    Tensor loss = ce.forward(model.forward(b.inputs()), b.targets());
                    optimizer.zeroGrad();
                    loss.backward();
                    optimizer.step();
                    hash = hash * 31 + Double.doubleToLongBits(loss.item());
                }
                step++;
            }
        }
        for (Tensor p : model.parameters())
            for (float v : p.toFloatArray()) hash = hash * 31 + Float.floatToIntBits(v);
        System.out.println("result " + Long.toHexString(hash));
    }

    /** Sequences whose class is the sign pattern of two features' sums, plus noise. */
    private static ArrayDataset data() {
        SplittableRandom r = new SplittableRandom(3);
        float[] x = new float[EXAMPLES * LENGTH * WIDTH];
        int[] y = new int[EXAMPLES];
        for (int i = 0; i < EXAMPLES; i++) {
            double a = 0, b = 0;
            for (int t = 0; t < LENGTH; t++)
                for (int f = 0; f < WIDTH; f++) {
                    float v = (float) r.nextDouble(-1, 1);
                    x[(i * LENGTH + t) * WIDTH + f] = v;
                    if (f == 0) a += v;
                    if (f == 1) b += v;
                }
            y[i] = a > 0 ? (b > 0 ? 2 : 1) : 0;
        }
        return new ArrayDataset(x, new int[] {LENGTH, WIDTH}, y);
    }

    /** (B, L, E) to (B, E). */
    private static final class MeanOverSequence extends Module {
        @Override
        public Tensor forward(Tensor x) { return x.mean(1); }
    }
}
