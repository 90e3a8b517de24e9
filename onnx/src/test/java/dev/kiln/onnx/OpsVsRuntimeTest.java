package dev.kiln.onnx;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.onnx.proto.Onnx;
import dev.kiln.testkit.TestDevice;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * The ops that real models need beyond the node suite, each as a one-node model run through the importer and
 * through ONNX Runtime on every device, compared with the model tests' tolerance: Resize in every mapped mode,
 * Pad in every mode, TopK, CumSum, NonZero, Expand, Range, Tile, Split, Slice with negative steps, 1-D
 * convolution and pooling with asymmetric pads, HardSigmoid/HardSwish, integer and uint8 tensors, If and Loop.
 */
class OpsVsRuntimeTest {
    /** One case: a node with its inputs (in order; null for an omitted optional input) and attributes. */
    static final class Case {
        final String name, op;
        final int opset;
        final Map<String, ReferenceRuntime.Host> inputs = new LinkedHashMap<>();
        final List<String> order = new ArrayList<>();
        final List<Onnx.AttributeProto> attributes = new ArrayList<>();
        final List<Onnx.TensorProto> initializers = new ArrayList<>();
        String[] outputs = {"y"};

        Case(String name, String op, int opset) {
            this.name = name;
            this.op = op;
            this.opset = opset;
        }

        Case in(String input, ReferenceRuntime.Host value) {
            inputs.put(input, value);
            order.add(input);
            return this;
        }

        /** An input the node does not read (a value its nested graph reads from the enclosing scope). */
        Case graphInput(String input, ReferenceRuntime.Host value) {
            inputs.put(input, value);
            return this;
        }

        Case none() {
            order.add("");
            return this;
        }

        Case init(Onnx.TensorProto t) {
            initializers.add(t);
            order.add(t.getName());
            return this;
        }

        Case attr(String attr, Object value) {
            attributes.add(TestModels.attr(attr, value));
            return this;
        }

        Case out(String... names) {
            outputs = names;
            return this;
        }

        Onnx.ModelProto model() { return TestModels.node(op, opset, inputs, order, initializers, attributes, outputs); }

        @Override
        public String toString() { return name; }
    }

    private static final Random RANDOM = new Random(11);

    static ReferenceRuntime.Host rand(long... shape) {
        int n = 1;
        for (long d : shape) n *= (int) d;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) RANDOM.nextGaussian();
        return ReferenceRuntime.Host.floats(v, shape);
    }

    static ReferenceRuntime.Host f(float... v) { return ReferenceRuntime.Host.floats(v, v.length); }

    static ReferenceRuntime.Host l(long... v) { return ReferenceRuntime.Host.longs(v, v.length); }

    static ReferenceRuntime.Host scalar(long v) { return ReferenceRuntime.Host.longs(new long[] {v}); }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        String[][] nearest = {{"half_pixel", "round_prefer_floor"}, {"asymmetric", "floor"}, {"align_corners", "round_prefer_ceil"},
                {"pytorch_half_pixel", "ceil"}, {"half_pixel_symmetric", "round_prefer_floor"}};
        for (String[] m : nearest)
            cases.add(new Case("Resize nearest " + m[0] + " " + m[1], "Resize", 19).in("x", rand(1, 2, 3, 4)).none().in("scales", f(1, 1, 2.5f, 1.5f))
                    .attr("mode", "nearest").attr("coordinate_transformation_mode", m[0]).attr("nearest_mode", m[1]));
        for (String t : new String[] {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "half_pixel_symmetric"}) {
            cases.add(new Case("Resize linear up " + t, "Resize", 19).in("x", rand(1, 2, 3, 4)).none().none().in("sizes", l(1, 2, 7, 5))
                    .attr("mode", "linear").attr("coordinate_transformation_mode", t));
            cases.add(new Case("Resize linear down " + t, "Resize", 19).in("x", rand(1, 1, 8, 6)).none().in("scales", f(1, 1, 0.5f, 0.6f))
                    .attr("mode", "linear").attr("coordinate_transformation_mode", t));
        }
        cases.add(new Case("Resize opset 11 nearest with roi", "Resize", 11).in("x", rand(1, 1, 2, 3)).in("roi", f()).in("scales", f(1, 1, 2, 2)).attr("mode", "nearest"));
        cases.add(new Case("Resize opset 10 nearest", "Resize", 10).in("x", rand(1, 1, 2, 3)).in("scales", f(1, 1, 3, 2)).attr("mode", "nearest"));
        cases.add(new Case("Upsample opset 9 nearest", "Upsample", 9).in("x", rand(1, 1, 2, 3)).in("scales", f(1, 1, 2, 2)).attr("mode", "nearest"));
        for (String mode : new String[] {"constant", "reflect", "edge", "wrap"})
            cases.add(new Case("Pad " + mode, "Pad", 19).in("x", rand(2, 4, 5)).in("pads", l(0, 2, 1, 1, -1, 3)).in("value", ReferenceRuntime.Host.floats(new float[] {0.5f}))
                    .attr("mode", mode));
        cases.add(new Case("Pad on axes", "Pad", 18).in("x", rand(2, 3, 4)).in("pads", l(1, 2, 0, 1)).none().in("axes", l(-1, 1)).attr("mode", "edge"));
        cases.add(new Case("Pad opset 7 attributes", "Pad", 7).in("x", rand(2, 3)).attr("pads", new long[] {1, 0, 0, 2}).attr("value", 1.5f));
        cases.add(new Case("TopK largest", "TopK", 11).in("x", rand(3, 7)).in("k", l(3)).attr("axis", 1L).out("values", "indices"));
        cases.add(new Case("TopK smallest axis 0", "TopK", 11).in("x", rand(5, 4)).in("k", l(2)).attr("axis", 0L).attr("largest", 0L).out("values", "indices"));
        cases.add(new Case("CumSum", "CumSum", 14).in("x", rand(3, 4)).in("axis", scalar(1)));
        cases.add(new Case("CumSum exclusive reverse", "CumSum", 14).in("x", rand(3, 4)).in("axis", scalar(0)).attr("exclusive", 1L).attr("reverse", 1L));
        cases.add(new Case("NonZero", "NonZero", 13).in("x", ReferenceRuntime.Host.floats(new float[] {0, 1, 0, 2, 3, 0}, 2, 3)));
        cases.add(new Case("Expand", "Expand", 13).in("x", rand(3, 1)).in("shape", l(2, 1, 4)));
        cases.add(new Case("Range float", "Range", 11).in("start", ReferenceRuntime.Host.floats(new float[] {1})).in("limit", ReferenceRuntime.Host.floats(new float[] {4}))
                .in("delta", ReferenceRuntime.Host.floats(new float[] {0.5f})));
        cases.add(new Case("Range int64", "Range", 11).in("start", scalar(10)).in("limit", scalar(1)).in("delta", scalar(-3)));
        cases.add(new Case("Tile", "Tile", 13).in("x", rand(2, 3)).in("repeats", l(2, 2)));
        cases.add(new Case("Split", "Split", 13).in("x", rand(2, 7)).in("split", l(3, 4)).attr("axis", 1L).out("a", "b"));
        cases.add(new Case("Split num_outputs", "Split", 18).in("x", rand(7, 2)).attr("num_outputs", 3L).out("a", "b", "c"));
        cases.add(new Case("Slice negative step", "Slice", 13).in("x", rand(5, 6)).in("starts", l(-1, 4)).in("ends", l(-100, 0)).in("axes", l(0, 1)).in("steps", l(-2, -1)));
        cases.add(new Case("Slice opset 9 attributes", "Slice", 9).in("x", rand(5, 6)).attr("starts", new long[] {1, -3}).attr("ends", new long[] {3, 1000}).attr("axes", new long[] {0, 1}));
        cases.add(new Case("Shape start end", "Shape", 15).in("x", rand(2, 3, 4, 5)).attr("start", 1L).attr("end", -1L));
        cases.add(new Case("Conv 1-D asymmetric pads", "Conv", 13).in("x", rand(2, 3, 11)).in("w", rand(4, 3, 3)).in("b", rand(4))
                .attr("pads", new long[] {2, 0}).attr("strides", new long[] {2}));
        cases.add(new Case("Conv 1-D depthwise same upper strided", "Conv", 13).in("x", rand(1, 2, 10)).in("w", rand(2, 1, 4)).attr("group", 2L)
                .attr("auto_pad", "SAME_UPPER").attr("strides", new long[] {3}));
        cases.add(new Case("Conv 1-D dilated", "Conv", 13).in("x", rand(1, 2, 9)).in("w", rand(3, 2, 3)).attr("dilations", new long[] {2}).attr("pads", new long[] {1, 2}));
        cases.add(new Case("MaxPool 1-D", "MaxPool", 12).in("x", rand(1, 2, 10)).attr("kernel_shape", new long[] {3}).attr("strides", new long[] {2}).attr("pads", new long[] {1, 1}));
        cases.add(new Case("AveragePool asymmetric pads", "AveragePool", 19).in("x", rand(1, 2, 5, 6)).attr("kernel_shape", new long[] {3, 2})
                .attr("pads", new long[] {1, 0, 0, 1}));
        cases.add(new Case("AveragePool 1-D count_include_pad", "AveragePool", 19).in("x", rand(1, 2, 7)).attr("kernel_shape", new long[] {3})
                .attr("pads", new long[] {0, 2}).attr("count_include_pad", 1L));
        cases.add(new Case("GlobalAveragePool 1-D", "GlobalAveragePool", 13).in("x", rand(2, 3, 5)));
        cases.add(new Case("HardSigmoid", "HardSigmoid", 7).in("x", rand(3, 5)).attr("alpha", 0.3f).attr("beta", 0.4f));
        cases.add(new Case("HardSwish", "HardSwish", 14).in("x", rand(3, 5)));
        cases.add(new Case("int32 Add", "Add", 14).in("a", new ReferenceRuntime.Host(new int[] {1, -2, 3}, new long[] {3}))
                .in("b", new ReferenceRuntime.Host(new int[] {7}, new long[] {1})));
        cases.add(new Case("uint8 initializer cast to float", "Cast", 13)
                .init(TestModels.tensor("u8", Onnx.TensorProto.DataType.UINT8_VALUE, new byte[] {0, 7, (byte) 200, (byte) 255}, 2, 2))
                .attr("to", (long) Onnx.TensorProto.DataType.FLOAT_VALUE));
        cases.add(new Case("Equal and Where-style int64 compare", "Greater", 13).in("a", l(1, 5, 3)).in("b", l(2, 2, 3)));
        cases.add(new Case("ConstantOfShape", "ConstantOfShape", 9).in("shape", l(2, 3)).attr("value", TestModels.floats("v", new float[] {2.5f}, 1)));
        cases.add(loop());
        return cases;
    }

    /** Loop 3 times: acc += x (x read from the enclosing graph), scanning acc * 2 each iteration. */
    private static Case loop() {
        Onnx.GraphProto body = Onnx.GraphProto.newBuilder().setName("body")
                .addInput(TestModels.typed("i", ReferenceRuntime.Host.longs(new long[] {0})))
                .addInput(TestModels.typed("cond", new ReferenceRuntime.Host(new boolean[] {true}, new long[0])))
                .addInput(TestModels.typed("acc", ReferenceRuntime.Host.floats(new float[2], 2)))
                .addNode(Onnx.NodeProto.newBuilder().setOpType("Add").addInput("acc").addInput("x").addOutput("acc_next"))
                .addNode(Onnx.NodeProto.newBuilder().setOpType("Identity").addInput("cond").addOutput("cond_next"))
                .addNode(Onnx.NodeProto.newBuilder().setOpType("Add").addInput("acc_next").addInput("acc_next").addOutput("doubled"))
                .addOutput(Onnx.ValueInfoProto.newBuilder().setName("cond_next"))
                .addOutput(Onnx.ValueInfoProto.newBuilder().setName("acc_next"))
                .addOutput(Onnx.ValueInfoProto.newBuilder().setName("doubled"))
                .build();
        return new Case("Loop with an outer-scope value and a scan output", "Loop", 16).in("trips", scalar(3)).none().in("acc0", rand(2)).graphInput("x", rand(2))
                .attr("body", body).out("acc_final", "scanned");
    }

    @TestFactory
    Stream<DynamicTest> opsMatchOnnxRuntime() {
        return TestDevice.perDevice(cases(), Case::toString, (device, c) -> {
            byte[] bytes = c.model().toByteArray();
            try (ReferenceRuntime reference = new ReferenceRuntime(bytes);
                 OnnxModule module = OnnxModel.parse(bytes, Path.of(c.name + ".onnx").toAbsolutePath()).toModule();
                 Scope scope = Scope.open();
                 GradMode off = GradMode.noGrad()) {
                Map<String, ReferenceRuntime.Host> expected = reference.run(c.inputs);
                Map<String, Tensor> feed = new LinkedHashMap<>();
                c.inputs.forEach((k, v) -> feed.put(k, v.toTensor(device.device())));
                ModelComparison.assertClose(c.name + " on " + device, module.forward(feed), expected);
            } catch (Exception e) {
                throw new AssertionError(c.name + " on " + device + ": " + e, e);
            }
        });
    }
}
