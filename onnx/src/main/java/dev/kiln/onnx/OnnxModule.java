package dev.kiln.onnx;

import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.Module;
import dev.kiln.onnx.proto.Onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An imported ONNX graph as an nn {@link Module}. The graph's initializers (and weights stored as floating-point
 * Constant nodes) are its state, under their ONNX names ({@code features.0.weight} nests as submodules, so
 * {@link #stateDict()} and a safetensors checkpoint use the ONNX names): floating-point ones are parameters, which
 * {@code backward()} and the optimizers reach, except batch-norm running statistics, which are buffers like the
 * other (integer) initializers.
 *
 * <p>Running the graph walks its nodes in order through the op map. Two things make it cheaper than a plain walk:
 * nodes whose inputs are all constants (Constant nodes, buffers) are folded once when the module is made; and
 * the small integer tensors that shape arithmetic produces ({@code Shape -> Gather -> Concat -> Reshape}) stay
 * on the host, so a shape-driven reshape on an accelerator costs no device round trip. The graph's semantics are
 * those of inference (Dropout off, batch norm on its running statistics) in training mode too, so fine-tuning
 * an imported model trains its weights with its normalisation frozen.
 */
public final class OnnxModule extends Module {
    /** Tensors up to this many elements that live on the host stay there for shape arithmetic. */
    private static final int HOST_VALUE_LIMIT = 64;

    private final OnnxModel model;
    private final List<OnnxNode> nodes;
    private final List<String> inputNames, outputNames;
    /** ONNX initializer name to the group holding it and its name there. */
    private final Map<String, Slot> state = new HashMap<>();
    /** Initializers registered directly on this module (not in a group). */
    private final Set<String> topLeaves = new HashSet<>();
    /** Folded constants, on the host, by value name. */
    private final Map<String, Tensor> constants = new HashMap<>();
    /** The large constants copied to each device they were used on. */
    private final Map<Device, Map<String, Tensor>> constantsOnDevice = new ConcurrentHashMap<>();
    private final Map<Onnx.GraphProto, List<OnnxNode>> nestedGraphs = new IdentityHashMap<>();
    /** The values of Constant nodes in nested graphs, per device, by node. */
    private final Map<Device, Map<OnnxNode, Tensor>> nestedConstants = new ConcurrentHashMap<>();

    /** Where an initializer lives in the module tree: read through its owner, as {@link #to(Device)} replaces it. */
    private record Slot(java.util.function.Supplier<Tensor> reader) {
        Tensor get() { return reader.get(); }
    }

    /** A node below the top of the name tree that initializers register in ({@code features} of {@code features.0.weight}). */
    private static final class Group extends Module {
        Slot add(String name, Tensor value, boolean trainable) {
            if (trainable) registerParameter(name, value);
            else registerBuffer(name, value);
            return new Slot(() -> get(name));
        }

        Group child(String name) {
            Module m = children().get(name);
            if (m instanceof Group g) return g;
            return registerModule(name, new Group());
        }

        private Tensor get(String leaf) {
            Tensor t = optionalParam(leaf);
            return t != null ? t : buffer(leaf);
        }
    }

    OnnxModule(OnnxModel model) {
        this.model = model;
        Onnx.GraphProto graph = model.proto().getGraph();
        this.nodes = compile(graph);
        Set<String> initialized = new HashSet<>();
        for (Onnx.TensorProto t : graph.getInitializerList()) initialized.add(t.getName());
        this.inputNames = graph.getInputList().stream().map(Onnx.ValueInfoProto::getName).filter(n -> !initialized.contains(n)).toList();
        this.outputNames = graph.getOutputList().stream().map(Onnx.ValueInfoProto::getName).toList();
        Set<String> statistics = batchNormStatistics(graph);
        Device device = Kiln.defaultDevice();
        java.nio.file.Path dir = model.source().getParent();
        for (Onnx.TensorProto t : graph.getInitializerList()) {
            Tensor value = OnnxTensors.toTensor(t, dir, device);
            register(t.getName(), value, value.dtype().isFloatingPoint() && !statistics.contains(t.getName()));
        }
        liftWeightConstants(graph, statistics, device);
        eval();
        fold();
    }

    private static Set<String> batchNormStatistics(Onnx.GraphProto graph) {
        Set<String> out = new HashSet<>();
        for (Onnx.NodeProto n : graph.getNodeList())
            if (n.getOpType().equals("BatchNormalization"))
                for (int i = 3; i < Math.min(5, n.getInputCount()); i++) out.add(n.getInput(i));
        return out;
    }

    /**
     * Some exporters (paddle2onnx, for one) store weights as Constant nodes rather than initializers. A floating-point
     * Constant of more than one element becomes state like an initializer, under its output's name, unless it is a
     * Resize or Upsample parameter (scales, roi): scalars (epsilons, the 6 of a hard swish) stay constants.
     */
    private void liftWeightConstants(Onnx.GraphProto graph, Set<String> statistics, Device device) {
        Set<String> resizeParameters = new HashSet<>();
        for (Onnx.NodeProto n : graph.getNodeList())
            if (n.getOpType().equals("Resize") || n.getOpType().equals("Upsample"))
                resizeParameters.addAll(n.getInputList().subList(1, n.getInputCount()));
        for (java.util.Iterator<OnnxNode> it = nodes.iterator(); it.hasNext(); ) {
            OnnxNode node = it.next();
            OnnxAttribute value = node.attributes().get("value");
            if (!node.op().equals("Constant") || value == null || !value.type().equals("tensor") || node.outputs().size() != 1) continue;
            Onnx.TensorProto t = (Onnx.TensorProto) value.values().getFirst();
            String name = node.outputs().getFirst();
            if (!OnnxTensors.dtype(t.getDataType(), name).isFloatingPoint() || resizeParameters.contains(name) || state.containsKey(name)) continue;
            long count = 1;
            for (long d : t.getDimsList()) count *= d;
            if (count <= 1) continue;
            register(name, OnnxTensors.toTensor(t, null, device), !statistics.contains(name));
            it.remove();
        }
    }

    /** Registers under the dotted path when its parts are valid module names, else at the top under a safe name. */
    private void register(String onnxName, Tensor value, boolean trainable) {
        String[] parts = onnxName.split("\\.", -1);
        if (parts.length > 1 && java.util.Arrays.stream(parts).noneMatch(String::isEmpty) && !topLeaves.contains(parts[0])) {
            try {
                Module top = children().get(parts[0]);
                Group g = top instanceof Group existing ? existing : registerModule(parts[0], new Group());
                for (int i = 1; i < parts.length - 1; i++) g = g.child(parts[i]);
                state.put(onnxName, g.add(parts[parts.length - 1], value, trainable));
                return;
            } catch (IllegalArgumentException clash) {
                // a name both a leaf and a group ("a.b" beside "a.b.c"): this one goes at the top, flattened
            }
        }
        String flat = onnxName.replace('.', '_');
        while (topLeaves.contains(flat) || children().containsKey(flat)) flat += "_";
        String leaf = flat;
        if (trainable) registerParameter(leaf, value);
        else registerBuffer(leaf, value);
        topLeaves.add(leaf);
        state.put(onnxName, new Slot(() -> {
            Tensor t = optionalParam(leaf);
            return t != null ? t : buffer(leaf);
        }));
    }

    private List<OnnxNode> compile(Onnx.GraphProto graph) {
        List<OnnxNode> out = new ArrayList<>(graph.getNodeCount());
        for (int i = 0; i < graph.getNodeCount(); i++) out.add(model.node(graph.getNode(i), i));
        return out;
    }

    // ---- constant folding ------------------------------------------------------------------------------------

    /** Evaluates, once on the host, every node that reads only constants; what it produces becomes a constant. */
    private void fold() {
        Set<String> constantNames = new HashSet<>();
        state.forEach((name, slot) -> {
            if (!slot.get().requiresGrad()) constantNames.add(name);
        });
        try (GradMode off = GradMode.noGrad()) {
            for (OnnxNode node : nodes) {
                // A parameter's shape is fixed even though its values train: Shape and Size of one fold too.
                boolean shapeOfState = (node.op().equals("Shape") || node.op().equals("Size")) && state.containsKey(node.inputs().getFirst());
                if (hasGraph(node) || !shapeOfState && !node.inputs().stream().allMatch(n -> n.isEmpty() || constantNames.contains(n))) continue;
                Tensor[] ins = new Tensor[node.inputs().size()];
                for (int i = 0; i < ins.length; i++) {
                    String n = node.inputs().get(i);
                    if (n.isEmpty()) continue;
                    Tensor c = constants.get(n);
                    ins[i] = c != null ? c : shapeOfState ? state.get(n).get() : state.get(n).get().to(Device.CPU);
                }
                Tensor[] outs;
                try {
                    outs = OnnxOps.find(node.domain(), node.op()).run(new OnnxCall(node, ins, hostContext()));
                } catch (RuntimeException e) {
                    continue; // left to run time, where the failure names the node and its inputs
                }
                for (int i = 0; i < node.outputs().size(); i++) {
                    String name = node.outputs().get(i);
                    if (name.isEmpty() || i >= outs.length || outs[i] == null) continue;
                    Tensor v = outs[i].device().equals(Device.CPU) ? outs[i] : outs[i].to(Device.CPU);
                    dev.kiln.Scope.escape(v);
                    constants.put(name, v);
                    constantNames.add(name);
                }
            }
        }
        nodes.removeIf(n -> n.outputs().stream().allMatch(o -> o.isEmpty() || constants.containsKey(o)));
    }

    private OnnxCall.Context hostContext() {
        return new OnnxCall.Context() {
            public Device device() { return Device.CPU; }

            public Tensor[] runGraph(Onnx.GraphProto graph, List<Tensor> inputs) {
                throw new IllegalStateException("unreachable: nodes with nested graphs are not folded");
            }
        };
    }

    private static boolean hasGraph(OnnxNode node) {
        return node.attributes().values().stream().anyMatch(a -> a.type().equals("graph") || a.type().equals("graphs"));
    }

    // ---- running ----------------------------------------------------------------------------------------------

    /**
     * The graph's inputs that {@link #forward(Map)} takes, in declaration order.
     *
     * @return the input names
     */
    public List<String> inputNames() { return inputNames; }

    /**
     * The graph's outputs, in declaration order.
     *
     * @return the output names
     */
    public List<String> outputNames() { return outputNames; }

    /**
     * The model this module runs.
     *
     * @return the model
     */
    public OnnxModel model() { return model; }

    /**
     * Runs the graph for a model with one input, returning its first output.
     *
     * @param input the graph's only input
     * @return the first graph output
     * @throws IllegalArgumentException if the model takes more than one input
     */
    @Override
    public Tensor forward(Tensor input) {
        if (inputNames.size() != 1)
            throw new IllegalArgumentException("the model takes " + inputNames.size() + " inputs " + inputNames + "; use forward(Map)");
        return forward(Map.of(inputNames.getFirst(), input)).get(outputNames.getFirst());
    }

    /**
     * Runs the graph on the inputs' device. Parameters must be on that device ({@link #to(Device)}).
     *
     * @param inputs a tensor for every graph input, by name
     * @return every graph output by name, in declaration order
     * @throws IllegalArgumentException if an input is missing or unknown, or a node fails (the message names it)
     */
    public Map<String, Tensor> forward(Map<String, Tensor> inputs) { return forward(inputs, outputNames); }

    /**
     * Runs the graph and returns the named values, which may be any value the graph computes (a layer's activations,
     * the logits before a final Softmax), not only its outputs: for feature extraction, or a loss on logits when
     * fine-tuning.
     *
     * @param inputs a tensor for every graph input, by name
     * @param values the values to return, by name
     * @return the values by name, in the order asked
     * @throws IllegalArgumentException if an input is missing or unknown, a value is not in the graph, or a node
     *                                  fails (the message names it)
     */
    public Map<String, Tensor> forward(Map<String, Tensor> inputs, java.util.Collection<String> values) {
        for (String name : inputs.keySet())
            if (!inputNames.contains(name)) throw new IllegalArgumentException("the model has no input '" + name + "'; its inputs are " + inputNames);
        Device device = null;
        for (String name : inputNames) {
            Tensor t = inputs.get(name);
            if (t == null && !state.containsKey(name))
                throw new IllegalArgumentException("input '" + name + "' is missing; the model's inputs are " + model.inputs());
            if (t != null && device == null) device = t.device();
        }
        if (device == null) device = Kiln.defaultDevice();
        Environment env = new Environment(new HashMap<>(inputs), null, device);
        env.run(nodes);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String name : values) out.put(name, env.lookup(name));
        return out;
    }

    /** The values one graph run sees: its own, then the enclosing graph's (for nested graphs), then constants and state. */
    private final class Environment implements OnnxCall.Context {
        private final Map<String, Tensor> values;
        private final Environment outer;
        private final Device device;

        Environment(Map<String, Tensor> values, Environment outer, Device device) {
            this.values = values;
            this.outer = outer;
            this.device = device;
        }

        @Override
        public Device device() { return device; }

        Tensor lookup(String name) {
            for (Environment e = this; e != null; e = e.outer) {
                Tensor t = e.values.get(name);
                if (t != null) return t;
            }
            Tensor c = constants.get(name);
            if (c != null) return c.numel() <= HOST_VALUE_LIMIT ? c : constantsOnDevice
                    .computeIfAbsent(device, d -> new ConcurrentHashMap<>())
                    .computeIfAbsent(name, n -> dev.kiln.Scope.escape(c.to(device)));
            Slot s = state.get(name);
            if (s != null) return s.get();
            throw new IllegalArgumentException("value '" + name + "' is read before any node, input or initializer produces it");
        }

        void run(List<OnnxNode> graph) {
            for (OnnxNode node : graph) {
                Tensor[] ins = new Tensor[node.inputs().size()];
                for (int i = 0; i < ins.length; i++) {
                    String n = node.inputs().get(i);
                    if (!n.isEmpty()) ins[i] = lookup(n);
                }
                boolean onHost = place(ins);
                Tensor[] outs;
                try {
                    outs = node.op().equals("Constant") ? new Tensor[] {nestedConstant(node)}
                            : OnnxOps.find(node.domain(), node.op()).run(new OnnxCall(node, ins, this));
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException(node.describe() + " failed on inputs " + describe(node, ins) + ": " + e.getMessage(), e);
                }
                for (int i = 0; i < node.outputs().size(); i++) {
                    String name = node.outputs().get(i);
                    if (name.isEmpty()) continue;
                    Tensor t = i < outs.length ? outs[i] : null;
                    if (t == null) throw new IllegalArgumentException(node.describe() + " did not produce its output " + i + " '" + name + "'");
                    if (onHost && t.numel() > HOST_VALUE_LIMIT && !device.equals(Device.CPU)) t = t.to(device);
                    values.put(name, t);
                }
            }
        }

        /**
         * Keeps a node on the host when all its inputs are small host tensors (shape arithmetic); otherwise moves
         * small host inputs to the run's device.
         *
         * @return whether the node runs on the host
         */
        private boolean place(Tensor[] ins) {
            if (device.equals(Device.CPU)) return false;
            boolean allSmallHost = true;
            for (Tensor t : ins)
                if (t != null && !(t.device().equals(Device.CPU) && t.numel() <= HOST_VALUE_LIMIT)) allSmallHost = false;
            if (allSmallHost) return true;
            for (int i = 0; i < ins.length; i++)
                if (ins[i] != null && ins[i].device().equals(Device.CPU) && ins[i].numel() <= HOST_VALUE_LIMIT) ins[i] = ins[i].to(device);
            return false;
        }

        /**
         * A Constant node left in the graph (those of nested graphs: folding covers the top graph) is made once per
         * device and kept, not rebuilt from its protobuf on every run.
         */
        private Tensor nestedConstant(OnnxNode node) {
            return nestedConstants.computeIfAbsent(device, d -> new ConcurrentHashMap<>()).computeIfAbsent(node,
                    n -> dev.kiln.Scope.escape(OnnxOps.find(n.domain(), n.op()).run(new OnnxCall(n, new Tensor[0], this))[0]));
        }

        @Override
        public Tensor[] runGraph(Onnx.GraphProto graph, List<Tensor> inputs) {
            List<OnnxNode> body;
            synchronized (nestedGraphs) {
                body = nestedGraphs.computeIfAbsent(graph, OnnxModule.this::compile);
            }
            if (inputs.size() != graph.getInputCount())
                throw new IllegalArgumentException("graph '" + graph.getName() + "' takes " + graph.getInputCount() + " inputs, got " + inputs.size());
            Map<String, Tensor> own = new HashMap<>();
            for (int i = 0; i < inputs.size(); i++) own.put(graph.getInput(i).getName(), inputs.get(i));
            for (Onnx.TensorProto t : graph.getInitializerList()) own.put(t.getName(), OnnxTensors.toTensor(t, model.source().getParent(), device));
            Environment inner = new Environment(own, this, device);
            inner.run(body);
            Tensor[] out = new Tensor[graph.getOutputCount()];
            for (int i = 0; i < out.length; i++) out[i] = inner.lookup(graph.getOutput(i).getName());
            return out;
        }
    }

    private static String describe(OnnxNode node, Tensor[] ins) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < ins.length; i++)
            parts.add(ins[i] == null ? "-" : "'" + node.inputs().get(i) + "' " + ins[i].dtype() + Arrays.toString(ins[i].shape()) + "@" + ins[i].device());
        return parts.toString();
    }

    @Override
    public void close() {
        super.close();
        constants.values().forEach(Tensor::close);
        constantsOnDevice.values().forEach(m -> m.values().forEach(Tensor::close));
        nestedConstants.values().forEach(m -> m.values().forEach(Tensor::close));
    }

    @Override
    protected String describe() { return "OnnxModule(" + model + ")"; }
}
