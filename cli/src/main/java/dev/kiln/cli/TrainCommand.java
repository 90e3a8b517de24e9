package dev.kiln.cli;

import dev.kiln.nn.zoo.Zoo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;

/**
 * {@code kiln train [model]}: trains a model on the bundled MNIST sample and reports held-out accuracy, or runs
 * a model of the zoo ({@link ZooRun}) with its own recipe.
 */
@Command(name = "train", mixinStandardHelpOptions = true, description = {"Train a model on the bundled MNIST sample (8,000 training digits, 2,000 held out),",
        "or a model of the zoo with its own recipe and data (docs/models.md; only --device, --seed, --out and --quick apply)."})
final class TrainCommand implements Callable<Integer> {
    /** Options of the MNIST training run that a zoo model's fixed recipe does not take. */
    private static final String[] MNIST_ONLY = {"--epochs", "--batch-size", "--lr", "--train-size", "--test-size", "--shift", "--no-progress"};

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", defaultValue = "mnist-cnn", description = "Model: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).",
            completionCandidates = TrainingRun.ModelNames.class)
    String model;

    @Mixin
    DeviceOption device;

    @Option(names = "--epochs", defaultValue = "6", description = "Passes over the training set (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "64", description = "Examples per step (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr", defaultValue = "0.004", description = "Peak learning rate of Adam's one-cycle schedule (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--seed", defaultValue = "0", description = "Seed for initialisation and shuffling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", description = "Output folder for the checkpoint, CSV log and loss curve (default: runs/<timestamp>).")
    Path out;

    @Option(names = "--train-size", defaultValue = "8000", description = "Training digits, taken from the start of the sample (default: ${DEFAULT-VALUE}).")
    int trainSize;

    @Option(names = "--test-size", defaultValue = "2000", description = "Held-out digits, taken from the end of the sample (default: ${DEFAULT-VALUE}).")
    int testSize;

    @Option(names = "--shift", defaultValue = "2", description = "Augment training digits with random shifts of up to this many pixels (default: ${DEFAULT-VALUE}).")
    int shift;

    @Option(names = "--no-progress", description = "Do not draw a progress bar.")
    boolean noProgress;

    @Option(names = "--quick", description = "Zoo models: a run of seconds on a slice of the data that checks the training loss falls.")
    boolean quick;

    @Override
    public Integer call() throws Exception {
        long start = System.nanoTime();
        if (epochs <= 0 || batchSize <= 0 || !(lr > 0)) throw new IllegalArgumentException("--epochs, --batch-size and --lr must be positive");
        device.apply();
        Path dir = out != null ? out : Path.of("runs", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        if (Zoo.find(model).isPresent()) {
            for (String option : MNIST_ONLY)
                if (spec.commandLine().getParseResult().hasMatchedOption(option))
                    throw new IllegalArgumentException(option + " applies to the MNIST models only; zoo model '" + model + "' runs its own recipe (docs/models.md)");
            return ZooRun.train(Zoo.get(model), quick, seed, dir, spec.commandLine().getOut());
        }
        if (quick) throw new IllegalArgumentException("--quick applies to zoo models only (" + String.join(", ", Zoo.names()) + ")");
        TrainingRun.Config config = new TrainingRun.Config(model, epochs, batchSize, lr, seed, dir, trainSize, testSize, shift, !noProgress);
        TrainingRun.Result r = new TrainingRun(config, spec.commandLine().getOut()).run();
        ZooRun.printResult(spec.commandLine().getOut(), model, r.metric(), r.value(), start);
        return 0;
    }
}
