package dev.kiln.testkit;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;

import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Gradients by central finite differences in float64, compared with autograd's. The function's output is reduced
 * with fixed random weights, so every output element's gradient is exercised, not only their sum.
 */
public final class GradCheck {
    private GradCheck() {}

    private static final java.util.concurrent.atomic.AtomicInteger CHECKS = new java.util.concurrent.atomic.AtomicInteger();
    private static final java.util.concurrent.atomic.AtomicInteger INPUTS = new java.util.concurrent.atomic.AtomicInteger();

    static {
        // One line per test JVM, so a run states how many gradients it actually checked.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println(
                "GradCheck: " + CHECKS.get() + " finite-difference gradient checks over " + INPUTS.get() + " inputs on "
                        + System.getProperty("kiln.test.devices", "cpu"))));
    }

    private static final double EPS = 1e-6;
    private static final double RTOL = 1e-4;
    private static final double ATOL = 1e-6;

    /** Checks d f / d input for every input; inputs are float64 arrays with their shapes. */
    public static void check(String what, Function<Tensor[], Tensor> f, double[][] inputs, int[][] shapes) {
        try (Scope scope = Scope.open()) {
            Tensor[] xs = new Tensor[inputs.length];
            for (int i = 0; i < xs.length; i++) xs[i] = Ref.f64(inputs[i], shapes[i]).requiresGrad(true);
            Tensor y = f.apply(xs);
            double[] w = Ref.data(99, (int) y.numel(), -1, 1);
            Tensor weights = Ref.f64(w, y.shape());
            y.mul(weights).sum().backward();
            CHECKS.incrementAndGet();
            for (int i = 0; i < xs.length; i++) {
                INPUTS.incrementAndGet();
                Tensor g = xs[i].grad();
                assertNotNull(g, what + ": no gradient reached input " + i);
                double[] analytic = g.toDoubleArray();
                double[] numeric = numeric(f, inputs, shapes, i, w);
                Ref.assertClose(numeric, analytic, RTOL, ATOL, what + " d/dinput" + i);
            }
        }
    }

    public static void check(String what, Function<Tensor, Tensor> f, double[] input, int... shape) {
        check(what, xs -> f.apply(xs[0]), new double[][] {input}, new int[][] {shape});
    }

    private static double[] numeric(Function<Tensor[], Tensor> f, double[][] inputs, int[][] shapes, int which, double[] w) {
        double[] x = inputs[which].clone();
        double[] grad = new double[x.length];
        try (GradMode ignored = GradMode.noGrad()) {
            for (int j = 0; j < x.length; j++) {
                double orig = x[j];
                x[j] = orig + EPS;
                double plus = weighted(f, inputs, shapes, which, x, w);
                x[j] = orig - EPS;
                double minus = weighted(f, inputs, shapes, which, x, w);
                x[j] = orig;
                grad[j] = (plus - minus) / (2 * EPS);
            }
        }
        return grad;
    }

    private static double weighted(Function<Tensor[], Tensor> f, double[][] inputs, int[][] shapes, int which, double[] x, double[] w) {
        try (Scope s = Scope.open()) {
            Tensor[] xs = new Tensor[inputs.length];
            for (int i = 0; i < xs.length; i++) xs[i] = Ref.f64(i == which ? x : inputs[i], shapes[i]);
            double[] y = f.apply(xs).toDoubleArray();
            double acc = 0;
            for (int i = 0; i < y.length; i++) acc += y[i] * w[i];
            return acc;
        }
    }
}
