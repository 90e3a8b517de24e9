package dev.kiln.cli;

import dev.kiln.nn.zoo.Zoo;
import dev.kiln.nn.zoo.ZooModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code kiln eval <model> --checkpoint PATH}: a zoo model's held-out metric from a checkpoint {@code kiln train} wrote. */
@Command(name = "eval", mixinStandardHelpOptions = true, description = "Evaluate a checkpoint of a model-zoo model on its held-out data.")
final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", description = "Zoo model: ${COMPLETION-CANDIDATES}.", completionCandidates = ZooNames.class)
    String model;

    @Option(names = "--checkpoint", required = true, description = "The checkpoint.safetensors that `kiln train <model>` wrote.")
    Path checkpoint;

    @Option(names = "--quick", description = "Evaluate on the quick run's smaller held-out set.")
    boolean quick;

    @Mixin
    DeviceOption device;

    @Override
    public Integer call() throws Exception {
        ZooModel zoo = Zoo.get(model);
        if (!Files.isRegularFile(checkpoint)) throw new IllegalArgumentException("--checkpoint " + checkpoint + ": no such file");
        device.apply();
        return ZooRun.evaluate(zoo, checkpoint, quick, spec.commandLine().getOut());
    }

    /** The zoo's model names for picocli's help. */
    static final class ZooNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() { return Zoo.names().iterator(); }
    }
}
