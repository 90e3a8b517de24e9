package dev.kiln.nn.optim;

import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.BatchNorm1d;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.Sequential;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.kiln.nn.Check.close;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The average against its recurrence computed by hand, buffers included, and the checks on its arguments. */
class ExponentialMovingAverageTest {

    private static Module net() { return new Sequential(new Linear(3, 2), new BatchNorm1d(2)); }

    @Test
    void followsTheRecurrenceForParametersAndFloatingBuffers() {
        double decay = 0.9;
        Module source = net(), average = net();
        var ema = new ExponentialMovingAverage(source, average, decay);
        Map<String, Tensor> sp = source.stateDict(), ap = average.stateDict();
        Map<String, double[]> expected = new java.util.HashMap<>();
        for (var e : sp.entrySet()) {
            assertArrayEquals(e.getValue().toDoubleArray(), ap.get(e.getKey()).toDoubleArray(), e.getKey() + " starts at the source's value");
            expected.put(e.getKey(), e.getValue().toDoubleArray());
        }
        for (int step = 1; step <= 3; step++) {
            // Training moves the weights and the batch-norm statistics.
            source.forward(Tensor.randn(4, 3));
            try (GradMode ng = GradMode.noGrad()) {
                for (Tensor p : source.parameters()) p.add_(Tensor.randn(p.shape()).mul(0.1));
            }
            ema.update();
            for (var e : sp.entrySet()) {
                double[] now = e.getValue().toDoubleArray(), want = expected.get(e.getKey());
                boolean floating = e.getValue().dtype().isFloatingPoint();
                for (int i = 0; i < want.length; i++) want[i] = floating ? decay * want[i] + (1 - decay) * now[i] : now[i];
                close(want, ap.get(e.getKey()).toDoubleArray(), 1e-6, e.getKey() + " after update " + step);
            }
        }
        assertTrue(sp.keySet().stream().anyMatch(k -> !sp.get(k).dtype().isFloatingPoint()), "the test covers a copied (integer) buffer");
    }

    @Test
    void rejectsBadDecayAndDifferentArchitectures() {
        Module a = net();
        assertThrows(IllegalArgumentException.class, () -> new ExponentialMovingAverage(a, net(), 1.0));
        assertThrows(IllegalArgumentException.class, () -> new ExponentialMovingAverage(a, net(), Double.NaN));
        var e = assertThrows(IllegalArgumentException.class, () -> new ExponentialMovingAverage(a, new Sequential(new Linear(3, 4), new BatchNorm1d(4)), 0.5));
        assertTrue(e.getMessage().contains("0.weight"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ExponentialMovingAverage(a, new Linear(3, 2), 0.5));
    }
}
