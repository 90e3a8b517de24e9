package dev.kiln;

import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.FusedProgram;
import dev.kiln.backend.FusedProgram.Binary;
import dev.kiln.backend.FusedProgram.Builder;
import dev.kiln.backend.FusedProgram.Load;
import dev.kiln.backend.FusedProgram.Unary;
import dev.kiln.backend.FusedProgram.Where;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Reverse mode over a program's instructions, producing the backward pass as another program. The backward program
 * takes the forward inputs, then the output's gradient (and, for a max or min reduction, the output and the count
 * of elements that reached it), recomputes the forward registers it needs (cheaper than keeping them: they are
 * elementwise) and writes one gradient per wanted input, in the iteration shape; the caller sums broadcast axes
 * away. Derived programs are cached, so a training loop derives each once and backends find their kernels cached.
 * The rules are those of the unfused ops ({@link Elementwise}).
 */
final class FusedGradient {
    private FusedGradient() {}

    private record Key(FusedProgram program, int output, String wanted) {}

    private static final ConcurrentHashMap<Key, FusedProgram> CACHE = new ConcurrentHashMap<>();

    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
    private static final double INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

    /**
     * The backward program of output {@code k} of {@code p} for the inputs {@code wanted}.
     *
     * @return a program over (inputs..., gradient[, output, tie count]) writing one gradient per wanted input
     */
    static FusedProgram of(FusedProgram p, int k, boolean[] wanted) {
        return CACHE.computeIfAbsent(new Key(p, k, java.util.Arrays.toString(wanted)), key -> derive(p, k, wanted));
    }

    /** For a max or min reduction: how many elements of each row equal the row's result (input n = the output). */
    static FusedProgram ties(FusedProgram p, int k) {
        return CACHE.computeIfAbsent(new Key(p, k, "ties"), key -> {
            Builder b = copyForward(p);
            b.output(hits(b, p, k, p.inputs())).reduce(ReduceOp.SUM);
            return b.build();
        });
    }

    private static Builder copyForward(FusedProgram p) {
        Builder b = FusedProgram.builder();
        for (FusedProgram.Instruction ins : p.code()) b.emit(ins);
        return b;
    }

    /** 1 where the register of output k equals the reduced output (input {@code out}, broadcast along the row), else 0. */
    private static int hits(Builder b, FusedProgram p, int k, int out) {
        out = b.emit(new Load(out));
        int hit = b.binary(BinaryOp.EQ, p.outputs().get(k), out);
        return b.where(hit, b.constant(1), b.constant(0));
    }

    private static FusedProgram derive(FusedProgram p, int k, boolean[] wanted) {
        Builder b = copyForward(p);
        int n = p.inputs();
        int[] adj = new int[p.code().size()];
        java.util.Arrays.fill(adj, -1);
        int root = p.outputs().get(k);
        int g = b.emit(new Load(n));
        if (p.reduction() == ReduceOp.MAX || p.reduction() == ReduceOp.MIN) {
            int count = b.emit(new Load(n + 2));
            g = b.div(b.mul(g, hits(b, p, k, n + 1)), count);
        }
        adj[root] = g;
        Adjoints a = new Adjoints(b, adj);
        int[] inputAdj = new int[n];
        java.util.Arrays.fill(inputAdj, -1);
        for (int r = root; r >= 0; r--) {
            if (adj[r] < 0) continue;
            int dy = adj[r];
            switch (p.code().get(r)) {
                case Load l -> {
                    if (wanted[l.index()]) inputAdj[l.index()] = inputAdj[l.index()] < 0 ? dy : b.add(inputAdj[l.index()], dy);
                }
                case Unary u -> a.add(u.x(), unaryRule(b, u.op(), u.alpha(), u.x(), r, dy));
                case Binary bin -> binaryRule(a, bin.op(), bin.a(), bin.b(), r, dy);
                case Where w -> {
                    int zero = b.constant(0);
                    a.add(w.a(), b.where(w.cond(), dy, zero));
                    a.add(w.b(), b.where(w.cond(), zero, dy));
                }
                default -> { } // scalars and constants take no gradient
            }
        }
        for (int i = 0; i < n; i++)
            if (wanted[i]) b.output(inputAdj[i] < 0 ? b.constant(0) : inputAdj[i]);
        return b.build();
    }

    /** Accumulates adjoints: the first contribution is kept as is, later ones are added. */
    private record Adjoints(Builder b, int[] adj) {
        void add(int register, int contribution) {
            if (contribution < 0) return;
            adj[register] = adj[register] < 0 ? contribution : b.add(adj[register], contribution);
        }
    }

    /** The gradient of x from dy for y = op(x) (register y), or -1 where it is zero. */
    private static int unaryRule(Builder b, UnaryOp op, double alpha, int x, int y, int dy) {
        return switch (op) {
            case NEG -> b.unary(UnaryOp.NEG, dy);
            case ABS -> b.mul(dy, b.unary(UnaryOp.SIGN, x));
            case EXP -> b.mul(dy, y);
            case EXPM1 -> b.mul(dy, b.add(y, b.constant(1)));
            case LOG -> b.div(dy, x);
            case LOG1P -> b.div(dy, b.add(x, b.constant(1)));
            case SQRT -> b.mul(b.div(dy, y), b.constant(0.5));
            case RSQRT -> b.mul(b.mul(dy, b.mul(y, b.unary(UnaryOp.SQUARE, y))), b.constant(-0.5));
            case RECIPROCAL -> b.unary(UnaryOp.NEG, b.mul(dy, b.unary(UnaryOp.SQUARE, y)));
            case SQUARE -> b.mul(b.mul(dy, x), b.constant(2));
            case SIN -> b.mul(dy, b.unary(UnaryOp.COS, x));
            case COS -> b.unary(UnaryOp.NEG, b.mul(dy, b.unary(UnaryOp.SIN, x)));
            case TANH -> b.mul(dy, b.sub(b.constant(1), b.unary(UnaryOp.SQUARE, y)));
            case ERF -> b.mul(b.mul(dy, b.unary(UnaryOp.EXP, b.unary(UnaryOp.NEG, b.unary(UnaryOp.SQUARE, x)))),
                    b.constant(2 / Math.sqrt(Math.PI)));
            case SIGMOID -> b.mul(b.mul(dy, y), b.sub(b.constant(1), y));
            case RELU -> b.where(positive(b, x), dy, b.constant(0));
            case LEAKY_RELU -> b.where(positive(b, x), dy, b.mul(dy, b.constant(alpha)));
            case ELU -> b.where(positive(b, y), dy, b.mul(dy, b.add(y, b.constant(alpha))));
            case GELU -> {
                // Phi(x) + x phi(x)
                int cdf = b.mul(b.constant(0.5), b.add(b.constant(1), b.unary(UnaryOp.ERF, b.mul(x, b.constant(1 / Math.sqrt(2))))));
                int pdf = b.mul(b.unary(UnaryOp.EXP, b.mul(b.unary(UnaryOp.SQUARE, x), b.constant(-0.5))), b.constant(INV_SQRT_2PI));
                yield b.mul(dy, b.add(cdf, b.mul(x, pdf)));
            }
            case GELU_TANH -> {
                // d/dx 0.5 x (1 + tanh u), u = c (x + 0.044715 x^3)
                int x2 = b.unary(UnaryOp.SQUARE, x);
                int t = b.unary(UnaryOp.TANH, b.mul(b.add(x, b.mul(b.mul(x, x2), b.constant(0.044715))), b.constant(SQRT_2_OVER_PI)));
                int du = b.mul(b.add(b.mul(x2, b.constant(3 * 0.044715)), b.constant(1)), b.constant(SQRT_2_OVER_PI));
                int half = b.constant(0.5);
                int d = b.add(b.mul(b.add(t, b.constant(1)), half),
                        b.mul(b.mul(b.mul(x, half), b.sub(b.constant(1), b.unary(UnaryOp.SQUARE, t))), du));
                yield b.mul(dy, d);
            }
            case SOFTPLUS -> b.mul(dy, b.unary(UnaryOp.SIGMOID, x));
            case SILU -> {
                int s = b.unary(UnaryOp.SIGMOID, x);
                yield b.mul(dy, b.mul(s, b.add(b.constant(1), b.mul(x, b.sub(b.constant(1), s)))));
            }
            case SIGN, FLOOR, CEIL, ROUND, NOT, IS_NAN -> -1;
        };
    }

    private static int positive(Builder b, int x) { return b.binary(BinaryOp.GT, x, b.constant(0)); }

    private static void binaryRule(Adjoints a, BinaryOp op, int x, int y, int out, int dy) {
        Builder b = a.b();
        switch (op) {
            case ADD -> {
                a.add(x, dy);
                a.add(y, dy);
            }
            case SUB -> {
                a.add(x, dy);
                a.add(y, b.unary(UnaryOp.NEG, dy));
            }
            case MUL -> {
                a.add(x, b.mul(dy, y));
                a.add(y, b.mul(dy, x));
            }
            case DIV -> {
                a.add(x, b.div(dy, y));
                a.add(y, b.unary(UnaryOp.NEG, b.div(b.mul(dy, out), y)));
            }
            case POW -> {
                a.add(x, b.mul(b.mul(dy, y), b.binary(BinaryOp.POW, x, b.sub(y, b.constant(1)))));
                // d/db a^b = a^b ln a, taken as 0 where a == 0 (the limit PyTorch uses).
                int zero = b.constant(0);
                a.add(y, b.mul(b.mul(dy, out), b.where(b.binary(BinaryOp.EQ, x, zero), zero, b.unary(UnaryOp.LOG, x))));
            }
            case MAXIMUM, MINIMUM -> {
                // Ties share the gradient evenly, as in PyTorch.
                int zero = b.constant(0);
                int wins = b.where(b.binary(op == BinaryOp.MAXIMUM ? BinaryOp.GT : BinaryOp.LT, x, y), b.constant(1), zero);
                int share = b.add(wins, b.where(b.binary(BinaryOp.EQ, x, y), b.constant(0.5), zero));
                a.add(x, b.mul(dy, share));
                a.add(y, b.mul(dy, b.sub(b.constant(1), share)));
            }
            case REMAINDER -> {
                a.add(x, dy);
                a.add(y, b.unary(UnaryOp.NEG, b.mul(dy, b.unary(UnaryOp.FLOOR, b.div(x, y)))));
            }
            default -> { } // comparisons and logical ops take no gradient
        }
    }
}
