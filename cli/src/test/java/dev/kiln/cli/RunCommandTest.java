package dev.kiln.cli;

import com.google.protobuf.ByteString;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.io.Npy;
import dev.kiln.onnx.proto.Onnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code kiln run}: a small ONNX model (x + w, then Relu) from .npy inputs to printed and written outputs. */
class RunCommandTest {
    @TempDir
    Path dir;

    private Path model() throws Exception {
        ByteBuffer w = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putFloat(1).putFloat(-5).putFloat(0.5f);
        Onnx.GraphProto graph = Onnx.GraphProto.newBuilder().setName("add_relu")
                .addInput(Onnx.ValueInfoProto.newBuilder().setName("x").setType(Onnx.TypeProto.newBuilder().setTensorType(
                        Onnx.TypeProto.Tensor.newBuilder().setElemType(Onnx.TensorProto.DataType.FLOAT_VALUE).setShape(Onnx.TensorShapeProto.newBuilder()
                                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("batch"))
                                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(3))))))
                .addInitializer(Onnx.TensorProto.newBuilder().setName("w").setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE).addDims(3).setRawData(ByteString.copyFrom(w.array())))
                .addNode(Onnx.NodeProto.newBuilder().setOpType("Add").addInput("x").addInput("w").addOutput("s"))
                .addNode(Onnx.NodeProto.newBuilder().setOpType("Relu").addInput("s").addOutput("y"))
                .addOutput(Onnx.ValueInfoProto.newBuilder().setName("y")).build();
        Path file = dir.resolve("add_relu.onnx");
        Files.write(file, Onnx.ModelProto.newBuilder().setIrVersion(8).setGraph(graph)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(17)).build().toByteArray());
        return file;
    }

    @Test
    void runsAModelFromNpyInputsAndWritesItsOutputs() throws Exception {
        Path model = model(), input = dir.resolve("x.npy"), out = dir.resolve("out");
        try (Scope scope = Scope.open()) {
            Npy.write(input, Tensor.of(new float[] {1, 2, 3, -1, -2, -3}, 2, 3));
        }
        CliTest.Outcome o = CliTest.run("run", model.toString(), "--input", "x=" + input, "--out", out.toString(), "--device", "cpu", "--bench", "--runs", "2");
        assertEquals(0, o.code(), o.err() + o.out());
        assertTrue(o.out().contains("output y: float32 [2, 3]"), o.out());
        assertTrue(o.out().matches("(?s).*bench 2 runs: median \\d+\\.\\d{3} ms, best \\d+\\.\\d{3} ms.*"), o.out());
        try (Scope scope = Scope.open()) {
            Tensor y = Npy.read(out.resolve("y.npy"), Kiln.defaultDevice());
            assertArrayEquals(new float[] {2, 0, 3.5f, 0, 0, 0}, y.toFloatArray());
        }
    }

    @Test
    void missingInputAndBadModelAreReportedNotThrown() throws Exception {
        CliTest.Outcome o = CliTest.run("run", model().toString(), "--device", "cpu");
        assertEquals(1, o.code());
        assertTrue(o.err().contains("no --input for [x]") && o.err().contains("x: FLOAT [batch, 3]"), o.err());
        Path broken = dir.resolve("broken.onnx");
        Files.write(broken, new byte[] {0x0a, 0x7f, 0x01});
        o = CliTest.run("run", broken.toString(), "--device", "cpu");
        assertEquals(1, o.code());
        assertTrue(o.err().contains("not a valid ONNX model"), o.err());
    }
}
