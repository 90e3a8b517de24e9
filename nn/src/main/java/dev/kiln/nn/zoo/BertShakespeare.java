package dev.kiln.nn.zoo;

import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.data.CharCorpus;
import dev.kiln.nn.models.Bert;
import dev.kiln.nn.optim.AdamW;
import dev.kiln.nn.optim.LRScheduler;
import dev.kiln.nn.optim.LrSchedule;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Pattern;

/**
 * {@code bert-mini}: a small character-level {@link Bert} pre-trained as a masked language model on the training
 * part of tiny Shakespeare (the first 90%), then fine-tuned to tell which of two speakers of the held-out part
 * (the last 10%: Petruchio of The Taming of the Shrew, Prospero of The Tempest) says a line. The same model
 * fine-tuned the same way from random weights is the baseline. The speakers' speeches are split at random, a
 * fixed draw, into training and test speeches, and no line of either was seen in pre-training.
 *
 * <p>Masking follows BERT: 15% of the positions are predicted; of those, 80% are replaced by the mask token,
 * 10% by a random character and 10% left as they are.
 */
final class BertShakespeare extends ZooModel {
    private static final String[] SPEAKERS = {"PETRUCHIO", "PROSPERO"};
    private static final Pattern SPEAKER_LINE = Pattern.compile("[A-Z][A-Za-z ]+:");
    private static final int LENGTH = 64;
    private static final long SPLIT_SEED = 1_564;

    /** A recipe: pre-training steps and batch, fine-tuning epochs and batch and rate, and how many test lines to score (all when larger). */
    private record Recipe(int pretrainSteps, int pretrainBatch, double pretrainLr, int fineTuneEpochs, int fineTuneBatch, double fineTuneLr, int trainLines, int testLines) {}

    private static final Recipe FULL = new Recipe(600, 32, 1e-3, 10, 32, 3e-4, Integer.MAX_VALUE, Integer.MAX_VALUE);
    private static final Recipe QUICK = new Recipe(8, 8, 2e-3, 1, 16, 3e-4, 64, 64);

    BertShakespeare() {
        super("bert-mini", "masked-language-model pre-training, then fine-tuning a classifier on top",
                "tiny Shakespeare's first 90% for pre-training; lines of Petruchio and Prospero from the last 10% to classify by speaker",
                "fine-tuned test accuracy at least 5 points above the same model fine-tuned from scratch");
    }

    private static Bert.Config architecture(int characters) {
        // Token ids: the characters, then padding, mask and [CLS].
        return new Bert.Config(characters + 3, LENGTH, 128, 4, 2, 512, 0.1, SPEAKERS.length, characters);
    }

    /** Lines to classify by speaker, as [CLS] + up to 63 character ids, padded. */
    record Lines(long[] tokens, long[] labels) {
        int size() { return labels.length; }

        Lines first(int n) {
            int k = Math.min(n, size());
            return new Lines(java.util.Arrays.copyOf(tokens, k * LENGTH), java.util.Arrays.copyOf(labels, k));
        }

        /** Examples {@code rows} as tensors (B, LENGTH) and (B). */
        Tensor[] batch(int[] rows) {
            long[] x = new long[rows.length * LENGTH], y = new long[rows.length];
            for (int i = 0; i < rows.length; i++) {
                System.arraycopy(tokens, rows[i] * LENGTH, x, i * LENGTH, LENGTH);
                y[i] = labels[rows[i]];
            }
            return new Tensor[] {Tensor.of(x, rows.length, LENGTH), Tensor.of(y, rows.length)};
        }
    }

    /** The two speakers' lines of the held-out text: [0] from the training speeches, [1] from the test speeches. */
    static Lines[] speakerLines(CharCorpus corpus) {
        int pad = corpus.vocabularySize(), cls = pad + 2;
        List<List<long[]>> tokens = List.of(new ArrayList<>(), new ArrayList<>());
        List<List<Long>> labels = List.of(new ArrayList<>(), new ArrayList<>());
        SplittableRandom split = new SplittableRandom(SPLIT_SEED);
        for (String speech : corpus.text(true).split("\n\n")) {
            String[] lines = speech.strip().split("\n");
            if (lines.length < 2 || !SPEAKER_LINE.matcher(lines[0]).matches()) continue;
            int speaker = java.util.Arrays.asList(SPEAKERS).indexOf(lines[0].substring(0, lines[0].length() - 1));
            if (speaker < 0) continue;
            int part = split.nextBoolean() ? 1 : 0;
            for (int i = 1; i < lines.length; i++) {
                String line = lines[i].strip();
                if (line.isEmpty()) continue;
                int[] ids = corpus.encode(line.substring(0, Math.min(line.length(), LENGTH - 1)));
                long[] row = new long[LENGTH];
                java.util.Arrays.fill(row, pad);
                row[0] = cls;
                for (int j = 0; j < ids.length; j++) row[j + 1] = ids[j];
                tokens.get(part).add(row);
                labels.get(part).add((long) speaker);
            }
        }
        Lines[] parts = new Lines[2];
        for (int p = 0; p < 2; p++) {
            long[] x = new long[tokens.get(p).size() * LENGTH], y = new long[tokens.get(p).size()];
            for (int i = 0; i < y.length; i++) {
                System.arraycopy(tokens.get(p).get(i), 0, x, i * LENGTH, LENGTH);
                y[i] = labels.get(p).get(i);
            }
            parts[p] = new Lines(x, y);
        }
        return parts;
    }

    @Override
    public ZooResult train(ZooOptions options) throws IOException {
        Recipe r = options.quick() ? QUICK : FULL;
        CharCorpus corpus = CharCorpus.tinyShakespeare();
        Lines[] lines = speakerLines(corpus);
        Lines train = lines[0].first(r.trainLines()), test = lines[1].first(r.testLines());
        options.say("%s: %d training and %d test lines (%s / %s); majority class %.2f%% of the test lines", name(), train.size(), test.size(),
                SPEAKERS[0], SPEAKERS[1], 100 * majority(test));
        Kiln.manualSeed(options.seed());
        double scratch;
        try (Bert model = new Bert(architecture(corpus.vocabularySize()))) {
            fineTune(model, train, r, options, "from scratch");
            scratch = accuracy(model, test);
        }
        Kiln.manualSeed(options.seed());
        try (Bert model = new Bert(architecture(corpus.vocabularySize()))) {
            Training.LossLog pretraining = pretrain(model, corpus, r, options);
            pretraining.write(options);
            fineTune(model, train, r, options, "pre-trained");
            double fineTuned = accuracy(model, test);
            options.say("test accuracy: %.2f%% pre-trained, %.2f%% from scratch", 100 * fineTuned, 100 * scratch);
            Training.saveCheckpoint(this, model, options, Map.of("scratch_accuracy", Double.toString(scratch)));
            return result(fineTuned, scratch, majority(test), pretraining.first(), pretraining.last());
        }
    }

    @Override
    public ZooResult evaluate(Path checkpoint, ZooOptions options) throws IOException {
        Recipe r = options.quick() ? QUICK : FULL;
        CharCorpus corpus = CharCorpus.tinyShakespeare();
        Lines test = speakerLines(corpus)[1].first(r.testLines());
        try (Bert model = new Bert(architecture(corpus.vocabularySize()))) {
            Map<String, String> meta = Training.loadCheckpoint(this, model, checkpoint);
            return result(accuracy(model, test), Double.parseDouble(meta.get("scratch_accuracy")), majority(test), Double.NaN, Double.NaN);
        }
    }

    private static ZooResult result(double fineTuned, double scratch, double majority, double firstLoss, double lastLoss) {
        return new ZooResult("test_accuracy", fineTuned, scratch + 0.05, false, firstLoss, lastLoss,
                Map.of("scratch_accuracy", scratch, "majority_accuracy", majority));
    }

    private static double majority(Lines lines) {
        long ones = java.util.Arrays.stream(lines.labels()).sum();
        return Math.max(ones, lines.size() - ones) / (double) lines.size();
    }

    /** Masked-language-model pre-training on random windows of the training text; returns the loss log. */
    private static Training.LossLog pretrain(Bert model, CharCorpus corpus, Recipe r, ZooOptions options) {
        int characters = corpus.vocabularySize(), mask = characters + 1, cls = characters + 2;
        AdamW optimizer = Training.adamW(model, r.pretrainLr(), 0.01, 0.99);
        LRScheduler scheduler = new LRScheduler(optimizer, LrSchedule.warmupCosine(Math.max(1, r.pretrainSteps() / 10), r.pretrainSteps(), r.pretrainLr() / 10));
        options.say("pre-training: %,d parameters, %d steps of %d x %d characters on %s", model.parameterCount(), r.pretrainSteps(), r.pretrainBatch(), LENGTH - 1, Kiln.defaultDevice());
        SplittableRandom random = new SplittableRandom(options.seed());
        Training.LossLog losses = new Training.LossLog();
        int report = Math.max(1, r.pretrainSteps() / 10);
        for (int step = 0; step < r.pretrainSteps(); step++) {
            long[] text;
            try (CharCorpus.Windows w = corpus.batch(false, r.pretrainBatch(), LENGTH - 1, random)) {
                text = w.inputs().toLongArray();
            }
            long[] input = new long[r.pretrainBatch() * LENGTH], target = new long[input.length];
            java.util.Arrays.fill(target, Functional.IGNORE_INDEX);
            for (int b = 0; b < r.pretrainBatch(); b++) {
                input[b * LENGTH] = cls;
                for (int t = 1; t < LENGTH; t++) {
                    int at = b * LENGTH + t;
                    long c = text[b * (LENGTH - 1) + t - 1];
                    input[at] = c;
                    if (random.nextDouble() >= 0.15) continue;
                    target[at] = c;
                    double how = random.nextDouble();
                    if (how < 0.8) input[at] = mask;
                    else if (how < 0.9) input[at] = random.nextInt(characters);
                }
            }
            try (Scope s = Scope.open()) {
                Tensor x = Tensor.of(input, r.pretrainBatch(), LENGTH), y = Tensor.of(target, input.length);
                losses.add(Training.step(optimizer, 1.0, () -> {
                    Tensor logits = model.maskedLmLogits(x);
                    return Functional.crossEntropy(logits.reshape(-1, logits.size(-1)), y);
                }));
            }
            scheduler.step();
            if ((step + 1) % report == 0) options.say("pre-training step %d/%d: mean masked-LM loss %.4f", step + 1, r.pretrainSteps(), losses.meanSince(step + 1 - report));
        }
        optimizer.close();
        return losses;
    }

    /** Fine-tunes every weight on the speaker task. */
    private static void fineTune(Bert model, Lines train, Recipe r, ZooOptions options, String start) {
        int stepsPerEpoch = (train.size() + r.fineTuneBatch() - 1) / r.fineTuneBatch(), steps = stepsPerEpoch * r.fineTuneEpochs();
        AdamW optimizer = Training.adamW(model, r.fineTuneLr(), 0.01, 0.99);
        LRScheduler scheduler = new LRScheduler(optimizer, LrSchedule.warmupCosine(Math.max(1, steps / 10), steps, r.fineTuneLr() / 10));
        SplittableRandom random = new SplittableRandom(options.seed() + 1);
        Training.LossLog losses = new Training.LossLog();
        int[] order = new int[train.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        for (int epoch = 0; epoch < r.fineTuneEpochs(); epoch++) {
            Training.shuffle(order, random);
            for (int from = 0; from < order.length; from += r.fineTuneBatch()) {
                try (Scope s = Scope.open()) {
                    Tensor[] b = train.batch(java.util.Arrays.copyOfRange(order, from, Math.min(order.length, from + r.fineTuneBatch())));
                    losses.add(Training.step(optimizer, 1.0, () -> Functional.crossEntropy(model.classify(b[0]), b[1])));
                }
                scheduler.step();
            }
        }
        optimizer.close();
        options.say("fine-tuning %s: %d steps, training loss %.4f -> %.4f", start, steps, losses.first(), losses.last());
    }

    private static double accuracy(Bert model, Lines test) {
        long correct = 0;
        model.eval();
        try (GradMode ng = GradMode.noGrad()) {
            for (int from = 0; from < test.size(); from += 256) {
                int[] rows = java.util.stream.IntStream.range(from, Math.min(test.size(), from + 256)).toArray();
                try (Scope s = Scope.open()) {
                    Tensor[] b = test.batch(rows);
                    correct += (long) model.classify(b[0]).argmax(-1, false).eq(b[1]).sum().item();
                }
            }
        }
        model.train();
        return correct / (double) test.size();
    }
}
