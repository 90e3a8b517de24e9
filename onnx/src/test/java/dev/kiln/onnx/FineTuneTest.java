package dev.kiln.onnx;

import dev.kiln.Functional;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.io.Safetensors;
import dev.kiln.nn.optim.Adam;
import dev.kiln.nn.optim.Optimizer;
import dev.kiln.testkit.TestDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An imported model trains: PaddleOCR's text-direction classifier, fine-tuned with Adam on a small batch with
 * cross-entropy on its logits (the value before its final Softmax), lowers its loss; and its state round-trips
 * through a safetensors checkpoint under the ONNX initializer names.
 */
class FineTuneTest {
    static List<TestDevice> devices() { return TestDevice.underTest(); }

    private static final String LOGITS = "p2o.Add.87";

    @ParameterizedTest
    @MethodSource("devices")
    void lossFallsOverAFewAdamSteps(TestDevice device) throws Exception {
        device.activate();
        try (OnnxModule net = OnnxModel.load(PaddleOcrTest.classifier()).toModule();
             Tensor x = PaddleOcrTest.image(7, 48, 64).toTensor(device.device());
             Tensor images = x.expand(2, 3, 48, 64).mul(Tensor.of(new float[] {1, -1}, 2, 1, 1, 1).to(device.device()));
             Tensor labels = Tensor.of(new long[] {1, 0}, 2).to(device.device())) {
            assertTrue(net.parameterCount() > 100_000, "the classifier's initializers are trainable parameters: " + net.parameterCount());
            Optimizer optimizer = new Adam(net.parameters(), 3e-4);
            List<Double> losses = new ArrayList<>();
            for (int step = 0; step < 4; step++) {
                try (Scope scope = Scope.open()) {
                    Tensor logits = net.forward(Map.of("x", images), List.of(LOGITS)).get(LOGITS);
                    Tensor loss = Functional.crossEntropy(logits, labels);
                    optimizer.zeroGrad();
                    loss.backward();
                    optimizer.step();
                    losses.add(loss.item());
                }
            }
            System.out.println("fine-tuning ppocr_mobile_v2.0_cls on " + device + ", loss per Adam step: " + losses);
            assertTrue(losses.getLast() < 0.5 * losses.getFirst(), "the loss should fall by half in 4 Adam steps: " + losses);
        }
    }

    @Test
    void checkpointRoundTripsUnderOnnxNames(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("cls.safetensors");
        Tensor x = PaddleOcrTest.image(8, 48, 64).toTensor(dev.kiln.Kiln.defaultDevice());
        float[] trained;
        try (OnnxModule net = OnnxModel.load(PaddleOcrTest.classifier()).toModule()) {
            assertTrue(net.stateDict().containsKey("fc_0.b_0"), "state names are the ONNX initializer names: " + net.stateDict().keySet());
            try (GradMode off = GradMode.noGrad()) {
                net.stateDict().get("fc_0.b_0").add_(Tensor.of(new float[] {0.25f, -0.25f}, 2));
            }
            Safetensors.write(file, net.stateDict(), Map.of());
            try (GradMode off = GradMode.noGrad()) {
                trained = net.forward(Map.of("x", x), List.of(LOGITS)).get(LOGITS).toFloatArray();
            }
        }
        try (OnnxModule fresh = OnnxModel.load(PaddleOcrTest.classifier()).toModule();
             Safetensors.Contents saved = Safetensors.read(file);
             GradMode off = GradMode.noGrad()) {
            assertEquals(fresh.stateDict().keySet(), saved.tensors().keySet());
            fresh.loadStateDict(saved.tensors());
            assertArrayEquals(trained, fresh.forward(Map.of("x", x), List.of(LOGITS)).get(LOGITS).toFloatArray());
        }
    }
}
