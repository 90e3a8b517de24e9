package dev.kiln.testkit.onnx;

import dev.kiln.Tensor;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What an op mapping sees of one node: its inputs by ONNX position (absent optional inputs are null), its
 * attributes with the ONNX default supplied by the caller, its opset and which outputs are requested.
 * Attributes are marked as read, so a node attribute that no mapping looks at fails the test instead of being
 * silently ignored.
 */
final class OnnxCall {
    private final OnnxNode node;
    private final Tensor[] inputs;
    private final Set<String> read = new HashSet<>();

    OnnxCall(OnnxNode node, Tensor[] inputs) {
        this.node = node;
        this.inputs = inputs;
    }

    String op() { return node.op(); }

    int opset() { return node.opset(); }

    /** Input {@code i}, which the node must have. */
    Tensor input(int i) {
        Tensor t = optionalInput(i);
        if (t == null) throw new IllegalArgumentException(node.op() + ": required input " + i + " is missing");
        return t;
    }

    /** Input {@code i}, or null when the node omits it. */
    Tensor optionalInput(int i) { return i < inputs.length ? inputs[i] : null; }

    /** The present inputs, in position order (for variadic ops such as Concat). */
    List<Tensor> presentInputs() {
        return java.util.Arrays.stream(inputs).filter(java.util.Objects::nonNull).toList();
    }

    boolean wantsOutput(int i) { return node.outputs().containsKey(i); }

    private OnnxNode.Attribute attr(String name, String type) {
        read.add(name);
        OnnxNode.Attribute a = node.attributes().get(name);
        if (a != null && !a.type().equals(type))
            throw new IllegalArgumentException(node.op() + ": attribute " + name + " has type " + a.type() + ", expected " + type);
        return a;
    }

    boolean hasAttr(String name) { return node.attributes().containsKey(name); }

    long intAttr(String name, long def) {
        OnnxNode.Attribute a = attr(name, "int");
        return a == null ? def : (Long) a.values().getFirst();
    }

    boolean boolAttr(String name, boolean def) { return intAttr(name, def ? 1 : 0) != 0; }

    float floatAttr(String name, float def) {
        OnnxNode.Attribute a = attr(name, "float");
        return a == null ? def : (Float) a.values().getFirst();
    }

    String stringAttr(String name, String def) {
        OnnxNode.Attribute a = attr(name, "string");
        return a == null ? def : (String) a.values().getFirst();
    }

    /** An ints attribute, or {@code def} (which may be null) when absent. */
    long[] intsAttr(String name, long[] def) {
        OnnxNode.Attribute a = attr(name, "ints");
        return a == null ? def : a.values().stream().mapToLong(v -> (Long) v).toArray();
    }

    float[] floatsAttr(String name, float[] def) {
        OnnxNode.Attribute a = attr(name, "floats");
        if (a == null) return def;
        float[] out = new float[a.values().size()];
        for (int i = 0; i < out.length; i++) out[i] = (Float) a.values().get(i);
        return out;
    }

    List<String> stringsAttr(String name, List<String> def) {
        OnnxNode.Attribute a = attr(name, "strings");
        return a == null ? def : a.values().stream().map(v -> (String) v).toList();
    }

    /** Node attributes no mapping read: each is an option the runner would otherwise silently drop. */
    SortedMap<String, String> unreadAttributes() {
        SortedMap<String, String> out = new TreeMap<>();
        for (OnnxNode.Attribute a : node.attributes().values())
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
