package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.List;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Function;
import java.util.stream.Stream;

import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.data;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Elementwise ops: values against float64 references in float32 and float64, gradients by finite differences. */
class ElementwiseConformanceTest {

    private record Unary(String name, Function<Tensor, Tensor> op, DoubleUnaryOperator ref, double lo, double hi) {}

    static double erf(double x) {
        // Reference erf by Simpson integration of 2/sqrt(pi) e^{-t^2}; independent of the backends' series.
        int n = 2000;
        double h = x / n, s = 0;
        for (int i = 0; i <= n; i++) {
            double t = i * h, w = (i == 0 || i == n) ? 1 : (i % 2 == 1 ? 4 : 2);
            s += w * Math.exp(-t * t);
        }
        return 2 / Math.sqrt(Math.PI) * s * h / 3;
    }

    private static double sigmoid(double x) { return 1 / (1 + Math.exp(-x)); }

    private static final Unary[] UNARY = {
            new Unary("neg", Tensor::neg, x -> -x, -3, 3),
            new Unary("abs", Tensor::abs, Math::abs, -3, 3),
            new Unary("exp", Tensor::exp, Math::exp, -3, 3),
            new Unary("log", Tensor::log, Math::log, 0.1, 5),
            new Unary("sqrt", Tensor::sqrt, Math::sqrt, 0.1, 5),
            new Unary("rsqrt", Tensor::rsqrt, x -> 1 / Math.sqrt(x), 0.1, 5),
            new Unary("reciprocal", Tensor::reciprocal, x -> 1 / x, 0.5, 5),
            new Unary("square", Tensor::square, x -> x * x, -3, 3),
            new Unary("sin", Tensor::sin, Math::sin, -3, 3),
            new Unary("cos", Tensor::cos, Math::cos, -3, 3),
            new Unary("tanh", Tensor::tanh, Math::tanh, -3, 3),
            new Unary("erf", Tensor::erf, ElementwiseConformanceTest::erf, -3, 3),
            new Unary("sigmoid", Tensor::sigmoid, ElementwiseConformanceTest::sigmoid, -6, 6),
            new Unary("relu", Tensor::relu, x -> Math.max(x, 0), -3, 3),
            new Unary("leaky_relu", x -> x.leakyRelu(0.1), x -> x > 0 ? x : 0.1 * x, -3, 3),
            new Unary("elu", x -> x.elu(0.7), x -> x > 0 ? x : 0.7 * (Math.exp(x) - 1), -3, 3),
            new Unary("gelu", Tensor::gelu, x -> 0.5 * x * (1 + erf(x / Math.sqrt(2))), -4, 4),
            new Unary("gelu_tanh", x -> x.gelu(true), x -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))), -4, 4),
            new Unary("softplus", Tensor::softplus, x -> Math.log1p(Math.exp(x)), -5, 5),
            new Unary("silu", Tensor::silu, x -> x * sigmoid(x), -5, 5),
            new Unary("clamp", x -> x.clamp(-0.5, 0.8), x -> Math.min(Math.max(x, -0.5), 0.8), -2, 2),
            new Unary("pow_scalar", x -> x.pow(2.5), x -> Math.pow(x, 2.5), 0.2, 3),
            new Unary("add_scalar", x -> x.add(1.5), x -> x + 1.5, -3, 3),
            new Unary("rsub_scalar", x -> x.rsub(1.5), x -> 1.5 - x, -3, 3),
            new Unary("mul_scalar", x -> x.mul(-2.5), x -> x * -2.5, -3, 3),
            new Unary("div_scalar", x -> x.div(4), x -> x / 4, -3, 3),
    };

    @TestFactory
    Stream<DynamicTest> unaryValuesAndGradients() {
        return TestDevice.perDevice(List.of(UNARY), Unary::name, (device, u) -> {
            double[] x = data(u.name.hashCode(), 24, u.lo, u.hi);
            for (DType dt : Ref.floatingTypes()) {
                try (Scope s = Scope.open()) {
                    Tensor in = Tensor.of(x, dt, null, 2, 3, 4);
                    Tensor out = u.op.apply(in);
                    assertEquals(dt, out.dtype(), u.name + " keeps the dtype");
                    double[] xr = dt == DType.FLOAT32 ? in.toDoubleArray() : x;
                    assertClose(Ref.map(xr, u.ref), out, Ref.rtol(dt), Ref.atol(dt), u.name + " " + dt);
                }
            }
            // Away from kinks, where finite differences are meaningful.
            double[] smooth = Ref.map(x, v -> Math.abs(v) < 0.05 || Math.abs(v + 0.5) < 0.05 || Math.abs(v - 0.8) < 0.05 ? v + 0.13 : v);
            GradCheck.check(u.name, u.op, smooth, 2, 3, 4);
        });
    }

    private record Binary(String name, java.util.function.BinaryOperator<Tensor> op, DoubleBinaryOperator ref, double lo, double hi) {}

    private static final Binary[] BINARY = {
            new Binary("add", Tensor::add, Double::sum, -3, 3),
            new Binary("sub", Tensor::sub, (a, b) -> a - b, -3, 3),
            new Binary("mul", Tensor::mul, (a, b) -> a * b, -3, 3),
            new Binary("div", Tensor::div, (a, b) -> a / b, 0.5, 3),
            new Binary("pow", Tensor::pow, Math::pow, 0.5, 2),
            new Binary("maximum", Tensor::maximum, Math::max, -3, 3),
            new Binary("minimum", Tensor::minimum, Math::min, -3, 3),
    };

    /** Broadcasting pairs: same shape, trailing vector, column against row, scalar, leading new dims. */
    private static final int[][][] SHAPES = {
            {{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{4, 1}, {1, 5}}, {{2, 3}, {}}, {{3}, {2, 4, 3}}, {{2, 1, 3}, {4, 1}},
    };

    private record BinaryCase(Binary op, int[][] shapes) {
        @Override
        public String toString() { return op.name + " " + java.util.Arrays.toString(shapes[0]) + " " + java.util.Arrays.toString(shapes[1]); }
    }

    @TestFactory
    Stream<DynamicTest> binaryBroadcastValuesAndGradients() {
        List<BinaryCase> cases = Stream.of(BINARY).flatMap(b -> Stream.of(SHAPES).map(s -> new BinaryCase(b, s))).toList();
        return TestDevice.perDevice(cases, BinaryCase::toString, (device, c) -> {
            Binary b = c.op;
            int[][] pair = c.shapes;
            double[] x = data(b.name.hashCode() + 1, Ref.numel(pair[0]), b.lo, b.hi);
            double[] y = data(b.name.hashCode() + 2, Ref.numel(pair[1]), b.lo, b.hi);
            try (Scope s = Scope.open()) {
                Tensor out = b.op.apply(Ref.f64(x, pair[0]), Ref.f64(y, pair[1]));
                assertClose(broadcastRef(x, pair[0], y, pair[1], b.ref), out, 1e-12, 1e-12, b.name + " " + java.util.Arrays.deepToString(pair));
                Tensor out32 = b.op.apply(Ref.f32(x, pair[0]), Ref.f32(y, pair[1]));
                assertEquals(DType.FLOAT32, out32.dtype());
                assertClose(broadcastRef(x, pair[0], y, pair[1], b.ref), out32, 1e-4, 1e-5, b.name + " float32");
            }
            GradCheck.check(b.name + java.util.Arrays.deepToString(pair), xs -> b.op.apply(xs[0], xs[1]), new double[][] {x, y}, pair);
        });
    }

    /** NumPy broadcasting computed directly on host arrays. */
    static double[] broadcastRef(double[] x, int[] xs, double[] y, int[] ys, DoubleBinaryOperator f) {
        int r = Math.max(xs.length, ys.length);
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int a = i < r - xs.length ? 1 : xs[i - (r - xs.length)];
            int b = i < r - ys.length ? 1 : ys[i - (r - ys.length)];
            out[i] = Math.max(a, b);
        }
        int n = Ref.numel(out);
        double[] res = new double[n];
        int[] idx = new int[r];
        for (int k = 0; k < n; k++) {
            int rem = k;
            for (int d = r - 1; d >= 0; d--) {
                idx[d] = rem % out[d];
                rem /= out[d];
            }
            res[k] = f.applyAsDouble(x[flat(idx, xs, r)], y[flat(idx, ys, r)]);
        }
        return res;
    }

    private static int flat(int[] idx, int[] shape, int r) {
        int f = 0;
        for (int d = 0; d < shape.length; d++) {
            int i = idx[d + r - shape.length];
            f = f * shape[d] + (shape[d] == 1 ? 0 : i);
        }
        return f;
    }

    @BackendTest
    void comparisonsAndWhere(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.of(new double[] {1, 2, 3, 4, Double.NaN, -1}, DType.FLOAT32, null, 2, 3);
            Tensor b = Tensor.of(new double[] {3, 2, 1}, DType.FLOAT32, null, 3);
            assertArrayEquals(new boolean[] {false, true, false, false, false, false}, a.eq(b).toBooleanArray());
            assertArrayEquals(new boolean[] {true, false, true, true, true, true}, a.ne(b).toBooleanArray());
            assertArrayEquals(new boolean[] {true, false, false, false, false, true}, a.lt(b).toBooleanArray());
            assertArrayEquals(new boolean[] {true, true, false, false, false, true}, a.le(b).toBooleanArray());
            assertArrayEquals(new boolean[] {false, false, true, true, false, false}, a.gt(b).toBooleanArray());
            assertArrayEquals(new boolean[] {false, true, true, true, false, false}, a.ge(2.0).toBooleanArray());
            assertArrayEquals(new boolean[] {false, false, false, false, true, false}, a.isNan().toBooleanArray());
            assertEquals(DType.BOOL, a.gt(b).dtype());
            Tensor w = Tensor.where(a.gt(b), a, b.neg());
            assertClose(new double[] {-3, -2, 3, 4, -2, -1}, w, 0, 0, "where");
            Tensor both = a.gt(0).logicalAnd(a.lt(4));
            assertArrayEquals(new boolean[] {true, true, true, false, false, false}, both.toBooleanArray());
            assertArrayEquals(new boolean[] {false, false, false, true, true, true}, both.logicalNot().toBooleanArray());
        }
        double[] x = data(5, 6, -2, 2), y = data(6, 6, -2, 2);
        GradCheck.check("where", xs -> Tensor.where(xs[0].gt(xs[1]), xs[0].mul(xs[1]), xs[1].exp()), new double[][] {x, y}, new int[][] {{2, 3}, {2, 3}});
    }

    @BackendTest
    void integerArithmeticAndPromotion(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor i = Tensor.of(new long[] {7, -7, 3, 10}, 4);
            Tensor j = Tensor.of(new int[] {2, 2, 5, 3}, 4);
            Tensor sum = i.add(j);
            assertEquals(DType.INT64, sum.dtype());
            assertArrayEquals(new long[] {9, -5, 8, 13}, sum.toLongArray());
            assertArrayEquals(new long[] {14, -14, 15, 30}, i.mul(j).toLongArray());
            assertArrayEquals(new long[] {1, 1, 1, 0}, i.remainder(2).toLongArray(), "floor remainder");
            assertArrayEquals(new long[] {-2, -1, 0, -2}, i.remainder(-3).toLongArray(), "sign of the divisor");
            Tensor q = i.div(j);
            assertEquals(DType.FLOAT32, q.dtype(), "integer division is true division");
            assertClose(new double[] {3.5, -3.5, 0.6, 10 / 3.0}, q, 1e-6, 1e-6, "int div");
            Tensor f = i.add(Tensor.of(new float[] {0.5f, 0.5f, 0.5f, 0.5f}));
            assertEquals(DType.FLOAT32, f.dtype());
            assertEquals(DType.FLOAT32, i.add(0.5).dtype(), "a fractional scalar promotes an integer tensor");
            assertEquals(DType.INT64, i.add(2).dtype());
            assertArrayEquals(new long[] {49, 49, 9, 100}, i.pow(2).toLongArray());
            assertArrayEquals(new long[] {7, 7, 3, 10}, i.abs().toLongArray());
        }
        TestDevice.requireFloat64();
        try (Scope s = Scope.open()) {
            assertEquals(DType.FLOAT64, Tensor.ones(DType.FLOAT32, null, 2).add(Tensor.ones(DType.FLOAT64, null, 2)).dtype(), "float32 + float64");
        }
    }

    @BackendTest
    void castsBetweenEveryDtype(TestDevice device) {
        device.activate();
        TestDevice.requireFloat64();
        double[] v = {-2.7, -0.2, 0, 0.49, 1.5, 3.9};
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(v, DType.FLOAT64, null, 6);
            assertArrayEquals(new long[] {-2, 0, 0, 0, 1, 3}, x.to(DType.INT64).toLongArray(), "float to int truncates toward zero");
            assertArrayEquals(new int[] {-2, 0, 0, 0, 1, 3}, x.to(DType.INT32).toIntArray());
            assertArrayEquals(new boolean[] {true, true, false, true, true, true}, x.to(DType.BOOL).toBooleanArray());
            assertClose(new double[] {-2.7, -0.2, 0, 0.49, 1.5, 3.9}, x.to(DType.FLOAT32), 1e-6, 1e-7, "f64->f32");
            assertClose(new double[] {-2.7, -0.2, 0, 0.49, 1.5, 3.9}, x.to(DType.FLOAT16), 1e-3, 1e-3, "f64->f16 round trip");
            assertClose(new double[] {-2.7, -0.2, 0, 0.49, 1.5, 3.9}, x.to(DType.BFLOAT16), 1e-2, 1e-2, "f64->bf16 round trip");
            assertArrayEquals(new double[] {1, 0, 1}, Tensor.of(new boolean[] {true, false, true}).to(DType.FLOAT64).toDoubleArray());
        }
        // A cast passes the gradient through, converted back to the input's dtype.
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(v, DType.FLOAT64, null, 6).requiresGrad(true);
            x.to(DType.FLOAT32).mul(3).sum().backward();
            assertEquals(DType.FLOAT64, x.grad().dtype());
            assertClose(new double[] {3, 3, 3, 3, 3, 3}, x.grad(), 0, 0, "cast gradient");
        }
    }

    @BackendTest
    void inPlaceOps(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new double[] {1, 2, 3, 4}, DType.FLOAT32, null, 2, 2);
            x.add_(Tensor.of(new float[] {10, 20})).mul_(2).sub_(Tensor.ones(2, 2)).div_(Tensor.full(2, 2, 2));
            assertClose(new double[] {10.5, 21.5, 12.5, 23.5}, x, 1e-6, 0, "chained in-place");
            x.add_(Tensor.ones(2, 2), -0.5).clamp_(11, 22);
            assertClose(new double[] {11, 21, 12, 22}, x, 1e-6, 0, "add_ alpha, clamp_");
            Tensor col = x.narrow(1, 1, 1);
            col.fill_(-1);
            assertClose(new double[] {11, -1, 12, -1}, x, 0, 0, "fill_ through a view writes the base");
            x.copy_(Tensor.of(new long[] {5, 6}, 2));
            assertClose(new double[] {5, 6, 5, 6}, x, 0, 0, "copy_ broadcasts and casts");
        }
    }
}
