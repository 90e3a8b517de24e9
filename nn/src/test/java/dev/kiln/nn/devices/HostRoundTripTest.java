package dev.kiln.nn.devices;

import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.LSTM;
import dev.kiln.nn.Module;
import dev.kiln.nn.RNNBase;
import dev.kiln.nn.models.Gpt;
import dev.kiln.nn.models.MnistNets;
import dev.kiln.nn.optim.AdamW;
import dev.kiln.nn.optim.Optimizer;
import dev.kiln.nn.optim.SGD;
import dev.kiln.testkit.BackendTest;
import dev.kiln.testkit.HostReadCounter;
import dev.kiln.testkit.TestDevice;

import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A training step never waits for the host: forward, backward and the optimizer's update of a GPT (AdamW), LeNet-5
 * (SGD) and a two-layer LSTM (SGD) issue no {@code copyToHost} at all, on every device under test
 * ({@code kiln.test.devices}); reading the loss afterwards is the one read. Bounds checks and constants that read
 * back or were rebuilt per call would show up here with the op that asked.
 */
class HostRoundTripTest {
    private static final int STEPS = 2;

    @BackendTest
    void gptAdamWStep(TestDevice device) {
        Gpt.Config tiny = new Gpt.Config(11, 8, 2, 2, 16, false);
        long[] tokens = new long[2 * 8], next = new long[2 * 8];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = i % 5;
            next[i] = (i + 1) % 5;
        }
        assertStepsDoNotRead(device, () -> new Gpt(tiny), m -> new AdamW(m.parameters(), 1e-3),
                m -> ((Gpt) m).loss(Tensor.of(tokens, 2, 8), Tensor.of(next, 2, 8)));
    }

    @BackendTest
    void lenet5SgdStep(TestDevice device) {
        float[] images = new float[4 * 28 * 28];
        for (int i = 0; i < images.length; i++) images[i] = (i % 13) / 13f;
        assertStepsDoNotRead(device, MnistNets::lenet5, m -> new SGD(m.parameters(), 0.01),
                m -> Functional.crossEntropy(m.forward(Tensor.of(images, 4, 1, 28, 28)), Tensor.of(new long[] {3, 1, 4, 1}, 4)));
    }

    @BackendTest
    void lstmSgdStep(TestDevice device) {
        assertStepsDoNotRead(device, () -> new LSTM(6, 8, RNNBase.Options.defaults().withNumLayers(2)), m -> new SGD(m.parameters(), 0.01),
                m -> Functional.mseLoss(m.forward(Tensor.randn(5, 3, 6)), Tensor.zeros(5, 3, 8)));
    }

    private static void assertStepsDoNotRead(TestDevice device, Supplier<Module> model, java.util.function.Function<Module, Optimizer> optimizer,
                                             java.util.function.Function<Module, Tensor> loss) {
        dev.kiln.Device before = Kiln.defaultDevice();
        device.activate();
        Kiln.manualSeed(7);
        try (HostReadCounter reads = new HostReadCounter(device.device()); Module m = model.get(); Optimizer opt = optimizer.apply(m)) {
            Tensor last = null;
            for (int step = 0; step < STEPS; step++) {
                try (Scope s = Scope.open()) {
                    opt.zeroGrad();
                    Tensor l = loss.apply(m);
                    l.backward();
                    opt.step();
                    if (last != null) last.close();
                    last = s.keep(l.detach());
                }
            }
            assertEquals(0, reads.count(), () -> STEPS + " training steps on " + device + " read back from the device:\n" + reads.callers());
            double value = last.item();
            assertEquals(1, reads.count(), () -> "reading the loss (" + value + ") should be the one read:\n" + reads.callers());
            last.close();
        } finally {
            // The other nn tests in this JVM run on the default device: give it back.
            Kiln.setDefaultDevice(before);
        }
    }
}
