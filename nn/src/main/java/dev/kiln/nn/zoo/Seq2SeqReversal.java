package dev.kiln.nn.zoo;

import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Reduction;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.models.Seq2SeqTransformer;
import dev.kiln.nn.optim.AdamW;
import dev.kiln.nn.optim.LRScheduler;
import dev.kiln.nn.optim.LrSchedule;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * {@code seq2seq-transformer}: an encoder-decoder Transformer ({@link Seq2SeqTransformer}) learns to reverse
 * strings of 5 to 20 digits, trained with teacher forcing and evaluated by greedy decoding. The held-out strings
 * are drawn once with a fixed seed and never appear in training (the training sampler skips them); the metric is
 * the fraction of held-out strings whose decoded output is exactly the reversed string followed by the end marker.
 */
final class Seq2SeqReversal extends ZooModel {
    static final int PAD = 0, BEGIN = 1, END = 2, FIRST_DIGIT = 3, MIN_LENGTH = 5, MAX_LENGTH = 20;
    private static final long HELD_OUT_SEED = 20_260_512;
    private static final Seq2SeqTransformer.Config ARCHITECTURE = new Seq2SeqTransformer.Config(FIRST_DIGIT + 10, MAX_LENGTH + 2, 64, 4, 2, 2, 256, 0.0, PAD);

    /** A recipe: batches of {@code batch} strings for {@code steps} steps, scored on {@code heldOut} strings. */
    private record Recipe(int batch, int steps, double lr, int warmup, int heldOut) {}

    private static final Recipe FULL = new Recipe(64, 800, 1e-3, 80, 1000);
    private static final Recipe QUICK = new Recipe(8, 12, 1e-3, 2, 16);

    Seq2SeqReversal() {
        super("seq2seq-transformer", "encoder-decoder Transformer with cross-attention, greedy decoding",
                "synthetic: strings of 5-20 digits to reverse; 1,000 held-out strings never seen in training", "exact match >= 99% on held-out strings");
    }

    @Override
    public ZooResult train(ZooOptions options) throws IOException {
        Recipe r = options.quick() ? QUICK : FULL;
        List<int[]> heldOut = heldOutStrings(r.heldOut());
        Set<String> excluded = new HashSet<>();
        for (int[] digits : heldOut) excluded.add(java.util.Arrays.toString(digits));
        Kiln.manualSeed(options.seed());
        try (Seq2SeqTransformer model = new Seq2SeqTransformer(ARCHITECTURE)) {
            AdamW optimizer = Training.adamW(model, r.lr(), 0.01, 0.98);
            LRScheduler scheduler = new LRScheduler(optimizer, LrSchedule.warmupCosine(r.warmup(), r.steps(), r.lr() / 10));
            options.say("%s: %,d parameters, %d steps of %d strings on %s", name(), model.parameterCount(), r.steps(), r.batch(), Kiln.defaultDevice());
            SplittableRandom random = new SplittableRandom(options.seed());
            Training.LossLog losses = new Training.LossLog();
            int report = Math.max(1, r.steps() / 10);
            for (int step = 0; step < r.steps(); step++) {
                List<int[]> strings = new ArrayList<>(r.batch());
                while (strings.size() < r.batch()) {
                    int[] digits = randomDigits(random);
                    if (!excluded.contains(java.util.Arrays.toString(digits))) strings.add(digits);
                }
                try (Batch b = Batch.of(strings)) {
                    losses.add(Training.step(optimizer, 1.0, () -> loss(model, b)));
                }
                scheduler.step();
                if ((step + 1) % report == 0) options.say("step %d/%d: mean training loss %.4f", step + 1, r.steps(), losses.meanSince(step + 1 - report));
            }
            optimizer.close();
            losses.write(options);
            double exact = exactMatch(model, heldOut);
            Training.saveCheckpoint(this, model, options, Map.of("exact_match", Double.toString(exact)));
            return result(exact, losses.first(), losses.last());
        }
    }

    @Override
    public ZooResult evaluate(Path checkpoint, ZooOptions options) throws IOException {
        try (Seq2SeqTransformer model = new Seq2SeqTransformer(ARCHITECTURE)) {
            Training.loadCheckpoint(this, model, checkpoint);
            return result(exactMatch(model, heldOutStrings((options.quick() ? QUICK : FULL).heldOut())), Double.NaN, Double.NaN);
        }
    }

    private static ZooResult result(double exact, double firstLoss, double lastLoss) {
        return new ZooResult("exact_match", exact, 0.99, false, firstLoss, lastLoss, Map.of());
    }

    private static int[] randomDigits(SplittableRandom random) {
        int[] digits = new int[random.nextInt(MIN_LENGTH, MAX_LENGTH + 1)];
        for (int i = 0; i < digits.length; i++) digits[i] = random.nextInt(10);
        return digits;
    }

    /** The held-out strings: the first {@code n} distinct strings of a fixed generator. */
    static List<int[]> heldOutStrings(int n) {
        SplittableRandom random = new SplittableRandom(HELD_OUT_SEED);
        Set<String> seen = new HashSet<>();
        List<int[]> strings = new ArrayList<>(n);
        while (strings.size() < n) {
            int[] digits = randomDigits(random);
            if (seen.add(java.util.Arrays.toString(digits))) strings.add(digits);
        }
        return strings;
    }

    /**
     * Sources (B, 20), decoder inputs (B, 21: begin marker, reversed digits) and targets (B, 21: reversed digits,
     * end marker), padded with {@link #PAD}.
     */
    record Batch(Tensor source, Tensor decoderInput, Tensor target) implements AutoCloseable {
        static Batch of(List<int[]> strings) {
            int b = strings.size(), t = MAX_LENGTH + 1;
            long[] source = new long[b * MAX_LENGTH], input = new long[b * t], target = new long[b * t];
            for (int i = 0; i < b; i++) {
                int[] digits = strings.get(i);
                int n = digits.length;
                input[i * t] = BEGIN;
                for (int j = 0; j < n; j++) {
                    source[i * MAX_LENGTH + j] = FIRST_DIGIT + digits[j];
                    target[i * t + j] = FIRST_DIGIT + digits[n - 1 - j];
                    input[i * t + j + 1] = target[i * t + j];
                }
                target[i * t + n] = END;
            }
            return new Batch(Tensor.of(source, b, MAX_LENGTH), Tensor.of(input, b, t), Tensor.of(target, b, t));
        }

        @Override
        public void close() {
            source.close();
            decoderInput.close();
            target.close();
        }
    }

    /** Cross-entropy of the next target token, padding positions ignored. */
    private static Tensor loss(Seq2SeqTransformer model, Batch b) {
        try (Scope s = Scope.open()) {
            Tensor logits = model.forward(b.source(), b.decoderInput());
            return s.keep(Functional.crossEntropy(logits.reshape(-1, logits.size(-1)), b.target().reshape(-1), null, PAD, Reduction.MEAN, 0.0));
        }
    }

    /** The fraction of {@code strings} whose greedy decoding is their reversal followed by the end marker. */
    static double exactMatch(Seq2SeqTransformer model, List<int[]> strings) {
        int correct = 0, chunk = 250;
        for (int from = 0; from < strings.size(); from += chunk) {
            List<int[]> part = strings.subList(from, Math.min(strings.size(), from + chunk));
            long[] decoded;
            try (Batch b = Batch.of(part); Tensor out = model.greedyDecode(b.source(), BEGIN, MAX_LENGTH + 1)) {
                decoded = out.toLongArray();
            }
            for (int i = 0; i < part.size(); i++) {
                int[] digits = part.get(i);
                int n = digits.length, at = i * (MAX_LENGTH + 1);
                boolean match = decoded[at + n] == END;
                for (int j = 0; j < n && match; j++) match = decoded[at + j] == FIRST_DIGIT + digits[n - 1 - j];
                if (match) correct++;
            }
        }
        return (double) correct / strings.size();
    }
}
