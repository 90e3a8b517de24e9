package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

/** Test helpers: deterministic data, closeness checks, and gradients by central finite differences in float64. */
public final class Check {
    private Check() {}

    /** Deterministic values uniform in [lo, hi). */
    public static double[] data(long seed, int n, double lo, double hi) {
        Random r = new Random(seed);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = lo + (hi - lo) * r.nextDouble();
        return v;
    }

    /** A float64 tensor; the calling test is skipped on a device without float64. */
    public static Tensor f64(double[] v, int... shape) {
        dev.kiln.testkit.TestDevice.requireFloat64();
        return Tensor.of(v, shape);
    }

    public static void close(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double scale = Math.max(1, Math.abs(expected[i]));
            if (!(Math.abs(expected[i] - actual[i]) <= tol * scale))
                fail(what + ": element " + i + " expected " + expected[i] + " but was " + actual[i]);
        }
    }

    public static void close(double expected, double actual, double tol, String what) {
        close(new double[] {expected}, new double[] {actual}, tol, what);
    }

    /**
     * Checks the gradients of {@code f(module, input)} with respect to the input (when {@code input} requires
     * grad) and every parameter of the module, which is first converted to float64. The output is reduced with
     * fixed random weights so every output element counts. {@code seed} is reset before each evaluation, so
     * random layers (dropout) draw the same mask every time.
     */
    public static void moduleGrads(String what, Module module, Tensor input, Function<Tensor, Tensor> f) {
        dev.kiln.testkit.TestDevice.requireFloat64();
        module.to(DType.FLOAT64);
        Map<String, Tensor> targets = new LinkedHashMap<>(module.namedParameters());
        if (input.requiresGrad()) targets.put("input", input);
        module.zeroGrad();
        if (input.grad() != null) input.setGrad(null);
        double[] w;
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(7);
            Tensor y = f.apply(input);
            w = data(99, (int) y.numel(), -1, 1);
            y.mul(Tensor.of(w, y.shape())).sum().backward();
        }
        for (Map.Entry<String, Tensor> e : targets.entrySet()) {
            Tensor t = e.getValue();
            assertNotNull(t.grad(), what + ": no gradient reached " + e.getKey());
            double[] analytic = t.grad().toDoubleArray();
            double[] numeric = numeric(t, () -> weighted(f, input, w));
            close(numeric, analytic, 1e-5, what + " d/d" + e.getKey());
        }
    }

    /** Gradient of a function of plain tensors (each float64 and requiring grad). */
    public static void grads(String what, Function<Tensor[], Tensor> f, Tensor... inputs) {
        double[] w;
        try (Scope s = Scope.open()) {
            Tensor y = f.apply(inputs);
            w = data(98, (int) y.numel(), -1, 1);
            y.mul(Tensor.of(w, y.shape())).sum().backward();
        }
        for (int i = 0; i < inputs.length; i++) {
            Tensor t = inputs[i];
            if (!t.requiresGrad()) continue;
            assertNotNull(t.grad(), what + ": no gradient reached input " + i);
            double[] analytic = t.grad().toDoubleArray();
            double[] numeric = numeric(t, () -> {
                try (Scope s = Scope.open()) {
                    double[] y = f.apply(inputs).toDoubleArray();
                    double acc = 0;
                    for (int k = 0; k < y.length; k++) acc += y[k] * w[k];
                    return acc;
                }
            });
            close(numeric, analytic, 1e-5, what + " d/dinput" + i);
        }
    }

    private static double weighted(Function<Tensor, Tensor> f, Tensor input, double[] w) {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(7);
            double[] y = f.apply(input).toDoubleArray();
            double acc = 0;
            for (int i = 0; i < y.length; i++) acc += y[i] * w[i];
            return acc;
        }
    }

    /** Central differences of {@code objective} over every element of {@code t}, perturbed in place. */
    private static double[] numeric(Tensor t, java.util.function.DoubleSupplier objective) {
        double eps = 1e-6;
        double[] x = t.toDoubleArray();
        double[] grad = new double[x.length];
        try (GradMode g = GradMode.noGrad()) {
            for (int j = 0; j < x.length; j++) {
                double orig = x[j];
                x[j] = orig + eps;
                set(t, x);
                double plus = objective.getAsDouble();
                x[j] = orig - eps;
                set(t, x);
                double minus = objective.getAsDouble();
                x[j] = orig;
                set(t, x);
                grad[j] = (plus - minus) / (2 * eps);
            }
        }
        return grad;
    }

    private static void set(Tensor t, double[] values) {
        try (Tensor src = Tensor.of(values, t.shape())) {
            t.copy_(src);
        }
    }

    public static void assertShape(int[] expected, Tensor t) { assertArrayEquals(expected, t.shape(), "shape"); }

    /** Every parameter and buffer value of a module, flattened in order, for bit-exact comparisons. */
    public static List<double[]> snapshot(Module m) {
        List<double[]> out = new ArrayList<>();
        for (Tensor t : m.stateDict().values()) out.add(t.toDoubleArray());
        return out;
    }
}
