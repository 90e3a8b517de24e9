package dev.kiln.cli;

import dev.kiln.Kiln;
import dev.kiln.nn.zoo.ZooModel;
import dev.kiln.nn.zoo.ZooOptions;
import dev.kiln.nn.zoo.ZooResult;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;

/** Runs a model of the zoo ({@code dev.kiln.nn.zoo}) for {@code kiln train} and {@code kiln eval}, and prints the closing {@code result} line. */
final class ZooRun {
    private ZooRun() {}

    /** Trains {@code model}; in quick mode the exit status says whether the loss fell. */
    static int train(ZooModel model, boolean quick, long seed, Path out, PrintWriter w) throws IOException {
        long start = System.nanoTime();
        w.printf(Locale.ROOT, "training %s (%s mode): %s; data: %s; target: %s%n", model.name(), quick ? "quick" : "full", model.shows(), model.data(), model.target());
        ZooResult r = model.train(new ZooOptions(quick, seed, out, w));
        w.printf(Locale.ROOT, "training loss %.4f -> %.4f; wrote %s%n", r.firstLoss(), r.lastLoss(), out.resolve(ZooModel.CHECKPOINT));
        if (!quick) w.printf(Locale.ROOT, "target %s: %s %.4f against %.4f%n", r.targetMet() ? "met" : "missed", r.metric(), r.value(), r.target());
        printResult(w, model.name(), r.metric(), r.value(), start);
        if (quick && !r.lossFell()) {
            w.printf(Locale.ROOT, "kiln train %s --quick: the training loss did not fall%n", model.name());
            w.flush();
            return 1;
        }
        return 0;
    }

    /** Measures a checkpoint written by {@link #train} on the model's held-out data. */
    static int evaluate(ZooModel model, Path checkpoint, boolean quick, PrintWriter w) throws IOException {
        long start = System.nanoTime();
        ZooResult r = model.evaluate(checkpoint, new ZooOptions(quick, 0, checkpoint.toAbsolutePath().getParent(), w));
        r.details().forEach((k, v) -> w.printf(Locale.ROOT, "%s %.6g%n", k, v));
        printResult(w, model.name(), r.metric(), r.value(), start);
        return 0;
    }

    /** The line scripts read: {@code result model=... device=... metric=... value=... seconds=...}, seconds since {@code startNanos}. */
    static void printResult(PrintWriter w, String model, String metric, double value, long startNanos) {
        w.printf(Locale.ROOT, "result model=%s device=%s metric=%s value=%.4f seconds=%.1f%n", model, Kiln.defaultDevice(), metric, value,
                (System.nanoTime() - startNanos) / 1e9);
        w.flush();
    }
}
