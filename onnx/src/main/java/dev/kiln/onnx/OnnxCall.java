package dev.kiln.onnx;

import dev.kiln.Device;
import dev.kiln.Tensor;
import dev.kiln.onnx.proto.Onnx;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What an op mapping sees of one node: its inputs by ONNX position (absent optional inputs are null), its
 * attributes with the ONNX default supplied by the caller, its opset and which outputs are requested.
 * Attributes are marked as read, so a node attribute that no mapping looks at can be reported instead of being
 * silently ignored (the node suite fails on it).
 */
final class OnnxCall {
    /** What a node needs from the graph around it: the device it computes on and its nested graphs. */
    interface Context {
        /** The device new tensors (constants, indices) go to when the node has no input to take it from. */
        Device device();

        /**
         * Runs a nested graph (an If branch, a Loop body) with {@code inputs} bound to its formal inputs and the
         * enclosing graph's values visible by name.
         */
        Tensor[] runGraph(Onnx.GraphProto graph, List<Tensor> inputs);
    }

    private final OnnxNode node;
    private final Tensor[] inputs;
    private final Context context;
    private final Set<String> read = new HashSet<>();

    OnnxCall(OnnxNode node, Tensor[] inputs, Context context) {
        this.node = node;
        this.inputs = inputs;
        this.context = context;
    }

    String op() { return node.op(); }

    int opset() { return node.opset(); }

    OnnxNode node() { return node; }

    /** The device the node computes on: its first present input's, else the graph's. */
    Device device() {
        for (Tensor t : inputs) if (t != null) return t.device();
        return context == null ? dev.kiln.Kiln.defaultDevice() : context.device();
    }

    Tensor[] runGraph(String attribute, List<Tensor> graphInputs) {
        if (context == null) throw new IllegalArgumentException(node.describe() + ": nested graphs run only inside a model");
        return context.runGraph(graphAttr(attribute), graphInputs);
    }

    /** Input {@code i}, which the node must have. */
    Tensor input(int i) {
        Tensor t = optionalInput(i);
        if (t == null) throw new IllegalArgumentException(node.describe() + ": required input " + i + " is missing");
        return t;
    }

    /** Input {@code i}, or null when the node omits it. */
    Tensor optionalInput(int i) { return i < inputs.length ? inputs[i] : null; }

    int inputCount() { return inputs.length; }

    /** The present inputs, in position order (for variadic ops such as Concat). */
    List<Tensor> presentInputs() {
        return Arrays.stream(inputs).filter(Objects::nonNull).toList();
    }

    boolean wantsOutput(int i) { return i < node.outputs().size() && !node.outputs().get(i).isEmpty(); }

    int outputCount() { return node.outputs().size(); }

    private OnnxAttribute attr(String name, String type) {
        read.add(name);
        OnnxAttribute a = node.attributes().get(name);
        if (a != null && !a.type().equals(type))
            throw new IllegalArgumentException(node.describe() + ": attribute " + name + " has type " + a.type() + ", expected " + type);
        return a;
    }

    boolean hasAttr(String name) { return node.attributes().containsKey(name); }

    long intAttr(String name, long def) {
        OnnxAttribute a = attr(name, "int");
        return a == null ? def : (Long) a.values().getFirst();
    }

    boolean boolAttr(String name, boolean def) { return intAttr(name, def ? 1 : 0) != 0; }

    float floatAttr(String name, float def) {
        OnnxAttribute a = attr(name, "float");
        return a == null ? def : (Float) a.values().getFirst();
    }

    String stringAttr(String name, String def) {
        OnnxAttribute a = attr(name, "string");
        return a == null ? def : (String) a.values().getFirst();
    }

    /** An ints attribute, or {@code def} (which may be null) when absent. */
    long[] intsAttr(String name, long[] def) {
        OnnxAttribute a = attr(name, "ints");
        return a == null ? def : a.values().stream().mapToLong(v -> (Long) v).toArray();
    }

    float[] floatsAttr(String name, float[] def) {
        OnnxAttribute a = attr(name, "floats");
        if (a == null) return def;
        float[] out = new float[a.values().size()];
        for (int i = 0; i < out.length; i++) out[i] = (Float) a.values().get(i);
        return out;
    }

    List<String> stringsAttr(String name, List<String> def) {
        OnnxAttribute a = attr(name, "strings");
        return a == null ? def : a.values().stream().map(v -> (String) v).toList();
    }

    /** A tensor attribute on the node's device, or null when absent. */
    Tensor tensorAttr(String name) {
        OnnxAttribute a = attr(name, "tensor");
        return a == null ? null : OnnxTensors.toTensor((Onnx.TensorProto) a.values().getFirst(), null, device());
    }

    private Onnx.GraphProto graphAttr(String name) {
        OnnxAttribute a = attr(name, "graph");
        if (a == null) throw new IllegalArgumentException(node.describe() + ": graph attribute " + name + " is missing");
        return (Onnx.GraphProto) a.values().getFirst();
    }

    /** Node attributes no mapping read: each is an option the runner would otherwise silently drop. */
    SortedMap<String, String> unreadAttributes() {
        SortedMap<String, String> out = new TreeMap<>();
        for (OnnxAttribute a : node.attributes().values())
            if (!read.contains(a.name())) out.put(a.name(), a.type() + " " + a.values());
        return out;
    }

    /** An int64/int32 input (axes, shape, lengths) as host values: ONNX passes such parameters as tensors. */
    static long[] longs(Tensor t) { return t.toLongArray(); }

    static int[] ints(long[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) out[i] = Math.toIntExact(v[i]);
        return out;
    }
}
