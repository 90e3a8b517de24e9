package dev.kiln.onnx;

import com.google.protobuf.CodedInputStream;
import dev.kiln.onnx.proto.Onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;

/**
 * An ONNX model file, read and checked: its graph, the opsets it imports and its declared inputs and outputs.
 * Every node, nested graphs included, must be an op Kiln maps: an unsupported op is reported here, at load time,
 * with its name, domain and node. {@link #toModule()} makes the runnable, trainable {@link OnnxModule}.
 *
 * <pre>{@code
 * OnnxModel model = OnnxModel.load(Path.of("model.onnx"));
 * try (OnnxModule net = model.toModule()) {
 *     Map<String, Tensor> out = net.forward(Map.of("input", x));
 * }
 * }</pre>
 */
public final class OnnxModel {
    /** The oldest default-domain opset the op map reads (ONNX 1.2, 2018). */
    public static final int MIN_OPSET = 7;
    /** ONNX's default domain, which nodes may also name as the empty string. */
    static final String DEFAULT_DOMAIN = "ai.onnx";

    private final Onnx.ModelProto proto;
    private final Path source;
    private final Map<String, Integer> opsets;

    private OnnxModel(Onnx.ModelProto proto, Path source, Map<String, Integer> opsets) {
        this.proto = proto;
        this.source = source;
        this.opsets = opsets;
    }

    /**
     * Reads and checks a model file; external data files are looked up beside it.
     *
     * @param file the {@code .onnx} file
     * @return the model
     * @throws OnnxFormatException if the file is not a valid ONNX model (truncated, malformed, no graph)
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException if the model uses ops, domains or opsets Kiln does not map, listing them
     */
    public static OnnxModel load(Path file) throws IOException {
        return parse(Files.readAllBytes(file), file.toAbsolutePath());
    }

    /**
     * Reads and checks a model from its bytes.
     *
     * @param bytes the serialized {@code ModelProto}
     * @param source where the bytes came from: named in messages, and its folder holds any external data files
     * @return the model
     * @throws OnnxFormatException if the bytes are not a valid ONNX model
     * @throws IllegalArgumentException if the model uses ops, domains or opsets Kiln does not map
     */
    public static OnnxModel parse(byte[] bytes, Path source) throws OnnxFormatException {
        Onnx.ModelProto proto;
        try {
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            // ONNX graphs nest (If inside Loop inside If); protobuf's default depth of 100 is too low for some.
            in.setRecursionLimit(1000);
            proto = Onnx.ModelProto.parseFrom(in);
        } catch (IOException e) { // InvalidProtocolBufferException, the only kind reading from bytes throws
            throw new OnnxFormatException(source + ": not a valid ONNX model (truncated or malformed protobuf, "
                    + bytes.length + " bytes): " + e.getMessage(), e);
        }
        if (!proto.hasGraph() || proto.getIrVersion() <= 0)
            throw new OnnxFormatException(source + ": not a valid ONNX model (" + bytes.length + " bytes parse, but "
                    + (proto.hasGraph() ? "ir_version is missing" : "there is no graph") + ")", null);
        Map<String, Integer> opsets = new HashMap<>();
        for (Onnx.OperatorSetIdProto o : proto.getOpsetImportList())
            opsets.put(o.getDomain().isEmpty() ? DEFAULT_DOMAIN : o.getDomain(), (int) o.getVersion());
        // IR version 2 models carry no opset import and mean opset 1.
        int opset = opsets.getOrDefault(DEFAULT_DOMAIN, 1);
        if (opset < MIN_OPSET)
            throw new IllegalArgumentException(source + ": default-domain opset " + opset + "; Kiln reads opset " + MIN_OPSET + " and later");
        OnnxModel model = new OnnxModel(proto, source, Collections.unmodifiableMap(opsets));
        model.checkOps();
        return model;
    }

    private void checkOps() {
        List<String> unsupported = new ArrayList<>();
        forEachNode(proto.getGraph(), (node, at) -> {
            if (OnnxOps.find(node.domain(), node.op()) == null) unsupported.add(node.describe() + at);
        });
        if (!unsupported.isEmpty())
            throw new IllegalArgumentException(source + ": " + unsupported.size() + " node(s) use ops Kiln does not map: "
                    + String.join("; ", unsupported.subList(0, Math.min(20, unsupported.size())))
                    + (unsupported.size() > 20 ? "; ..." : ""));
    }

    /** Every node of the graph and its nested graphs, with where it sits (" in graph 'body'" for nested ones). */
    private void forEachNode(Onnx.GraphProto graph, BiConsumer<OnnxNode, String> visit) {
        String at = graph == proto.getGraph() ? "" : " in graph '" + graph.getName() + "'";
        for (int i = 0; i < graph.getNodeCount(); i++) {
            Onnx.NodeProto n = graph.getNode(i);
            visit.accept(node(n, i), at);
            for (Onnx.AttributeProto a : n.getAttributeList()) {
                if (a.hasG()) forEachNode(a.getG(), visit);
                for (Onnx.GraphProto g : a.getGraphsList()) forEachNode(g, visit);
            }
        }
    }

    /** The node as the op map reads it; {@code index} names it when the model leaves it unnamed. */
    OnnxNode node(Onnx.NodeProto n, int index) {
        String domain = n.getDomain().isEmpty() ? DEFAULT_DOMAIN : n.getDomain();
        Integer opset = opsets.get(domain);
        String name = n.getName().isEmpty() ? "#" + index : n.getName();
        Map<String, OnnxAttribute> attributes = new HashMap<>();
        for (Onnx.AttributeProto a : n.getAttributeList()) attributes.put(a.getName(), attribute(a));
        return new OnnxNode(name, domain, n.getOpType(), opset == null ? -1 : opset, List.copyOf(n.getInputList()),
                List.copyOf(n.getOutputList()), attributes);
    }

    private static OnnxAttribute attribute(Onnx.AttributeProto a) {
        return switch (a.getType()) {
            case INT -> new OnnxAttribute(a.getName(), "int", List.of(a.getI()));
            case FLOAT -> new OnnxAttribute(a.getName(), "float", List.of(a.getF()));
            case STRING -> new OnnxAttribute(a.getName(), "string", List.of(a.getS().toStringUtf8()));
            case TENSOR -> new OnnxAttribute(a.getName(), "tensor", List.of(a.getT()));
            case GRAPH -> new OnnxAttribute(a.getName(), "graph", List.of(a.getG()));
            case INTS -> new OnnxAttribute(a.getName(), "ints", List.copyOf(a.getIntsList()));
            case FLOATS -> new OnnxAttribute(a.getName(), "floats", List.copyOf(a.getFloatsList()));
            case STRINGS -> new OnnxAttribute(a.getName(), "strings", a.getStringsList().stream().map(s -> (Object) s.toStringUtf8()).toList());
            default -> new OnnxAttribute(a.getName(), a.getType().name().toLowerCase(java.util.Locale.ROOT), List.of());
        };
    }

    /** @return the parsed protobuf message */
    Onnx.ModelProto proto() { return proto; }

    /**
     * The file the model was read from (or the source named to {@link #parse}).
     *
     * @return the path
     */
    public Path source() { return source; }

    /**
     * The opset version imported per domain ({@code ai.onnx} for the default domain).
     *
     * @return domain to version
     */
    public Map<String, Integer> opsets() { return opsets; }

    /**
     * How often each op type occurs, nested graphs included.
     *
     * @return op type to count, sorted by op type
     */
    public Map<String, Integer> opCounts() {
        Map<String, Integer> counts = new TreeMap<>();
        forEachNode(proto.getGraph(), (node, at) -> counts.merge(node.op(), 1, Integer::sum));
        return counts;
    }

    /**
     * The graph's inputs that the caller supplies (those with an initializer are defaults, left out here).
     *
     * @return the inputs in declaration order
     */
    public List<OnnxValueInfo> inputs() {
        java.util.Set<String> initialized = new java.util.HashSet<>();
        for (Onnx.TensorProto t : proto.getGraph().getInitializerList()) initialized.add(t.getName());
        return proto.getGraph().getInputList().stream().filter(v -> !initialized.contains(v.getName())).map(OnnxModel::valueInfo).toList();
    }

    /**
     * The graph's outputs.
     *
     * @return the outputs in declaration order
     */
    public List<OnnxValueInfo> outputs() { return proto.getGraph().getOutputList().stream().map(OnnxModel::valueInfo).toList(); }

    private static OnnxValueInfo valueInfo(Onnx.ValueInfoProto v) {
        if (!v.getType().hasTensorType()) return new OnnxValueInfo(v.getName(), "UNDEFINED", null);
        Onnx.TypeProto.Tensor t = v.getType().getTensorType();
        List<String> dims = null;
        if (t.hasShape()) {
            dims = new ArrayList<>();
            for (Onnx.TensorShapeProto.Dimension d : t.getShape().getDimList())
                dims.add(d.hasDimValue() ? Long.toString(d.getDimValue()) : d.hasDimParam() && !d.getDimParam().isEmpty() ? d.getDimParam() : "?");
        }
        return new OnnxValueInfo(v.getName(), OnnxTensors.typeName(t.getElemType()), dims);
    }

    /**
     * A trainable module running this model: float initializers become parameters (batch-norm statistics become
     * buffers), the others buffers, all on the default device; constant subgraphs are folded once here.
     *
     * @return the module, which the caller closes
     */
    public OnnxModule toModule() { return new OnnxModule(this); }

    /**
     * The model as {@code source (opset N, K nodes)}.
     *
     * @return the description
     */
    @Override
    public String toString() {
        return source + " (opset " + opsets.getOrDefault(DEFAULT_DOMAIN, 1) + ", " + proto.getGraph().getNodeCount() + " nodes)";
    }
}
