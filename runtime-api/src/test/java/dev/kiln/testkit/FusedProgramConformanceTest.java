package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Fused;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.FusedProgram;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.DoubleBinaryOperator;

import static dev.kiln.testkit.ErrorConformanceTest.assertMessage;
import static dev.kiln.testkit.Ref.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * Fused elementwise programs ({@link Fused}, the SPI's {@code fused}): each family evaluated by the backend against
 * a float64 reference interpreter and against the same program composed from ordinary tensor ops (the primitives
 * the SPI's default is made of), its gradients by finite differences, in-place evaluation, and the errors.
 */
class FusedProgramConformanceTest {

    /** A program with its inputs' shapes, value ranges and scalars, and whether finite differences check its gradients. */
    record Family(String name, FusedProgram program, int[][] shapes, double[][] ranges, double[] scalars, boolean differentiable) {}

    static List<Family> families() {
        List<Family> all = new ArrayList<>();
        {
            var b = FusedProgram.builder();
            b.output(b.unary(UnaryOp.GELU, b.add(b.input(), b.input())));
            all.add(new Family("bias + gelu", b.build(), new int[][] {{5, 33}, {33}}, new double[][] {{-3, 3}, {-1, 1}}, new double[0], true));
        }
        {
            var b = FusedProgram.builder();
            int x = b.input(), y = b.input();
            b.output(b.mul(b.unary(UnaryOp.GELU_TANH, x), b.unary(UnaryOp.SILU, y)));
            all.add(new Family("gelu_tanh * silu", b.build(), new int[][] {{2, 3, 17}, {17}}, new double[][] {{-3, 3}, {-2, 2}}, new double[0], true));
        }
        {
            // Adam's three updates in one pass: m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2,
            // p' = p - step * m' / (sqrt(v') * invBc2 + eps).
            var b = FusedProgram.builder();
            int p = b.input(), g = b.input(), m = b.input(), v = b.input();
            int b1 = b.scalar(), b2 = b.scalar(), step = b.scalar(), invBc2 = b.scalar(), eps = b.scalar();
            int one = b.constant(1);
            int m2 = b.add(b.mul(b1, m), b.mul(b.sub(one, b1), g));
            int v2 = b.add(b.mul(b2, v), b.mul(b.sub(one, b2), b.unary(UnaryOp.SQUARE, g)));
            int p2 = b.sub(p, b.div(b.mul(step, m2), b.add(b.mul(b.unary(UnaryOp.SQRT, v2), invBc2), eps)));
            b.output(p2).output(m2).output(v2);
            all.add(new Family("adam", b.build(), new int[][] {{70}, {70}, {70}, {70}},
                    new double[][] {{-1, 1}, {-1, 1}, {-0.1, 0.1}, {0.01, 0.1}}, new double[] {0.9, 0.999, 0.01, 1.2, 1e-8}, true));
        }
        {
            // Dropout: keep where u >= p, scaled by 1 / (1 - p); the mask is a second, bool output.
            var b = FusedProgram.builder();
            int x = b.input(), u = b.input(), p = b.scalar(), scale = b.scalar();
            int keep = b.binary(BinaryOp.GE, u, p);
            b.output(b.where(keep, b.mul(x, scale), b.constant(0))).output(keep);
            all.add(new Family("dropout", b.build(), new int[][] {{8, 16}, {8, 16}}, new double[][] {{-2, 2}, {0, 1}}, new double[] {0.3, 1 / 0.7}, false));
        }
        {
            // Every comparison as a truth register, weighted so the sum tells which held, and a select on one; x against
            // itself makes EQ true and NE false. Rows of 37 cover whole vectors and a tail.
            var b = FusedProgram.builder();
            int x = b.input(), y = b.input();
            int sum = b.where(b.binary(BinaryOp.GT, x, y), x, y), zero = b.constant(0);
            BinaryOp[] comparisons = {BinaryOp.EQ, BinaryOp.NE, BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE};
            for (int k = 0; k < comparisons.length; k++) {
                sum = b.add(sum, b.where(b.binary(comparisons[k], x, y), b.constant(1 << (k + 1)), zero));
                sum = b.add(sum, b.where(b.binary(comparisons[k], x, x), b.constant(1 << (k + 8)), zero));
            }
            b.output(sum);
            all.add(new Family("comparisons and a select", b.build(), new int[][] {{5, 37}, {5, 37}}, new double[][] {{-2, 2}, {-2, 2}}, new double[0], false));
        }
        {
            var b = FusedProgram.builder();
            int x = b.input(), y = b.input();
            b.output(b.unary(UnaryOp.SQUARE, b.sub(x, y))).reduce(ReduceOp.SUM);
            all.add(new Family("sum of squared differences", b.build(), new int[][] {{3, 4, 9}, {3, 4, 9}}, new double[][] {{-2, 2}, {-2, 2}}, new double[0], true));
        }
        {
            var b = FusedProgram.builder();
            int x = b.input(), y = b.input();
            b.output(b.unary(UnaryOp.TANH, b.mul(x, y))).reduce(ReduceOp.MAX);
            all.add(new Family("max of tanh(x * w)", b.build(), new int[][] {{6, 10}, {10}}, new double[][] {{-2, 2}, {-1, 1}}, new double[0], true));
        }
        {
            var b = FusedProgram.builder();
            int x = b.input(), y = b.input(), s = b.scalar();
            int lo = b.binary(BinaryOp.MINIMUM, x, y), hi = b.binary(BinaryOp.MAXIMUM, x, y);
            b.output(b.add(b.binary(BinaryOp.POW, b.unary(UnaryOp.SIGMOID, hi), b.unary(UnaryOp.ABS, lo)),
                    b.unary(UnaryOp.LEAKY_RELU, 0.1, b.div(lo, s)))).reduce(ReduceOp.MIN);
            all.add(new Family("min of sigmoid(max)^|min| + leaky_relu", b.build(), new int[][] {{4, 1, 11}, {3, 11}}, new double[][] {{-2, 2}, {-2, 2}}, new double[] {1.5}, true));
        }
        {
            // Large enough for several blocks and threads: a transposed input, a broadcast row, rows longer than a block.
            var b = FusedProgram.builder();
            b.output(b.unary(UnaryOp.GELU, b.add(b.input(), b.input())));
            all.add(new Family("bias + gelu, large", b.build(), new int[][] {{520, 257}, {257}}, new double[][] {{-3, 3}, {-1, 1}}, new double[0], false));
            var r = FusedProgram.builder();
            r.output(r.mul(r.input(), r.unary(UnaryOp.EXP, r.input()))).reduce(ReduceOp.SUM);
            all.add(new Family("sum of x exp(y), long rows", r.build(), new int[][] {{50, 3000}, {50, 3000}}, new double[][] {{-1, 1}, {-1, 1}}, new double[0], false));
        }
        // One program per unary op with a tensor method: op(x * s + c), so loads, scalars and constants feed it.
        for (UnaryOp op : UnaryOp.values()) {
            if (op == UnaryOp.NOT || op == UnaryOp.IS_NAN || op == UnaryOp.EXPM1 || op == UnaryOp.LOG1P) continue;
            var b = FusedProgram.builder();
            int x = b.input(), s = b.scalar();
            b.output(b.unary(op, 0.2, b.add(b.mul(x, s), b.constant(0.25))));
            boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT || op == UnaryOp.RECIPROCAL;
            boolean steps = op == UnaryOp.SIGN || op == UnaryOp.FLOOR || op == UnaryOp.CEIL || op == UnaryOp.ROUND;
            all.add(new Family(op.name().toLowerCase(), b.build(), new int[][] {{3, 29}},
                    new double[][] {positive ? new double[] {0.3, 3} : new double[] {-3, 3}}, new double[] {1.3}, !steps));
        }
        return all;
    }

    private static double[][] inputs(Family f) {
        double[][] in = new double[f.shapes.length][];
        for (int i = 0; i < in.length; i++) in[i] = Ref.data(300 + i, Ref.numel(f.shapes[i]), f.ranges[i][0], f.ranges[i][1]);
        return in;
    }

    private static Tensor[] tensors(double[][] data, int[][] shapes, DType t) {
        Tensor[] xs = new Tensor[data.length];
        for (int i = 0; i < xs.length; i++) xs[i] = Tensor.of(data[i], t, null, shapes[i]);
        return xs;
    }

    @BackendTest
    void everyFamilyMatchesFloat64AndTheComposedOps(TestDevice device) {
        device.activate();
        for (DType t : Ref.floatingTypes())
            for (Family f : families()) {
                String what = f.name + " in " + t;
                try (Scope s = Scope.open()) {
                    double[][] data = inputs(f);
                    Tensor[] fused = Fused.apply(f.program, f.scalars, tensors(data, f.shapes, t));
                    Tensor[] composed = composed(f.program, f.scalars, tensors(data, f.shapes, t));
                    double[][] reference = reference(f.program, f.scalars, data, f.shapes);
                    for (int k = 0; k < fused.length; k++) {
                        assertArrayEquals(composed[k].shape(), fused[k].shape(), what);
                        assertEquals(composed[k].dtype(), fused[k].dtype(), what);
                        double rtol = 4 * Ref.rtol(t), atol = 4 * Ref.atol(t);
                        assertClose(reference[k], fused[k], rtol, atol, what + " output " + k + " vs float64");
                        assertClose(composed[k].toDoubleArray(), fused[k], rtol, atol, what + " output " + k + " vs the composed ops");
                    }
                }
            }
    }

    @BackendTest
    void gradientsMatchFiniteDifferences(TestDevice device) {
        device.activate();
        for (Family f : families()) {
            if (!f.differentiable) continue;
            for (int k = 0; k < f.program.outputs().size(); k++) {
                int output = k;
                GradCheck.check("fused " + f.name + " output " + k, xs -> Fused.apply(f.program, f.scalars, xs)[output], inputs(f), f.shapes);
            }
        }
    }

    /** The dropout family's x gradient is the kept mask, scaled; the bool input and output take none. */
    @BackendTest
    void gradientsFlowThroughWhereAndNotThroughComparisons(TestDevice device) {
        device.activate();
        Family dropout = families().stream().filter(f -> f.name.equals("dropout")).findFirst().orElseThrow();
        double[][] data = inputs(dropout);
        try (Scope s = Scope.open()) {
            Tensor[] xs = tensors(data, dropout.shapes, DType.FLOAT32);
            xs[0].requiresGrad(true);
            Tensor[] out = Fused.apply(dropout.program, dropout.scalars, xs);
            assertEquals(DType.BOOL, out[1].dtype());
            out[0].sum().backward();
            double[] expected = new double[data[0].length];
            for (int i = 0; i < expected.length; i++) expected[i] = data[1][i] >= 0.3 ? 1 / 0.7 : 0;
            assertClose(expected, xs[0].grad(), 1e-6, 1e-6, "dropout d/dx");
        }
    }

    @BackendTest
    void inPlaceUpdateEqualsTheFreshResult(TestDevice device) {
        device.activate();
        Family adam = families().stream().filter(f -> f.name.equals("adam")).findFirst().orElseThrow();
        double[][] data = inputs(adam);
        try (Scope s = Scope.open(); GradMode ignored = GradMode.noGrad()) {
            Tensor[] fresh = Fused.apply(adam.program, adam.scalars, tensors(data, adam.shapes, DType.FLOAT32));
            Tensor[] state = tensors(data, adam.shapes, DType.FLOAT32);
            Fused.applyInto(adam.program, adam.scalars, state, state[0], state[2], state[3]);
            assertClose(fresh[0].toDoubleArray(), state[0], 0, 0, "param in place");
            assertClose(fresh[1].toDoubleArray(), state[2], 0, 0, "exp_avg in place");
            assertClose(fresh[2].toDoubleArray(), state[3], 0, 0, "exp_avg_sq in place");
        }
    }

    /**
     * One {@code applyIntoEach} over sets of several shapes (one of them empty, one broadcast, one large enough to be
     * split over threads, the others not) writes exactly what one {@code applyInto} per set writes, with each set's
     * own scalars: the optimizers' multi-tensor step.
     */
    @BackendTest
    void forEachEqualsOneCallPerSet(TestDevice device) {
        device.activate();
        var b = FusedProgram.builder();
        int x = b.input(), y = b.input(), scale = b.scalar();
        FusedProgram axpy = b.output(b.add(b.mul(x, scale), b.unary(UnaryOp.TANH, y))).build();
        int[][] xShapes = {{300, 513}, {7}, {0, 3}, {1025}, {64, 33}}, yShapes = {{300, 513}, {7}, {0, 3}, {1025}, {33}};
        try (Scope s = Scope.open(); GradMode ignored = GradMode.noGrad()) {
            List<double[]> scalars = new ArrayList<>();
            List<Tensor[]> each = new ArrayList<>(), outs = new ArrayList<>();
            List<Tensor> oneByOne = new ArrayList<>();
            for (int i = 0; i < xShapes.length; i++) {
                double[] xd = Ref.data(40 + i, Ref.numel(xShapes[i]), -2, 2), yd = Ref.data(50 + i, Ref.numel(yShapes[i]), -2, 2);
                Tensor xi = Ref.f32(xd, xShapes[i]), yi = Ref.f32(yd, yShapes[i]), alone = Ref.f32(xd, xShapes[i]);
                double[] sc = {0.5 + i};
                Fused.applyInto(axpy, sc, new Tensor[] {alone, yi}, alone);
                oneByOne.add(alone);
                scalars.add(sc);
                each.add(new Tensor[] {xi, yi});
                outs.add(new Tensor[] {xi});
            }
            Fused.applyIntoEach(axpy, scalars, each, outs);
            for (int i = 0; i < xShapes.length; i++)
                assertClose(oneByOne.get(i).toDoubleArray(), outs.get(i)[0], 0, 0, "set " + i + " of shape " + Arrays.toString(xShapes[i]));
            assertMessage(IllegalArgumentException.class, () -> Fused.applyIntoEach(axpy, scalars.subList(0, 2), each, outs), "fused", "2 scalar sets", "5 input sets");
            var r = FusedProgram.builder();
            FusedProgram summed = r.output(r.input()).reduce(ReduceOp.SUM).build();
            assertMessage(IllegalArgumentException.class, () -> Fused.applyIntoEach(summed, List.of(new double[0]),
                    List.<Tensor[]>of(new Tensor[] {oneByOne.get(1)}), List.<Tensor[]>of(new Tensor[] {oneByOne.get(1)})), "fused", "SUM");
        }
    }

    @BackendTest
    void programsAreValuesAndRejectWhatDoesNotFit(TestDevice device) {
        device.activate();
        FusedProgram a = families().get(0).program, again = families().get(0).program, other = families().get(1).program;
        assertEquals(a, again);
        assertEquals(a.hashCode(), again.hashCode());
        assertNotEquals(a, other);
        assertEquals("fused(x0, x1) { r0 = x0; r1 = x1; r2 = add(r0, r1); r3 = gelu(r2) } -> r3", a.toString());
        var withDeadCode = FusedProgram.builder();
        int first = withDeadCode.input(), unused = withDeadCode.input();
        withDeadCode.unary(UnaryOp.EXP, withDeadCode.add(first, unused));
        FusedProgram pruned = withDeadCode.output(withDeadCode.unary(UnaryOp.NEG, first)).build();
        assertEquals("fused(x0, x1) { r0 = x0; r1 = neg(r0) } -> r1", pruned.toString(), "instructions no output reads are dropped, the inputs kept");
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(5, 33), bias = Tensor.zeros(7);
            assertMessage(IllegalArgumentException.class, () -> Fused.apply(a, new double[0], x, bias), "fused", "[5, 33]", "[7]");
            assertMessage(IllegalArgumentException.class, () -> Fused.apply(a, new double[0], x), "fused", "takes 2 inputs");
            Tensor ints = Tensor.zeros(DType.INT64, null, 5, 33);
            assertMessage(IllegalArgumentException.class, () -> Fused.apply(a, new double[0], x, ints), "fused", "int64", "float32", "[5, 33]");
            var b = FusedProgram.builder();
            int c = b.binary(BinaryOp.LT, b.input(), b.constant(0));
            b.output(b.unary(UnaryOp.EXP, c));
            FusedProgram wrongKind = b.build();
            assertMessage(IllegalArgumentException.class, () -> Fused.apply(wrongKind, new double[0], x), "fused", "r3 = exp(r2)", "wrong kind");
            var bad = FusedProgram.builder();
            assertMessage(IllegalArgumentException.class, () -> bad.output(bad.unary(UnaryOp.EXP, 3)).build(), "fused", "r0 = exp(r3)");
        }
    }

    // ---- the composed ops: the same program, one tensor op per instruction ---------------------------------------

    static Tensor[] composed(FusedProgram p, double[] scalars, Tensor[] inputs) {
        DType t = inputs[0].dtype();
        Tensor[] registers = new Tensor[p.code().size()];
        p.evaluate(new FusedProgram.Evaluation<>() {
            @Override public Tensor load(int index) { return inputs[index]; }
            @Override public Tensor scalar(int index) { return constant(scalars[index]); }
            @Override public Tensor constant(double value) { return Tensor.scalar(value, t, Kiln.defaultDevice()); }
            @Override public Tensor unary(UnaryOp op, double alpha, Tensor x) { return tensorUnary(op, alpha, x); }
            @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b) { return tensorBinary(op, a, b); }
            @Override public Tensor where(Tensor c, Tensor a, Tensor b) { return Tensor.where(c, a, b); }
        }, registers);
        Tensor[] out = new Tensor[p.outputs().size()];
        int[] last = {inputs[0].dim() - 1};
        for (int k = 0; k < out.length; k++) {
            Tensor r = registers[p.outputs().get(k)];
            out[k] = p.reduction() == null ? r : switch (p.reduction()) {
                case SUM -> r.sum(last, true);
                case MAX -> r.amax(last, true);
                case MIN -> r.amin(last, true);
                case PROD -> r.prod(last, true);
            };
        }
        return out;
    }

    private static Tensor tensorUnary(UnaryOp op, double alpha, Tensor x) {
        return switch (op) {
            case NEG -> x.neg();
            case ABS -> x.abs();
            case SIGN -> x.sign();
            case EXP -> x.exp();
            case LOG -> x.log();
            case SQRT -> x.sqrt();
            case RSQRT -> x.rsqrt();
            case RECIPROCAL -> x.reciprocal();
            case SQUARE -> x.square();
            case SIN -> x.sin();
            case COS -> x.cos();
            case TANH -> x.tanh();
            case ERF -> x.erf();
            case FLOOR -> x.floor();
            case CEIL -> x.ceil();
            case ROUND -> x.round();
            case SIGMOID -> x.sigmoid();
            case RELU -> x.relu();
            case LEAKY_RELU -> x.leakyRelu(alpha);
            case ELU -> x.elu(alpha);
            case GELU -> x.gelu();
            case GELU_TANH -> x.gelu(true);
            case SOFTPLUS -> x.softplus();
            case SILU -> x.silu();
            case NOT -> x.logicalNot();
            case IS_NAN -> x.isNan();
            case EXPM1, LOG1P -> throw new AssertionError("no tensor op for " + op);
        };
    }

    private static Tensor tensorBinary(BinaryOp op, Tensor a, Tensor b) {
        return switch (op) {
            case ADD -> a.add(b);
            case SUB -> a.sub(b);
            case MUL -> a.mul(b);
            case DIV -> a.div(b);
            case POW -> a.pow(b);
            case MAXIMUM -> a.maximum(b);
            case MINIMUM -> a.minimum(b);
            case EQ -> a.eq(b);
            case NE -> a.ne(b);
            case LT -> a.lt(b);
            case LE -> a.le(b);
            case GT -> a.gt(b);
            case GE -> a.ge(b);
            case AND -> a.logicalAnd(b);
            case OR -> a.logicalOr(b);
            case REMAINDER, XOR -> throw new AssertionError("no tensor op for " + op);
        };
    }

    // ---- the float64 reference: the program interpreted element by element in doubles -----------------------------

    static double[][] reference(FusedProgram p, double[] scalars, double[][] data, int[][] shapes) {
        int[] shape = shapes[0];
        for (int[] s : shapes) shape = broadcast(shape, s);
        int n = Ref.numel(shape), row = shape[shape.length - 1];
        double[][] in = new double[data.length][];
        for (int i = 0; i < in.length; i++) in[i] = expand(data[i], shapes[i], shape);
        double[][] registers = new double[p.code().size()][];
        p.evaluate(new FusedProgram.Evaluation<>() {
            @Override public double[] load(int index) { return in[index]; }
            @Override public double[] scalar(int index) { return constant(scalars[index]); }
            @Override public double[] constant(double value) {
                double[] v = new double[n];
                Arrays.fill(v, value);
                return v;
            }
            @Override public double[] unary(UnaryOp op, double alpha, double[] x) { return Ref.map(x, Ref.unary(op, alpha)); }
            @Override public double[] binary(BinaryOp op, double[] a, double[] b) {
                DoubleBinaryOperator f = Ref.binary(op);
                double[] y = new double[n];
                for (int i = 0; i < n; i++) y[i] = f.applyAsDouble(a[i], b[i]);
                return y;
            }
            @Override public double[] where(double[] c, double[] a, double[] b) {
                double[] y = new double[n];
                for (int i = 0; i < n; i++) y[i] = c[i] != 0 ? a[i] : b[i];
                return y;
            }
        }, registers);
        double[][] out = new double[p.outputs().size()][];
        for (int k = 0; k < out.length; k++) {
            double[] r = registers[p.outputs().get(k)];
            if (p.reduction() == null) {
                out[k] = r;
                continue;
            }
            out[k] = new double[n / row];
            for (int i = 0; i < n / row; i++) {
                double acc = r[i * row];
                for (int j = 1; j < row; j++) {
                    double v = r[i * row + j];
                    acc = switch (p.reduction()) {
                        case SUM -> acc + v;
                        case PROD -> acc * v;
                        case MAX -> Math.max(acc, v);
                        case MIN -> Math.min(acc, v);
                    };
                }
                out[k][i] = acc;
            }
        }
        return out;
    }

    private static int[] broadcast(int[] a, int[] b) {
        int rank = Math.max(a.length, b.length);
        int[] s = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i - (rank - a.length) >= 0 ? a[i - (rank - a.length)] : 1;
            int db = i - (rank - b.length) >= 0 ? b[i - (rank - b.length)] : 1;
            s[i] = Math.max(da, db);
        }
        return s;
    }

    /** Row-major values of {@code x} (of {@code from}) repeated to the shape {@code to}. */
    private static double[] expand(double[] x, int[] from, int[] to) {
        int n = Ref.numel(to);
        double[] y = new double[n];
        int lead = to.length - from.length;
        for (int i = 0; i < n; i++) {
            int rest = i, src = 0, stride = 1;
            for (int d = to.length - 1; d >= 0; d--) {
                int at = rest % to[d];
                rest /= to[d];
                if (d >= lead) {
                    int size = from[d - lead];
                    if (size != 1) src += at * stride;
                    stride *= size;
                }
            }
            y[i] = x[src];
        }
        return y;
    }
}
