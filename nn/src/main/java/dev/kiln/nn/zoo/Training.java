package dev.kiln.nn.zoo;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.Module;
import dev.kiln.nn.io.Checkpoint;
import dev.kiln.nn.optim.AdamW;
import dev.kiln.nn.optim.Gradients;
import dev.kiln.nn.optim.Optimizer;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/** The pieces every zoo recipe shares: one optimisation step, AdamW's parameter groups, the loss record, checkpoints. */
final class Training {
    private Training() {}

    /**
     * One step in its own scope: the loss, fresh gradients, clipping of their joint 2-norm to {@code clip}
     * (none when not positive), the optimizer's update; returns the loss.
     */
    static double step(Optimizer optimizer, double clip, Supplier<Tensor> loss) {
        try (Scope s = Scope.open()) {
            Tensor l = loss.get();
            optimizer.zeroGrad();
            l.backward();
            if (clip > 0) Gradients.clipNorm(optimizer.paramGroups().stream().flatMap(g -> g.params().stream()).toList(), clip);
            try (GradMode ng = GradMode.noGrad()) {
                optimizer.step();
            }
            return l.item();
        }
    }

    /** AdamW as nanoGPT configures it: weight decay on matrices and embeddings (2-D and up), none on biases and norms. */
    static AdamW adamW(Module model, double lr, double weightDecay, double beta2) {
        List<Tensor> decay = new ArrayList<>(), noDecay = new ArrayList<>();
        for (Tensor p : model.parameters()) (p.dim() >= 2 ? decay : noDecay).add(p);
        AdamW optimizer = new AdamW(decay, lr);
        optimizer.weightDecay(weightDecay).betas(0.9, beta2);
        if (!noDecay.isEmpty()) optimizer.addParamGroup(noDecay, Map.of("weight_decay", 0.0));
        return optimizer;
    }

    /** Writes {@code model}'s weights to the output folder's checkpoint, tagged with the zoo model's name and {@code extra}. */
    static void saveCheckpoint(ZooModel zoo, Module model, ZooOptions options, Map<String, String> extra) throws IOException {
        Files.createDirectories(options.out());
        Map<String, String> meta = new java.util.LinkedHashMap<>(extra);
        meta.put("zoo_model", zoo.name());
        meta.put("mode", options.quick() ? "quick" : "full");
        Checkpoint.save(options.out().resolve(ZooModel.CHECKPOINT), model, null, null, meta);
    }

    /** Loads a checkpoint written by {@link #saveCheckpoint} for {@code zoo} into {@code model}; returns its metadata. */
    static Map<String, String> loadCheckpoint(ZooModel zoo, Module model, Path checkpoint) throws IOException {
        Map<String, String> meta = Checkpoint.load(checkpoint, model, null, null);
        if (!zoo.name().equals(meta.get("zoo_model")))
            throw new IOException(checkpoint + ": a checkpoint of zoo model '" + meta.get("zoo_model") + "', not of '" + zoo.name() + "'");
        return meta;
    }

    /** Shuffles {@code order} in place (Fisher-Yates) with {@code random}, for epochs over examples kept in host arrays. */
    static void shuffle(int[] order, java.util.SplittableRandom random) {
        for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1), x = order[i];
            order[i] = order[j];
            order[j] = x;
        }
    }

    /** Training losses per step; the start and end of the run as means over a few steps, so one noisy batch decides nothing. */
    static final class LossLog {
        private final List<Double> losses = new ArrayList<>();

        void add(double loss) { losses.add(loss); }

        int steps() { return losses.size(); }

        /** Mean of the first {@link #window} losses. */
        double first() { return mean(0, window()); }

        /** Mean of the last {@link #window} losses. */
        double last() { return mean(losses.size() - window(), losses.size()); }

        /** Mean of the losses since step {@code from}. */
        double meanSince(int from) { return mean(from, losses.size()); }

        private int window() { return Math.max(1, Math.min(20, losses.size() / 4)); }

        private double mean(int from, int to) {
            double sum = 0;
            for (int i = from; i < to; i++) sum += losses.get(i);
            return to > from ? sum / (to - from) : Double.NaN;
        }

        /** {@code losses.csv} in the output folder: step, loss. */
        void write(ZooOptions options) throws IOException {
            Files.createDirectories(options.out());
            try (PrintWriter csv = new PrintWriter(Files.newBufferedWriter(options.out().resolve("losses.csv")))) {
                csv.println("step,loss");
                for (int i = 0; i < losses.size(); i++) csv.printf(Locale.ROOT, "%d,%.6f%n", i + 1, losses.get(i));
            }
        }
    }
}
