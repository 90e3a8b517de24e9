package dev.kiln.cli;

import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.io.Npy;
import dev.kiln.onnx.OnnxModel;
import dev.kiln.onnx.OnnxModule;
import dev.kiln.onnx.OnnxValueInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code kiln run model.onnx --input name=file.npy ...}: runs an ONNX model on a device, prints each output (and
 * writes it as {@code .npy} with {@code --out}); {@code --bench} times repeated runs.
 */
@Command(name = "run", mixinStandardHelpOptions = true, description = {"Run an ONNX model on a Kiln device.",
        "Inputs come from .npy files; outputs are printed, and written as <out>/<name>.npy with --out."})
final class RunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", description = "The .onnx model file (external data files beside it).")
    Path model;

    @Option(names = "--input", paramLabel = "NAME=FILE.npy", description = "A graph input from a .npy file; repeat for each input.")
    List<String> inputs = new ArrayList<>();

    @Option(names = "--out", description = "Folder to write each output to, as <name>.npy.")
    Path out;

    @Option(names = "--device", description = "Device (cpu, opencl, opencl:N, cuda); default: the best available.")
    String device;

    @Option(names = "--bench", description = "Time the model: warm-up runs, then --runs timed runs (median and best).")
    boolean bench;

    @Option(names = "--runs", defaultValue = "20", description = "Timed runs for --bench (default: ${DEFAULT-VALUE}).")
    int runs;

    @Override
    public Integer call() throws Exception {
        if (device != null) Kiln.setDefaultDevice(Device.parse(device));
        if (!Files.isRegularFile(model)) throw new IllegalArgumentException(model + ": no such file");
        PrintWriter w = spec.commandLine().getOut();
        OnnxModel onnx = OnnxModel.load(model);
        Device on = Kiln.defaultDevice();
        w.println("model " + onnx + " on " + on);
        w.println("  ops " + onnx.opCounts());
        try (OnnxModule module = onnx.toModule(); Scope scope = Scope.open(); GradMode off = GradMode.noGrad()) {
            Map<String, Tensor> feed = readInputs(onnx, on);
            Map<String, Tensor> outputs = module.forward(feed);
            for (var e : outputs.entrySet()) {
                Tensor t = e.getValue();
                w.println("output " + e.getKey() + ": " + t.dtype() + " " + Arrays.toString(t.shape()));
                w.println(t);
                if (out != null) {
                    Files.createDirectories(out);
                    Path file = out.resolve(e.getKey().replaceAll("[^A-Za-z0-9._-]", "_") + ".npy");
                    Npy.write(file, t);
                    w.println("  written to " + file);
                }
            }
            if (bench) bench(module, feed, w);
        }
        return 0;
    }

    private Map<String, Tensor> readInputs(OnnxModel onnx, Device on) throws java.io.IOException {
        Map<String, Tensor> feed = new LinkedHashMap<>();
        for (String spec : inputs) {
            int eq = spec.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("--input " + spec + ": expected NAME=FILE.npy");
            feed.put(spec.substring(0, eq), Npy.read(Path.of(spec.substring(eq + 1)), on));
        }
        List<String> missing = onnx.inputs().stream().map(OnnxValueInfo::name).filter(n -> !feed.containsKey(n)).toList();
        if (!missing.isEmpty())
            throw new IllegalArgumentException("no --input for " + missing + "; the model's inputs are " + onnx.inputs());
        return feed;
    }

    /** Three warm-up runs (kernel compilation, allocation), then the timed ones, each read back to the host. */
    private void bench(OnnxModule module, Map<String, Tensor> feed, PrintWriter w) {
        if (runs < 1) throw new IllegalArgumentException("--runs " + runs + ": at least 1");
        double[] ms = new double[runs];
        for (int i = -3; i < runs; i++) {
            try (Scope step = Scope.open()) {
                long start = System.nanoTime();
                // Reading the outputs back waits for the device to finish.
                module.forward(feed).values().forEach(t -> t.toDoubleArray());
                if (i >= 0) ms[i] = (System.nanoTime() - start) / 1e6;
            }
        }
        Arrays.sort(ms);
        w.printf("bench %d runs: median %.3f ms, best %.3f ms%n", runs, ms[runs / 2], ms[0]);
    }
}
