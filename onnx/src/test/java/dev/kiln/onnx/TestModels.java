package dev.kiln.onnx;

import com.google.protobuf.ByteString;
import dev.kiln.onnx.proto.Onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

/** Small ONNX models built in code, for op tests and bad-model tests: one node, typed inputs, untyped outputs. */
final class TestModels {
    private TestModels() {}

    /** A node attribute: value is a Long, Float, String, long[], float[] or TensorProto. */
    static Onnx.AttributeProto attr(String name, Object value) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name);
        switch (value) {
            case Long l -> a.setType(Onnx.AttributeProto.AttributeType.INT).setI(l);
            case Integer i -> a.setType(Onnx.AttributeProto.AttributeType.INT).setI(i);
            case Float f -> a.setType(Onnx.AttributeProto.AttributeType.FLOAT).setF(f);
            case String s -> a.setType(Onnx.AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(s));
            case long[] ls -> {
                a.setType(Onnx.AttributeProto.AttributeType.INTS);
                for (long l : ls) a.addInts(l);
            }
            case float[] fs -> {
                a.setType(Onnx.AttributeProto.AttributeType.FLOATS);
                for (float f : fs) a.addFloats(f);
            }
            case Onnx.TensorProto t -> a.setType(Onnx.AttributeProto.AttributeType.TENSOR).setT(t);
            case Onnx.GraphProto g -> a.setType(Onnx.AttributeProto.AttributeType.GRAPH).setG(g);
            default -> throw new IllegalArgumentException("attribute value " + value.getClass());
        }
        return a.build();
    }

    static int elementType(ReferenceRuntime.Host h) {
        return switch (h.data()) {
            case float[] f -> Onnx.TensorProto.DataType.FLOAT_VALUE;
            case long[] l -> Onnx.TensorProto.DataType.INT64_VALUE;
            case int[] i -> Onnx.TensorProto.DataType.INT32_VALUE;
            case boolean[] b -> Onnx.TensorProto.DataType.BOOL_VALUE;
            default -> throw new IllegalArgumentException("unknown host data");
        };
    }

    static Onnx.ValueInfoProto typed(String name, ReferenceRuntime.Host h) {
        Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
        for (long d : h.shape()) shape.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder().setTensorType(
                Onnx.TypeProto.Tensor.newBuilder().setElemType(elementType(h)).setShape(shape))).build();
    }

    /** An initializer (or Constant value) holding raw little-endian bytes of the given ONNX type. */
    static Onnx.TensorProto tensor(String name, int onnxType, byte[] littleEndian, long... dims) {
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(onnxType).setRawData(ByteString.copyFrom(littleEndian));
        for (long d : dims) t.addDims(d);
        return t.build();
    }

    static Onnx.TensorProto floats(String name, float[] values, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return tensor(name, Onnx.TensorProto.DataType.FLOAT_VALUE, b.array(), dims);
    }

    /**
     * A model of one node {@code op} (default domain, {@code opset}) reading graph inputs named by {@code inputs}'
     * keys (an empty key is an omitted optional input), with initializers, producing {@code outputs}.
     */
    static Onnx.ModelProto node(String op, int opset, Map<String, ReferenceRuntime.Host> inputs, List<String> inputOrder,
                                List<Onnx.TensorProto> initializers, List<Onnx.AttributeProto> attributes, String... outputs) {
        Onnx.NodeProto.Builder node = Onnx.NodeProto.newBuilder().setOpType(op).setName(op.toLowerCase() + "_node").addAllInput(inputOrder).addAllAttribute(attributes);
        Onnx.GraphProto.Builder graph = Onnx.GraphProto.newBuilder().setName("test").addAllInitializer(initializers);
        for (String out : outputs) {
            node.addOutput(out);
            graph.addOutput(Onnx.ValueInfoProto.newBuilder().setName(out));
        }
        inputs.forEach((name, h) -> graph.addInput(typed(name, h)));
        graph.addNode(node);
        return model(graph.build(), opset);
    }

    static Onnx.ModelProto model(Onnx.GraphProto graph, int opset) {
        return Onnx.ModelProto.newBuilder().setIrVersion(8).setProducerName("kiln-test").setGraph(graph)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).build();
    }
}
