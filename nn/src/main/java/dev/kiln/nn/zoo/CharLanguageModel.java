package dev.kiln.nn.zoo;

import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.Embedding;
import dev.kiln.nn.GRU;
import dev.kiln.nn.LSTM;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.RNN;
import dev.kiln.nn.RNNBase;
import dev.kiln.nn.data.CharCorpus;
import dev.kiln.nn.models.Gpt;
import dev.kiln.nn.optim.AdamW;
import dev.kiln.nn.optim.LRScheduler;
import dev.kiln.nn.optim.LrSchedule;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntFunction;

/**
 * A character-level language model on tiny Shakespeare (last 10% held out), trained as nanoGPT trains its
 * Shakespeare model: random windows of {@code context} characters, AdamW with weight decay on matrices only,
 * linear warm-up then cosine decay, gradient clipping. The metric is the held-out cross-entropy in nats per
 * character, averaged over a fixed set of random held-out windows (the same for every run and checkpoint).
 */
final class CharLanguageModel extends ZooModel {

    /** A training recipe; {@code clip} is the maximum joint gradient norm. */
    record Recipe(int batch, int context, int steps, double lr, double minLr, int warmup, double clip, double weightDecay, double beta2, int evalBatches) {}

    /** The quick recipe: a dozen small steps, enough to leave the uniform guess (ln 65 = 4.17 nats) behind. */
    private static final Recipe QUICK = new Recipe(4, 32, 12, 3e-3, 3e-4, 2, 1.0, 0.1, 0.99, 2);
    private static final long EVAL_SEED = 20_170_612;

    private final IntFunction<Module> architecture;
    private final Recipe recipe;
    private final double targetLoss;

    private CharLanguageModel(String name, String shows, String target, double targetLoss, IntFunction<Module> architecture, Recipe recipe) {
        super(name, shows, "tiny Shakespeare, 1,003,854 training / 111,540 held-out characters", target);
        this.architecture = architecture;
        this.recipe = recipe;
        this.targetLoss = targetLoss;
    }

    /** nanoGPT's CPU configuration: 4 layers, 4 heads, width 128, context 64, batch 12, 2,000 iterations, lr 1e-3 to 1e-4. */
    static CharLanguageModel gpt() {
        return new CharLanguageModel("char-gpt", "causal self-attention: nanoGPT's CPU configuration", "held-out loss <= 1.88 nats/char (nanoGPT's figure)", 1.88,
                vocab -> new Gpt(new Gpt.Config(vocab, 64, 4, 4, 128, false)), new Recipe(12, 64, 2000, 1e-3, 1e-4, 100, 1.0, 0.1, 0.99, 100));
    }

    /** A two-layer recurrent model of width 256 with {@code cell} ("lstm", "gru" or "rnn") cells. */
    static CharLanguageModel recurrent(String cell) {
        return new CharLanguageModel("char-" + cell, cell.toUpperCase(java.util.Locale.ROOT) + " language model (2 layers of 256), gradient clipping",
                "held-out loss <= 1.60 nats/char", 1.60, vocab -> new RecurrentNet(vocab, 64, 256, 2, cell),
                new Recipe(32, 64, 3000, 3e-3, 3e-4, 100, 1.0, 0.0, 0.99, 100));
    }

    @Override
    public ZooResult train(ZooOptions options) throws IOException {
        Recipe r = options.quick() ? QUICK : recipe;
        CharCorpus corpus = CharCorpus.tinyShakespeare();
        Kiln.manualSeed(options.seed());
        try (Module model = architecture.apply(corpus.vocabularySize())) {
            AdamW optimizer = Training.adamW(model, r.lr(), r.weightDecay(), r.beta2());
            LRScheduler scheduler = new LRScheduler(optimizer, LrSchedule.warmupCosine(r.warmup(), r.steps(), r.minLr()));
            options.say("%s: %,d parameters, %d steps of %d x %d characters on %s", name(), model.parameterCount(), r.steps(), r.batch(), r.context(), Kiln.defaultDevice());
            SplittableRandom random = new SplittableRandom(options.seed());
            Training.LossLog losses = new Training.LossLog();
            int report = Math.max(1, r.steps() / 10);
            for (int step = 0; step < r.steps(); step++) {
                try (CharCorpus.Windows w = corpus.batch(false, r.batch(), r.context(), random)) {
                    losses.add(Training.step(optimizer, r.clip(), () -> loss(model, w)));
                }
                scheduler.step();
                if ((step + 1) % report == 0) options.say("step %d/%d: mean training loss %.4f", step + 1, r.steps(), losses.meanSince(step + 1 - report));
            }
            optimizer.close();
            losses.write(options);
            double heldOut = heldOutLoss(model, corpus, r);
            Training.saveCheckpoint(this, model, options, Map.of("held_out_loss", Double.toString(heldOut)));
            return result(heldOut, losses.first(), losses.last());
        }
    }

    @Override
    public ZooResult evaluate(Path checkpoint, ZooOptions options) throws IOException {
        CharCorpus corpus = CharCorpus.tinyShakespeare();
        try (Module model = architecture.apply(corpus.vocabularySize())) {
            Training.loadCheckpoint(this, model, checkpoint);
            return result(heldOutLoss(model, corpus, options.quick() ? QUICK : recipe), Double.NaN, Double.NaN);
        }
    }

    private ZooResult result(double heldOut, double firstLoss, double lastLoss) {
        return new ZooResult("held_out_loss", heldOut, targetLoss, true, firstLoss, lastLoss, Map.of());
    }

    private static Tensor loss(Module model, CharCorpus.Windows w) {
        try (Scope s = Scope.open()) {
            Tensor logits = model.forward(w.inputs());
            return s.keep(Functional.crossEntropy(logits.reshape(-1, logits.size(-1)), w.targets().reshape(-1)));
        }
    }

    /** Mean loss over {@code evalBatches} held-out windows drawn with a fixed seed. */
    private static double heldOutLoss(Module model, CharCorpus corpus, Recipe r) {
        SplittableRandom random = new SplittableRandom(EVAL_SEED);
        double sum = 0;
        model.eval();
        try (GradMode ng = GradMode.noGrad()) {
            for (int i = 0; i < r.evalBatches(); i++)
                try (CharCorpus.Windows w = corpus.batch(true, r.batch(), r.context(), random); Scope s = Scope.open()) {
                    sum += loss(model, w).item();
                }
        }
        model.train();
        return sum / r.evalBatches();
    }

    /** Characters embedded, a batch-first recurrent stack, a linear read-out to logits (batch, time, vocabulary). */
    static final class RecurrentNet extends Module {
        private final Embedding embedding;
        private final RNNBase recurrent;
        private final Linear head;

        RecurrentNet(int vocab, int embed, int hidden, int layers, String cell) {
            RNNBase.Options o = RNNBase.Options.defaults().withNumLayers(layers).withBatchFirst(true);
            embedding = registerModule("embedding", new Embedding(vocab, embed));
            recurrent = registerModule("rnn", switch (cell) {
                case "lstm" -> new LSTM(embed, hidden, o);
                case "gru" -> new GRU(embed, hidden, o);
                case "rnn" -> new RNN(embed, hidden, o);
                default -> throw new IllegalArgumentException("RecurrentNet: cell must be lstm, gru or rnn, got '" + cell + "'");
            });
            head = registerModule("head", new Linear(hidden, vocab));
        }

        @Override
        public Tensor forward(Tensor tokens) {
            try (Scope s = Scope.open()) {
                return s.keep(head.forward(recurrent.forward(embedding.forward(tokens))));
            }
        }
    }
}
