package dev.kiln.nn;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.metrics.Metrics;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MetricsAndMonitorTest {

    @Test
    void accuracyTopKAndMeanReciprocalRank() {
        try (Scope s = Scope.open()) {
            Tensor scores = Tensor.of(new float[] {0.1f, 0.7f, 0.2f, 0.5f, 0.3f, 0.2f, 0.2f, 0.3f, 0.5f}, 3, 3);
            Tensor targets = Tensor.of(new long[] {1, 1, 0}, 3);
            assertEquals(1.0 / 3, Metrics.accuracy(scores, targets), 1e-12);
            assertEquals(2.0 / 3, Metrics.topK(scores, targets, 2), 1e-12);
            assertEquals(1.0, Metrics.topK(scores, targets, 3), 1e-12);
            assertEquals((1 + 1.0 / 2 + 1.0 / 3) / 3, Metrics.meanReciprocalRank(scores, targets), 1e-12);
            assertThrows(IllegalArgumentException.class, () -> Metrics.accuracy(scores, Tensor.of(new float[] {1, 2, 0}, 3)));
        }
    }

    @Test
    void gradientMonitorFlagsMissingAndNonFiniteGradients() {
        Sequential net = new Sequential(new Linear(2, 2), new Linear(2, 1));
        try (Scope s = Scope.open()) {
            net.get(0).forward(Tensor.ones(1, 2)).sum().backward();
        }
        GradientMonitor.Report r = new GradientMonitor().check(net);
        assertFalse(r.healthy());
        assertTrue(r.problems().stream().anyMatch(p -> p.startsWith("1.weight: no gradient")), r.problems().toString());
        assertEquals(Math.sqrt(4 + 2), r.totalNorm(), 1e-6, "d sum(Wx+b) / dW is x per row, / db is 1");
        net.get(1).parameters().getFirst().setGrad(Tensor.of(new float[] {Float.NaN, 1}, 1, 2));
        net.get(1).parameters().get(1).setGrad(Tensor.of(new float[] {1}, 1));
        assertTrue(new GradientMonitor().check(net).problems().stream().anyMatch(p -> p.contains("NaN")));
    }

    @Test
    void anomalyModeNamesTheOpWhoseBackwardMadeANaN() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {0, 4}, 2).requiresGrad(true);
            x.sqrt().sum().backward();
            assertTrue(Float.isInfinite(x.grad().toFloatArray()[0]), "without anomaly mode the infinity reaches the gradient");
            x.setGrad(null);
            IllegalStateException e;
            try (var a = dev.kiln.autograd.AnomalyMode.detect()) {
                e = assertThrows(IllegalStateException.class, () -> x.sqrt().sum().backward());
            }
            assertTrue(e.getMessage().contains("sqrt"), e.getMessage());
            assertFalse(dev.kiln.autograd.AnomalyMode.isEnabled(), "the previous mode returns");
            try (var a = dev.kiln.autograd.AnomalyMode.detect()) {
                e = assertThrows(IllegalStateException.class, () -> x.mul(2).sub(x.mul(2)).log().sum());
            }
            assertTrue(e.getMessage().startsWith("anomaly: log produced"), "the forward op whose output first held -inf: " + e.getMessage());
        }
    }
}
