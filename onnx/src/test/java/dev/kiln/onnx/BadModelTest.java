package dev.kiln.onnx;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.onnx.proto.Onnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad models get clear exceptions, never a JVM crash: unsupported ops (named with domain and node), truncated and
 * malformed files, old opsets, short or missing tensor data, missing inputs and nodes that fail at run time. And
 * the good case that shares their machinery: weights in an external data file.
 */
class BadModelTest {
    private static final Path SOURCE = Path.of("bad.onnx").toAbsolutePath();

    private static Onnx.ModelProto relu(String op, String domain) {
        ReferenceRuntime.Host x = ReferenceRuntime.Host.floats(new float[] {1, -1}, 2);
        Onnx.ModelProto m = TestModels.node(op, 17, Map.of("x", x), List.of("x"), List.of(), List.of(), "y");
        Onnx.GraphProto g = m.getGraph().toBuilder().setNode(0, m.getGraph().getNode(0).toBuilder().setDomain(domain).setName("my_node")).build();
        Onnx.ModelProto.Builder b = m.toBuilder().setGraph(g);
        if (!domain.isEmpty()) b.addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain(domain).setVersion(1));
        return b.build();
    }

    private static String message(Throwable t) { return t.getMessage(); }

    @Test
    void unsupportedOpNamesOpDomainAndNode() {
        String m = message(assertThrows(IllegalArgumentException.class, () -> OnnxModel.parse(relu("FancyOp", "").toByteArray(), SOURCE)));
        assertTrue(m.contains("FancyOp") && m.contains("'ai.onnx'") && m.contains("opset 17") && m.contains("'my_node'"), m);
    }

    @Test
    void unsupportedDomainNamesIt() {
        String m = message(assertThrows(IllegalArgumentException.class, () -> OnnxModel.parse(relu("Relu", "com.example").toByteArray(), SOURCE)));
        assertTrue(m.contains("Relu") && m.contains("'com.example'") && m.contains("'my_node'"), m);
    }

    @Test
    void truncatedFileSaysSo(@TempDir Path dir) throws Exception {
        byte[] whole = Files.readAllBytes(PaddleOcrTest.classifier());
        Path cut = dir.resolve("cut.onnx");
        Files.write(cut, Arrays.copyOf(whole, whole.length / 3));
        String m = message(assertThrows(OnnxFormatException.class, () -> OnnxModel.load(cut)));
        assertTrue(m.contains("cut.onnx") && m.contains("truncated or malformed"), m);
    }

    @Test
    void garbageAndEmptyFilesSaySo() {
        byte[] garbage = new byte[4096];
        new Random(3).nextBytes(garbage);
        String m = message(assertThrows(OnnxFormatException.class, () -> OnnxModel.parse(garbage, SOURCE)));
        assertTrue(m.contains("not a valid ONNX model"), m);
        m = message(assertThrows(OnnxFormatException.class, () -> OnnxModel.parse(new byte[0], SOURCE)));
        assertTrue(m.contains("not a valid ONNX model") && m.contains("no graph"), m);
    }

    @Test
    void oldOpsetIsRefused() {
        Onnx.ModelProto m = relu("Relu", "");
        Onnx.ModelProto old = m.toBuilder().setOpsetImport(0, Onnx.OperatorSetIdProto.newBuilder().setVersion(5)).build();
        String msg = message(assertThrows(IllegalArgumentException.class, () -> OnnxModel.parse(old.toByteArray(), SOURCE)));
        assertTrue(msg.contains("opset 5") && msg.contains("opset 7 and later"), msg);
    }

    @Test
    void shortInitializerDataNamesTheTensor() throws Exception {
        Onnx.TensorProto shortWeight = TestModels.tensor("w", Onnx.TensorProto.DataType.FLOAT_VALUE, new byte[12], 2, 2);
        Onnx.ModelProto m = TestModels.node("Add", 17, Map.of("x", ReferenceRuntime.Host.floats(new float[4], 2, 2)), List.of("x", "w"),
                List.of(shortWeight), List.of(), "y");
        OnnxModel model = OnnxModel.parse(m.toByteArray(), SOURCE);
        String msg = message(assertThrows(IllegalArgumentException.class, model::toModule));
        assertTrue(msg.contains("'w'") && msg.contains("12 bytes") && msg.contains("needs 16"), msg);
    }

    @Test
    void missingInputAndFailingNodeAreNamed() throws Exception {
        Map<String, ReferenceRuntime.Host> inputs = new LinkedHashMap<>();
        inputs.put("a", ReferenceRuntime.Host.floats(new float[6], 2, 3));
        inputs.put("b", ReferenceRuntime.Host.floats(new float[6], 2, 3));
        Onnx.ModelProto m = TestModels.node("MatMul", 17, inputs, List.of("a", "b"), List.of(), List.of(), "y");
        try (OnnxModule net = OnnxModel.parse(m.toByteArray(), SOURCE).toModule(); Scope scope = Scope.open()) {
            String msg = message(assertThrows(IllegalArgumentException.class, () -> net.forward(Map.of("a", Tensor.zeros(2, 3)))));
            assertTrue(msg.contains("'b' is missing"), msg);
            msg = message(assertThrows(IllegalArgumentException.class, () -> net.forward(Map.of("a", Tensor.zeros(2, 3), "b", Tensor.zeros(2, 3)))));
            assertTrue(msg.contains("MatMul") && msg.contains("'matmul_node'") && msg.contains("[2, 3]"), msg);
        }
    }

    @Test
    void externalDataIsReadFromBesideTheModel(@TempDir Path dir) throws Exception {
        float[] weights = {1.5f, -2, 0.25f, 4};
        java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(8 + 16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(0);
        for (float w : weights) bytes.putFloat(w);
        Files.write(dir.resolve("weights.bin"), bytes.array());
        Onnx.TensorProto external = Onnx.TensorProto.newBuilder().setName("w").setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE).addDims(2).addDims(2)
                .setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("location").setValue("weights.bin"))
                .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("offset").setValue("8"))
                .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("length").setValue("16")).build();
        ReferenceRuntime.Host x = ReferenceRuntime.Host.floats(new float[] {1, 2, 3, 4}, 2, 2);
        Onnx.ModelProto m = TestModels.node("MatMul", 17, Map.of("x", x), List.of("x", "w"), List.of(external), List.of(), "y");
        Path file = dir.resolve("model.onnx");
        Files.write(file, m.toByteArray());
        try (ReferenceRuntime reference = new ReferenceRuntime(file); OnnxModule net = OnnxModel.load(file).toModule(); Scope scope = Scope.open()) {
            ModelComparison.assertClose("external data", net.forward(Map.of("x", x.toTensor(dev.kiln.Kiln.defaultDevice()))), reference.run(Map.of("x", x)));
            assertEquals(List.of("w"), List.copyOf(net.stateDict().keySet()));
        }
        Files.delete(dir.resolve("weights.bin"));
        OnnxModel missing = OnnxModel.load(file);
        Throwable t = assertThrows(RuntimeException.class, missing::toModule);
        assertTrue(t.getMessage().contains("'w'") && t.getMessage().contains("weights.bin"), t.getMessage());
    }
}
