package dev.kiln.nn.optim;

import dev.kiln.Autocast;
import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.Activation;
import dev.kiln.nn.Conv2d;
import dev.kiln.nn.Flatten;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Sequential;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loss scaling: unscaled gradients, skipped steps on non-finite gradients, the scale's schedule, and fp16 training. */
class GradScalerTest {

    private static Tensor param(float... values) { return Tensor.of(values, values.length).requiresGrad(true); }

    @Test
    void stepUpdatesWithTheUnscaledGradients() {
        try (Scope s = Scope.open()) {
            Tensor p = param(1f, -2f, 0.5f);
            SGD sgd = new SGD(List.of(p), 0.1);
            GradScaler scaler = new GradScaler(1024, 2, 0.5, 3);
            Tensor loss = p.mul(Tensor.of(new float[] {0.5f, 0.25f, -1f}, 3)).sum();
            Tensor scaled = scaler.scale(loss);
            assertEquals(loss.item() * 1024, scaled.item(), 1e-3);
            scaled.backward();
            assertArrayEquals(new float[] {512f, 256f, -1024f}, p.grad().toFloatArray(), "backward of the scaled loss");
            assertTrue(scaler.step(sgd));
            assertArrayEquals(new float[] {0.5f, 0.25f, -1f}, p.grad().toFloatArray(), "gradients unscaled in place");
            assertArrayEquals(new float[] {0.95f, -2.025f, 0.6f}, p.toFloatArray(), 1e-6f);
            scaler.update();
            assertEquals(1024, scaler.getScale(), "one clean step of three does not grow the scale");
        }
    }

    @Test
    void aNonFiniteGradientSkipsTheStepAndShrinksTheScale() {
        for (float bad : new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN}) {
            try (Scope s = Scope.open()) {
                Tensor p = param(1f, 2f), q = param(3f);
                SGD sgd = new SGD(List.of(p, q), 0.1);
                GradScaler scaler = new GradScaler(8, 2, 0.25, 2);
                p.setGrad(Tensor.of(new float[] {8f, bad}, 2));
                q.setGrad(Tensor.of(new float[] {16f}, 1));
                assertFalse(scaler.step(sgd), "step with a " + bad + " gradient");
                assertArrayEquals(new float[] {1f, 2f}, p.toFloatArray(), "parameters untouched");
                assertArrayEquals(new float[] {3f}, q.toFloatArray());
                scaler.update();
                assertEquals(2, scaler.getScale(), "scale times the backoff factor");
            }
        }
    }

    @Test
    void theScaleGrowsAfterTheIntervalOfCleanSteps() {
        try (Scope s = Scope.open()) {
            Tensor p = param(1f);
            SGD sgd = new SGD(List.of(p), 0.1);
            GradScaler scaler = new GradScaler(4, 3, 0.5, 2);
            double[] expected = {4, 12, 12, 36, 18, 18, 54};
            boolean[] overflow = {false, false, false, false, true, false, false};
            for (int i = 0; i < overflow.length; i++) {
                p.setGrad(Tensor.of(new float[] {overflow[i] ? Float.POSITIVE_INFINITY : 1f}, 1));
                scaler.unscale(sgd);
                assertEquals(!overflow[i], scaler.step(sgd));
                scaler.update();
                assertEquals(expected[i], scaler.getScale(), "scale after update " + (i + 1));
            }
        }
    }

    @Test
    void misuseIsReportedClearly() {
        try (Scope s = Scope.open()) {
            Tensor p = param(1f);
            p.setGrad(Tensor.of(new float[] {1f}, 1));
            SGD sgd = new SGD(List.of(p), 0.1);
            GradScaler scaler = new GradScaler();
            assertEquals(65536, scaler.getScale());
            IllegalStateException noStep = assertThrows(IllegalStateException.class, scaler::update);
            assertTrue(noStep.getMessage().contains("no step()"), noStep.getMessage());
            scaler.unscale(sgd);
            IllegalStateException twice = assertThrows(IllegalStateException.class, () -> scaler.unscale(sgd));
            assertTrue(twice.getMessage().contains("already called"), twice.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new GradScaler(0, 2, 0.5, 1));
        assertThrows(IllegalArgumentException.class, () -> new GradScaler(1, 1, 0.5, 1));
        assertThrows(IllegalArgumentException.class, () -> new GradScaler(1, 2, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new GradScaler(1, 2, 0.5, 0));
    }

    /**
     * A small convolutional classifier trained in float16 under autocast with a scaler whose first scale (2^24)
     * overflows float16 in the backward pass: the first steps are skipped while the scale backs off, then the loss
     * falls. Without the scaler's skipping, those steps would write infinities into the parameters.
     */
    @Test
    void float16TrainingWithTheScalerLowersTheLoss() {
        Kiln.manualSeed(11);
        try (Scope s = Scope.open()) {
            int n = 32;
            Tensor labels = Tensor.arange(n).remainder(2);
            // Class 1 images are bright in the top half, class 0 in the bottom half, plus noise.
            Tensor rows = Tensor.arange(8).lt(4).to(DType.FLOAT32).reshape(1, 1, 8, 1);
            Tensor pattern = Tensor.where(labels.reshape(n, 1, 1, 1).eq(1), rows, rows.rsub(1));
            Tensor x = pattern.expand(n, 1, 8, 8).add(Tensor.randn(n, 1, 8, 8).mul(0.3));
            Sequential model = new Sequential(new Conv2d(1, 4, 3, 1, 1), Activation.relu(), new Flatten(), new Linear(4 * 8 * 8, 2));
            SGD sgd = new SGD(model.parameters(), 0.05);
            GradScaler scaler = new GradScaler(0x1p24, 2, 0.5, 1000);
            List<Double> losses = new ArrayList<>();
            int skipped = 0;
            for (int step = 0; step < 30; step++) {
                try (Scope stepScope = Scope.open()) {
                    sgd.zeroGrad();
                    Tensor loss;
                    try (Autocast ac = Autocast.enable(DType.FLOAT16)) {
                        loss = Functional.crossEntropy(model.forward(x), labels);
                    }
                    losses.add(loss.item());
                    scaler.scale(loss).backward();
                    if (!scaler.step(sgd)) skipped++;
                    scaler.update();
                }
            }
            for (Tensor p : model.parameters()) for (float v : p.toFloatArray()) assertTrue(Float.isFinite(v), "parameters stay finite");
            assertTrue(skipped >= 1 && scaler.getScale() < 0x1p24, "the overflowing scale backed off: " + skipped + " skipped, scale " + scaler.getScale());
            double first = losses.getFirst(), last = losses.getLast();
            assertTrue(last < 0.5 * first, "loss " + first + " -> " + last + ": " + losses);
        }
    }
}
