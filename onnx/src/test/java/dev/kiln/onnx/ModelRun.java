package dev.kiln.onnx;

import ai.onnxruntime.OrtException;
import dev.kiln.Device;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;

import dev.kiln.onnx.proto.Onnx;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs one model on Kiln and on ONNX Runtime with the same inputs and compares; records, per model and device, the
 * largest absolute difference, printed at the end of the run for the closing note.
 */
final class ModelRun implements AutoCloseable {
    /** "model on device" to the largest absolute difference from ONNX Runtime over every compared output. */
    static final Map<String, Double> LARGEST_DIFFERENCE = new ConcurrentHashMap<>();

    private final String name;
    private final Device device;
    final OnnxModel model;
    final OnnxModule module;
    private final ReferenceRuntime reference;

    /**
     * @param alsoCompare values inside the graph to compare as well (made graph outputs of both runs), such as the
     *                    logits before a final Softmax, which saturates on synthetic inputs
     */
    ModelRun(String name, Path file, Device device, String... alsoCompare) throws Exception {
        this.name = name;
        this.device = device;
        Onnx.ModelProto proto = Onnx.ModelProto.parseFrom(Files.readAllBytes(file));
        Onnx.GraphProto.Builder graph = proto.getGraph().toBuilder();
        for (String value : alsoCompare) graph.addOutput(Onnx.ValueInfoProto.newBuilder().setName(value));
        byte[] bytes = proto.toBuilder().setGraph(graph).build().toByteArray();
        this.model = OnnxModel.parse(bytes, file.toAbsolutePath());
        this.module = model.toModule();
        this.reference = new ReferenceRuntime(bytes);
    }

    /** Runs both, compares every output, and returns ONNX Runtime's outputs (the state a recurrent model feeds back). */
    Map<String, ReferenceRuntime.Host> compare(String step, Map<String, ReferenceRuntime.Host> inputs) throws OrtException {
        Map<String, ReferenceRuntime.Host> expected = reference.run(inputs);
        try (Scope scope = Scope.open(); GradMode off = GradMode.noGrad()) {
            Map<String, Tensor> feed = new LinkedHashMap<>();
            inputs.forEach((k, v) -> feed.put(k, v.toTensor(device)));
            Map<String, Tensor> actual = module.forward(feed);
            double largest = ModelComparison.assertClose(name + " on " + device + ", " + step, actual, expected);
            LARGEST_DIFFERENCE.merge(name + " on " + device.toString(), largest, Math::max);
        }
        return expected;
    }

    static String report() {
        StringBuilder sb = new StringBuilder("\nLargest |Kiln - ONNX Runtime| per model and device\n");
        new TreeMap<>(LARGEST_DIFFERENCE).forEach((k, v) -> sb.append(String.format("  %-60s %.3e%n", k, v)));
        return sb.toString();
    }

    @Override
    public void close() throws Exception {
        module.close();
        reference.close();
    }
}
