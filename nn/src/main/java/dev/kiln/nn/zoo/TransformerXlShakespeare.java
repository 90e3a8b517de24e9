package dev.kiln.nn.zoo;

import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.data.CharCorpus;
import dev.kiln.nn.models.TransformerXl;
import dev.kiln.nn.optim.AdamW;
import dev.kiln.nn.optim.LRScheduler;
import dev.kiln.nn.optim.LrSchedule;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code transformer-xl}: a character-level {@link TransformerXl} on tiny Shakespeare, read as parallel streams of
 * consecutive segments, and the same model without memory (each segment on its own) trained the same way at the
 * same segment length. Both are scored on the held-out text read the same way; the metric is the memory model's
 * held-out loss, the target the memory-less model's.
 */
final class TransformerXlShakespeare extends ZooModel {
    /** A recipe: parallel streams, segment length, steps, peak learning rate, held-out segments per stream. */
    private record Recipe(int streams, int segment, int steps, double lr, int evalSegments) {}

    private static final Recipe FULL = new Recipe(16, 32, 600, 1e-3, 50);
    private static final Recipe QUICK = new Recipe(4, 32, 10, 2e-3, 2);

    TransformerXlShakespeare() {
        super("transformer-xl", "segment-level recurrence with relative positions",
                "tiny Shakespeare, 1,003,854 training / 111,540 held-out characters, read in consecutive 32-character segments",
                "held-out loss below the same model's without memory at the same segment length");
    }

    private static TransformerXl.Config architecture(int vocab, boolean memory) {
        return new TransformerXl.Config(vocab, 128, 4, 2, 512, memory ? 32 : 0);
    }

    @Override
    public ZooResult train(ZooOptions options) throws IOException {
        Recipe r = options.quick() ? QUICK : FULL;
        CharCorpus corpus = CharCorpus.tinyShakespeare();
        double[] withoutMemory = trainOne(corpus, false, r, options, Double.NaN);
        double[] withMemory = trainOne(corpus, true, r, options, withoutMemory[0]);
        options.say("held-out loss: %.4f with memory, %.4f without", withMemory[0], withoutMemory[0]);
        return result(withMemory[0], withoutMemory[0], withMemory[1], withMemory[2]);
    }

    /**
     * Trains one model; returns its held-out loss and its first and last training losses. The memory model's
     * checkpoint and loss log are written, with {@code baseline} (the memory-less model's held-out loss) in the checkpoint.
     */
    private double[] trainOne(CharCorpus corpus, boolean memory, Recipe r, ZooOptions options, double baseline) throws IOException {
        Kiln.manualSeed(options.seed());
        try (TransformerXl model = new TransformerXl(architecture(corpus.vocabularySize(), memory))) {
            AdamW optimizer = Training.adamW(model, r.lr(), 0.1, 0.99);
            LRScheduler scheduler = new LRScheduler(optimizer, LrSchedule.warmupCosine(Math.min(100, r.steps() / 10), r.steps(), r.lr() / 10));
            options.say("%s %s memory: %,d parameters, %d steps of %d streams x %d characters on %s", name(), memory ? "with" : "without",
                    model.parameterCount(), r.steps(), r.streams(), r.segment(), Kiln.defaultDevice());
            Training.LossLog losses = new Training.LossLog();
            int stride = corpus.trainLength() / r.streams(), report = Math.max(1, r.steps() / 10);
            List<Tensor> state = new ArrayList<>();
            for (int step = 0; step < r.steps(); step++) {
                int[] offsets = new int[r.streams()];
                for (int b = 0; b < offsets.length; b++) offsets[b] = b * stride + step * r.segment();
                try (CharCorpus.Windows w = corpus.windows(false, offsets, r.segment())) {
                    losses.add(Training.step(optimizer, 1.0, () -> segmentLoss(model, w, state)));
                }
                scheduler.step();
                if ((step + 1) % report == 0) options.say("step %d/%d: mean training loss %.4f", step + 1, r.steps(), losses.meanSince(step + 1 - report));
            }
            state.forEach(Tensor::close);
            optimizer.close();
            double heldOut = heldOutLoss(model, corpus, r);
            if (memory) {
                losses.write(options);
                Training.saveCheckpoint(this, model, options, Map.of("held_out_loss_without_memory", Double.toString(baseline)));
            }
            return new double[] {heldOut, losses.first(), losses.last()};
        }
    }

    @Override
    public ZooResult evaluate(Path checkpoint, ZooOptions options) throws IOException {
        CharCorpus corpus = CharCorpus.tinyShakespeare();
        try (TransformerXl model = new TransformerXl(architecture(corpus.vocabularySize(), true))) {
            Map<String, String> meta = Training.loadCheckpoint(this, model, checkpoint);
            return result(heldOutLoss(model, corpus, options.quick() ? QUICK : FULL), Double.parseDouble(meta.get("held_out_loss_without_memory")), Double.NaN, Double.NaN);
        }
    }

    private static ZooResult result(double withMemory, double withoutMemory, double firstLoss, double lastLoss) {
        return new ZooResult("held_out_loss", withMemory, withoutMemory, true, firstLoss, lastLoss, Map.of("held_out_loss_without_memory", withoutMemory));
    }

    /** The cross-entropy of one segment; {@code state} holds the memory, replaced by the one for the next segment. */
    private static Tensor segmentLoss(TransformerXl model, CharCorpus.Windows w, List<Tensor> state) {
        try (Scope s = Scope.open()) {
            TransformerXl.Output out = model.forward(w.inputs(), state);
            state.forEach(Tensor::close);
            state.clear();
            state.addAll(out.memory());
            Tensor logits = out.logits();
            return s.keep(Functional.crossEntropy(logits.reshape(-1, logits.size(-1)), w.targets().reshape(-1)));
        }
    }

    /** Mean loss over the first evalSegments consecutive segments of each of the held-out text's parallel streams. */
    private static double heldOutLoss(TransformerXl model, CharCorpus corpus, Recipe r) {
        int stride = corpus.heldOutLength() / r.streams();
        List<Tensor> state = new ArrayList<>();
        double sum = 0;
        model.eval();
        try (GradMode ng = GradMode.noGrad()) {
            for (int k = 0; k < r.evalSegments(); k++) {
                int[] offsets = new int[r.streams()];
                for (int b = 0; b < offsets.length; b++) offsets[b] = b * stride + k * r.segment();
                try (CharCorpus.Windows w = corpus.windows(true, offsets, r.segment()); Scope s = Scope.open()) {
                    sum += segmentLoss(model, w, state).item();
                }
            }
        }
        state.forEach(Tensor::close);
        model.train();
        return sum / r.evalSegments();
    }
}
