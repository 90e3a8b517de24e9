package dev.kiln.cpu.simd;

import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static jdk.incubator.vector.VectorOperators.GE;
import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.LT;
import static jdk.incubator.vector.VectorOperators.MAX;
import static jdk.incubator.vector.VectorOperators.MIN;

import static dev.kiln.cpu.simd.NativeSegments.typed;

/**
 * Single-precision loops over dense runs of elements; offsets are in bytes. Every op has its own small loop
 * method, picked by a switch that handles no vectors. The compact alternatives are ~10x slower once several
 * ops have run: a per-op lambda does not inline at a megamorphic call site, so every vector is boxed, and a
 * switch inside one shared loop is compiled from the profile of the first ops seen, leaving the others on
 * cold, boxing paths for good. FloatLoops and DoubleLoops are one shape over two primitive types (see {@code FloatPanelKernel}
 * for why they cannot be one generic class).
 */
final class FloatLoops {
    private FloatLoops() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final long BYTES = Float.BYTES;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final FloatVector ONE = FloatVector.broadcast(S, 1), ZERO = FloatVector.zero(S);

    static boolean supports(UnaryOp op) {
        return switch (op) {
            // SIN and COS run on the scalar path: FloatMath has no vector form of them (their large arguments need
            // a long argument reduction) and the Vector API's are not reproducible.
            case NEG, ABS, EXP, EXPM1, LOG, LOG1P, SQRT, RSQRT, RECIPROCAL, SQUARE, TANH, SIGMOID, SILU,
                 RELU, LEAKY_RELU, ELU, ERF, GELU, GELU_TANH, SOFTPLUS -> true;
            default -> false;
        };
    }

    static boolean supports(BinaryOp op) {
        return switch (op) {
            case ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM -> true;
            default -> false;
        };
    }

    static void unary(UnaryOp op, double alpha, MemorySegment x, long xOff, MemorySegment out, long outOff, long n) {
        float a = (float) alpha;
        long full = n - n % L;
        switch (op) {
            case NEG -> neg(x, xOff, out, outOff, full);
            case ABS -> abs(x, xOff, out, outOff, full);
            case EXP -> exp(x, xOff, out, outOff, full);
            case EXPM1 -> expm1(x, xOff, out, outOff, full);
            case LOG -> log(x, xOff, out, outOff, full);
            case LOG1P -> log1p(x, xOff, out, outOff, full);
            case SQRT -> sqrt(x, xOff, out, outOff, full);
            case RSQRT -> rsqrt(x, xOff, out, outOff, full);
            case RECIPROCAL -> reciprocal(x, xOff, out, outOff, full);
            case SQUARE -> square(x, xOff, out, outOff, full);
            case TANH -> tanh(x, xOff, out, outOff, full);
            case SIGMOID -> sigmoid(x, xOff, out, outOff, full);
            case SILU -> silu(x, xOff, out, outOff, full);
            case RELU -> relu(x, xOff, out, outOff, full);
            case LEAKY_RELU -> leakyRelu(x, xOff, out, outOff, full, a);
            case ELU -> elu(x, xOff, out, outOff, full, a);
            case ERF -> erf(x, xOff, out, outOff, full);
            case GELU -> gelu(x, xOff, out, outOff, full);
            case GELU_TANH -> geluTanh(x, xOff, out, outOff, full);
            case SOFTPLUS -> softplus(x, xOff, out, outOff, full);
            default -> throw new IllegalArgumentException("no vector loop for " + op);
        }
        if (full < n) {
            // The ragged tail runs through the same loop on a padded scratch vector.
            MemorySegment pad = TAIL.get();
            MemorySegment.copy(x, xOff + full * BYTES, pad, 0, (n - full) * BYTES);
            unary(op, alpha, pad, 0, pad, 0, L);
            MemorySegment.copy(pad, 0, out, outOff + full * BYTES, (n - full) * BYTES);
        }
    }

    private static void neg(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(x, xo, i).neg(), out, oo, i);
    }

    private static void abs(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(x, xo, i).abs(), out, oo, i);
    }

    /**
     * Two vectors an iteration: one {@link FloatMath#exp} is a chain of a dozen dependent FMAs, and with one per
     * iteration the core waited on it (one thread, 1M floats: 0.36 against 0.27 ms; L2-resident rows 0.22 against
     * 0.14 ns a float). Not done for tanh and sigmoid, whose doubled bodies pass C2's inlining budget (2-3x slower),
     * nor in attention's exp, inlined into a larger method (SDPA forward 1.19 against 1.39 ms).
     */
    private static void exp(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        long i = 0;
        for (; i + L < full; i += 2 * L) {
            FloatVector a = FloatMath.exp(ld(x, xo, i)), b = FloatMath.exp(ld(x, xo, i + L));
            st(a, out, oo, i);
            st(b, out, oo, i + L);
        }
        if (i < full) st(FloatMath.exp(ld(x, xo, i)), out, oo, i);
    }

    private static void expm1(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(FloatMath.expm1(ld(x, xo, i)), out, oo, i);
    }

    private static void log(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(FloatMath.log(ld(x, xo, i)), out, oo, i);
    }

    private static void log1p(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(FloatMath.log1p(ld(x, xo, i)), out, oo, i);
    }

    private static void sqrt(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(x, xo, i).sqrt(), out, oo, i);
    }

    private static void rsqrt(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ONE.div(ld(x, xo, i).sqrt()), out, oo, i);
    }

    private static void reciprocal(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ONE.div(ld(x, xo, i)), out, oo, i);
    }

    private static void square(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) { FloatVector v = ld(x, xo, i); st(v.mul(v), out, oo, i); }
    }

    private static void tanh(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(FloatMath.tanh(ld(x, xo, i)), out, oo, i);
    }

    private static void sigmoid(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(FloatMath.sigmoid(ld(x, xo, i)), out, oo, i);
    }

    private static void silu(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) { FloatVector v = ld(x, xo, i); st(v.mul(FloatMath.sigmoid(v)), out, oo, i); }
    }

    private static void relu(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(x, xo, i).lanewise(MAX, 0), out, oo, i);
    }

    private static void leakyRelu(MemorySegment x, long xo, MemorySegment out, long oo, long full, float a) {
        for (long i = 0; i < full; i += L) { FloatVector v = ld(x, xo, i); st(v.mul(a).blend(v, v.compare(GT, 0)), out, oo, i); }
    }

    private static void elu(MemorySegment x, long xo, MemorySegment out, long oo, long full, float a) {
        for (long i = 0; i < full; i += L) { FloatVector v = ld(x, xo, i); st(FloatMath.expm1(v).mul(a).blend(v, v.compare(GT, 0)), out, oo, i); }
    }

    // erf and GELU run in two passes over blocks that stay in L1: the erfc tail into a scratch block, then the
    // combination with the small-argument polynomial; the tail itself in two. As one loop they exceeded C2's
    // inlining budget (NodeCountInliningCutoff), and the vectors crossing the calls it gave up on were boxed.

    private static void erf(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        MemorySegment tail = ERF_SCRATCH.get();
        for (long b = 0; b < full; b += ERF_BLOCK) {
            long n = Math.min(ERF_BLOCK, full - b);
            erfcTail(x, xo + b * BYTES, tail, n, 1, 1);
            erfCombine(x, xo + b * BYTES, tail, out, oo + b * BYTES, n);
        }
    }

    private static void erfCombine(MemorySegment x, long xo, MemorySegment tail, MemorySegment out, long oo, long n) {
        for (long i = 0; i < n; i += L) {
            FloatVector v = ld(x, xo, i), large = ONE.sub(ld(tail, 0, i));
            st(erfBelowOne(v).blend(large.blend(large.neg(), v.compare(LT, 0)), v.abs().compare(GE, 1)), out, oo, i);
        }
    }

    /**
     * x Phi(x) with Phi(x) = erfc(-x / sqrt 2) / 2 from |x / sqrt 2| = 0.5 on, so the negative side keeps its
     * relative precision: 1 + erf there would cancel.
     */
    private static void gelu(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        MemorySegment tail = ERF_SCRATCH.get();
        for (long b = 0; b < full; b += ERF_BLOCK) {
            long n = Math.min(ERF_BLOCK, full - b);
            erfcTail(x, xo + b * BYTES, tail, n, INV_SQRT_2, 0.5f);
            geluCombine(x, xo + b * BYTES, tail, out, oo + b * BYTES, n);
        }
    }

    private static void geluCombine(MemorySegment x, long xo, MemorySegment tail, MemorySegment out, long oo, long n) {
        for (long i = 0; i < n; i += L) {
            FloatVector v = ld(x, xo, i), z = v.mul(INV_SQRT_2), half = ld(tail, 0, i).mul(0.5f);
            FloatVector phi = erfBelowOne(z).add(1).mul(0.5f).blend(ONE.sub(half).blend(half, v.compare(LT, 0)), z.abs().compare(GE, 0.5f));
            st(v.mul(phi), out, oo, i);
        }
    }

    /** x (1 + tanh u) / 2 as x / (1 + exp(-2u)): the same value without 1 + tanh u cancelling for negative x. */
    private static void geluTanh(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) {
            FloatVector v = ld(x, xo, i);
            FloatVector u = v.mul(v).mul(GELU_CUBIC).add(1).mul(v).mul(-2 * SQRT_2_OVER_PI);
            st(v.div(FloatMath.exp(u).add(1)), out, oo, i);
        }
    }

    /** max(x, 0) + log1p(exp(-|x|)): no overflow, and exact for large |x|. */
    private static void softplus(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) {
            FloatVector v = ld(x, xo, i);
            st(v.lanewise(MAX, 0).add(FloatMath.log1p(FloatMath.exp(v.abs().neg()))), out, oo, i);
        }
    }

    private static final float INV_SQRT_2 = (float) (1 / Math.sqrt(2));
    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2 / Math.PI);
    private static final float GELU_CUBIC = 0.044715f;
    /**
     * erf(x) = x P(x^2) for |x| &lt; 1: a weighted least-squares fit (relative error 1.2e-9 before rounding the
     * coefficients to float), evaluated in float it stays within 3 ulp.
     */
    private static final float[] ERF_BELOW_ONE = {
            1.128379107e+00f, -3.761262596e-01f, 1.128358245e-01f, -2.685369179e-02f, 5.188099574e-03f,
            -8.008193108e-04f, 7.847262168e-05f};
    /**
     * a erfc(a) exp(a^2) for 0.5 &lt;= a &lt;= 11 as a polynomial in u = (a - 2) / (a + 2), which maps [0.5, inf) onto
     * [-0.6, 1), where this smooth function needs few terms: a weighted least-squares fit, relative error
     * 3e-8 with float coefficients; erfc as a whole stays within 4 ulp.
     */
    private static final float[] ERFC_SCALED = {
            5.107913613e-01f, 1.672110111e-01f, -2.038442940e-01f, 1.215148866e-01f, -2.897647396e-02f,
            -7.515002508e-03f, 4.785137717e-03f, 1.121339854e-03f, -7.512087468e-04f, -2.959010017e-04f,
            9.218583727e-05f, 5.917685121e-05f};

    private static FloatVector erfBelowOne(FloatVector x) { return x.mul(erfBelowOnePolynomial(x.mul(x))); }

    /**
     * tail = erfc(a) with a = scale |x|, for the lanes where a &gt;= 0.5 (others get values the caller discards);
     * f is scale^2 exactly (1 or 1/2). exp(-a^2) is taken as exp(-f s^2) exp(f (s - w)(s + w)) for w = |x| and s
     * its top 12 bits, so that f s^2 is exact: a rounded a^2 would cost 2 a^2 ulp in the far tail, which GELU's
     * negative side reaches. Past a = 11 erfc is 0 in float; clamping there keeps u finite for an infinite a.
     */
    private static void erfcTail(MemorySegment x, long xo, MemorySegment tail, long n, float scale, float f) {
        gaussianPass(x, xo, tail, n, f);
        scaledTailPass(x, xo, tail, n, scale);
    }

    /**
     * tail = exp(-f x^2), accurate in the tail as described above. The correction factor exp(f (s - w)(s + w)) has
     * |argument| &lt;= f w^2 2^-11 &lt;= 1/8 (s carries w's top 12 bits, w &lt;= 16), where Taylor's polynomial to the
     * fifth power is within 6e-9 of it: one vector exp per element instead of two.
     */
    private static void gaussianPass(MemorySegment x, long xo, MemorySegment tail, long n, float f) {
        // Vector operands throughout (no scalar ones, which cost a broadcast's parse nodes each): with exp inlined,
        // this loop is near C2's inlining budget (see FloatMath).
        FloatVector vf = FloatVector.broadcast(S, f), negF = vf.neg();
        for (long i = 0; i < n; i += L) {
            FloatVector w = ld(x, xo, i).abs().min(SIXTEEN);
            FloatVector split = w.mul(VELTKAMP), s = split.sub(split.sub(w)); // Veltkamp's split
            FloatVector t = s.sub(w).mul(s.add(w)).mul(vf);
            FloatVector correction = t.fma(TAYLOR_5, TAYLOR_4).fma(t, TAYLOR_3).fma(t, HALF).fma(t, ONE).fma(t, ONE);
            st(FloatMath.exp(s.mul(s).mul(negF)).mul(correction), tail, 0, i);
        }
    }

    private static final FloatVector SIXTEEN = FloatVector.broadcast(S, 16f), VELTKAMP = FloatVector.broadcast(S, 4097f),
            TAYLOR_5 = FloatVector.broadcast(S, 1 / 120f), TAYLOR_4 = FloatVector.broadcast(S, 1 / 24f),
            TAYLOR_3 = FloatVector.broadcast(S, 1 / 6f), HALF = FloatVector.broadcast(S, 0.5f);

    /** tail *= a erfc(a) exp(a^2) / a. */
    private static void scaledTailPass(MemorySegment x, long xo, MemorySegment tail, long n, float scale) {
        for (long i = 0; i < n; i += L) {
            FloatVector a = ld(x, xo, i).abs().mul(scale).lanewise(MIN, 11f);
            st(ld(tail, 0, i).mul(erfcScaledPolynomial(a.sub(2).div(a.add(2)))).div(a), tail, 0, i);
        }
    }

    /** Horner's rule written out: C2 inlines straight-line code more readily than a loop over the array. */
    private static FloatVector erfBelowOnePolynomial(FloatVector t) {
        float[] c = ERF_BELOW_ONE;
        return t.mul(c[6]).add(c[5]).mul(t).add(c[4]).mul(t).add(c[3]).mul(t).add(c[2]).mul(t).add(c[1]).mul(t).add(c[0]);
    }

    private static FloatVector erfcScaledPolynomial(FloatVector u) {
        float[] c = ERFC_SCALED;
        FloatVector r = u.mul(c[11]).add(c[10]).mul(u).add(c[9]).mul(u).add(c[8]).mul(u).add(c[7]).mul(u).add(c[6]);
        return r.mul(u).add(c[5]).mul(u).add(c[4]).mul(u).add(c[3]).mul(u).add(c[2]).mul(u).add(c[1]).mul(u).add(c[0]);
    }

    /**
     * {@code out = a op b} over n elements. Beside the ops {@link #supports(BinaryOp)} names, the comparisons, as truth
     * values 1 and 0 in float: the fused interpreter's registers (the elementwise kernels write comparisons as bool,
     * so {@code supports} leaves them out).
     */
    static void binary(BinaryOp op, MemorySegment a, long aOff, MemorySegment b, long bOff,
                       MemorySegment out, long outOff, long n) {
        long full = n - n % L;
        switch (op) {
            case ADD -> add(a, aOff, b, bOff, out, outOff, full);
            case SUB -> sub(a, aOff, b, bOff, out, outOff, full);
            case MUL -> mul(a, aOff, b, bOff, out, outOff, full);
            case DIV -> div(a, aOff, b, bOff, out, outOff, full);
            case MAXIMUM -> max(a, aOff, b, bOff, out, outOff, full);
            case MINIMUM -> min(a, aOff, b, bOff, out, outOff, full);
            case EQ -> eq(a, aOff, b, bOff, out, outOff, full);
            case NE -> ne(a, aOff, b, bOff, out, outOff, full);
            case LT -> lt(a, aOff, b, bOff, out, outOff, full);
            case LE -> le(a, aOff, b, bOff, out, outOff, full);
            case GT -> gt(a, aOff, b, bOff, out, outOff, full);
            case GE -> ge(a, aOff, b, bOff, out, outOff, full);
            default -> throw new IllegalArgumentException("no vector loop for " + op);
        }
        if (full < n) {
            MemorySegment pad = TAIL.get();
            MemorySegment.copy(a, aOff + full * BYTES, pad, 0, (n - full) * BYTES);
            MemorySegment.copy(b, bOff + full * BYTES, pad, L * BYTES, (n - full) * BYTES);
            binary(op, pad, 0, pad, L * BYTES, pad, 0, L);
            MemorySegment.copy(pad, 0, out, outOff + full * BYTES, (n - full) * BYTES);
        }
    }

    private static void add(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).add(ld(b, bo, i)), out, oo, i);
    }

    private static void sub(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).sub(ld(b, bo, i)), out, oo, i);
    }

    private static void mul(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).mul(ld(b, bo, i)), out, oo, i);
    }

    private static void div(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).div(ld(b, bo, i)), out, oo, i);
    }

    private static void max(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).lanewise(MAX, ld(b, bo, i)), out, oo, i);
    }

    private static void min(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).lanewise(MIN, ld(b, bo, i)), out, oo, i);
    }

    /** {@code out = a op s}, or {@code s op a} when {@code scalarFirst}. */
    static void binaryScalar(BinaryOp op, MemorySegment a, long aOff, double scalar, boolean scalarFirst,
                             MemorySegment out, long outOff, long n) {
        float s = (float) scalar;
        long full = n - n % L;
        switch (op) {
            case ADD -> addScalar(a, aOff, s, out, outOff, full);
            case MUL -> mulScalar(a, aOff, s, out, outOff, full);
            case MAXIMUM -> maxScalar(a, aOff, s, out, outOff, full);
            case MINIMUM -> minScalar(a, aOff, s, out, outOff, full);
            case SUB -> {
                if (scalarFirst) scalarSub(a, aOff, s, out, outOff, full);
                else addScalar(a, aOff, -s, out, outOff, full);
            }
            case DIV -> {
                if (scalarFirst) scalarDiv(a, aOff, s, out, outOff, full);
                else divScalar(a, aOff, s, out, outOff, full);
            }
            default -> throw new IllegalArgumentException("no vector loop for " + op);
        }
        if (full < n) {
            MemorySegment pad = TAIL.get();
            MemorySegment.copy(a, aOff + full * BYTES, pad, 0, (n - full) * BYTES);
            binaryScalar(op, pad, 0, scalar, scalarFirst, pad, 0, L);
            MemorySegment.copy(pad, 0, out, outOff + full * BYTES, (n - full) * BYTES);
        }
    }

    private static void eq(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ZERO.blend(ONE, ld(a, ao, i).compare(VectorOperators.EQ, ld(b, bo, i))), out, oo, i);
    }

    private static void ne(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ZERO.blend(ONE, ld(a, ao, i).compare(VectorOperators.NE, ld(b, bo, i))), out, oo, i);
    }

    private static void lt(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ZERO.blend(ONE, ld(a, ao, i).compare(LT, ld(b, bo, i))), out, oo, i);
    }

    private static void le(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ZERO.blend(ONE, ld(a, ao, i).compare(VectorOperators.LE, ld(b, bo, i))), out, oo, i);
    }

    private static void gt(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ZERO.blend(ONE, ld(a, ao, i).compare(GT, ld(b, bo, i))), out, oo, i);
    }

    private static void ge(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ZERO.blend(ONE, ld(a, ao, i).compare(GE, ld(b, bo, i))), out, oo, i);
    }

    /** {@code out = cond != 0 ? a : b} over n elements (cond a truth register: 1, 0, or NaN, which counts as true). */
    static void where(MemorySegment c, long cOff, MemorySegment a, long aOff, MemorySegment b, long bOff, MemorySegment out, long outOff, long n) {
        long full = n - n % L;
        for (long i = 0; i < full; i += L)
            st(ld(b, bOff, i).blend(ld(a, aOff, i), ld(c, cOff, i).compare(VectorOperators.NE, 0)), out, outOff, i);
        for (long i = full; i < n; i++) {
            float pick = c.get(ValueLayout.JAVA_FLOAT_UNALIGNED, cOff + i * BYTES) != 0 ? a.get(ValueLayout.JAVA_FLOAT_UNALIGNED, aOff + i * BYTES)
                    : b.get(ValueLayout.JAVA_FLOAT_UNALIGNED, bOff + i * BYTES);
            out.set(ValueLayout.JAVA_FLOAT_UNALIGNED, outOff + i * BYTES, pick);
        }
    }

    private static void addScalar(MemorySegment a, long ao, float s, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).add(s), out, oo, i);
    }

    private static void mulScalar(MemorySegment a, long ao, float s, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).mul(s), out, oo, i);
    }

    private static void maxScalar(MemorySegment a, long ao, float s, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).lanewise(MAX, s), out, oo, i);
    }

    private static void minScalar(MemorySegment a, long ao, float s, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).lanewise(MIN, s), out, oo, i);
    }

    private static void scalarSub(MemorySegment a, long ao, float s, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).neg().add(s), out, oo, i);
    }

    private static void scalarDiv(MemorySegment a, long ao, float s, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(FloatVector.broadcast(S, s).div(ld(a, ao, i)), out, oo, i);
    }

    private static void divScalar(MemorySegment a, long ao, float s, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).div(s), out, oo, i);
    }

    /**
     * {@code out[c] = x[0, c] + x[1, c] + ... + x[rows - 1, c]} for n columns, rows {@code rowBytes} apart, each column
     * added in row order as repeated row additions would (the same bits). Four vectors of columns are held in
     * registers down {@link #COLUMN_ROWS} rows at a time (one load per element instead of two loads and a store into
     * the output), and all the columns run before the next rows, so those rows stay in L1 while they are read.
     */
    static void sumColumns(MemorySegment x, long xo, long rowBytes, long rows, MemorySegment out, long oo, long n) {
        for (long r0 = 0; r0 < rows; r0 += COLUMN_ROWS) {
            long r1 = Math.min(rows, r0 + COLUMN_ROWS);
            // The first rows start from row 0 itself, the later ones from the partial sums in out.
            MemorySegment from = r0 == 0 ? x : out;
            long first = r0 == 0 ? 1 : r0, fromOff = r0 == 0 ? xo : oo, c = 0;
            for (; c + 4L * L <= n; c += 4L * L) {
                long at = xo + first * rowBytes + c * BYTES, to = oo + c * BYTES, f = fromOff + c * BYTES;
                FloatVector s0 = ld(from, f, 0), s1 = ld(from, f, L), s2 = ld(from, f, 2L * L), s3 = ld(from, f, 3L * L);
                for (long r = first; r < r1; r++, at += rowBytes) {
                    s0 = s0.add(ld(x, at, 0));
                    s1 = s1.add(ld(x, at, L));
                    s2 = s2.add(ld(x, at, 2L * L));
                    s3 = s3.add(ld(x, at, 3L * L));
                }
                st(s0, out, to, 0);
                st(s1, out, to, L);
                st(s2, out, to, 2L * L);
                st(s3, out, to, 3L * L);
            }
            for (; c + L <= n; c += L) {
                long at = xo + first * rowBytes + c * BYTES;
                FloatVector s0 = ld(from, fromOff + c * BYTES, 0);
                for (long r = first; r < r1; r++, at += rowBytes) s0 = s0.add(ld(x, at, 0));
                st(s0, out, oo + c * BYTES, 0);
            }
            for (; c < n; c++) {
                long at = xo + first * rowBytes + c * BYTES;
                float s0 = from.get(ValueLayout.JAVA_FLOAT_UNALIGNED, fromOff + c * BYTES);
                for (long r = first; r < r1; r++, at += rowBytes) s0 += x.get(ValueLayout.JAVA_FLOAT_UNALIGNED, at);
                out.set(ValueLayout.JAVA_FLOAT_UNALIGNED, oo + c * BYTES, s0);
            }
        }
    }

    /** Rows per pass of {@link #sumColumns}. */
    private static final long COLUMN_ROWS = 64;

    private static FloatVector ld(MemorySegment s, long byteOffset, long i) {
        return FloatVector.fromMemorySegment(S, typed(s), byteOffset + i * BYTES, ORDER);
    }

    private static void st(FloatVector v, MemorySegment s, long byteOffset, long i) {
        v.intoMemorySegment(typed(s), byteOffset + i * BYTES, ORDER);
    }

    /**
     * Reduces n dense elements; the sum keeps two accumulators to hide the add latency. Max and min follow
     * Math.max/min, so a NaN anywhere gives NaN, as in the scalar reference.
     */
    static float reduce(ReduceOp op, MemorySegment x, long off, long n) {
        long full = n - n % L;
        float head = switch (op) {
            case SUM -> sum(x, off, full);
            case PROD -> prod(x, off, full);
            case MAX -> max(x, off, full);
            case MIN -> min(x, off, full);
        };
        for (long i = full; i < n; i++) head = combine(op, head, x.get(ValueLayout.JAVA_FLOAT_UNALIGNED, off + i * BYTES));
        return head;
    }

    private static float sum(MemorySegment x, long off, long full) {
        FloatVector r0 = FloatVector.zero(S), r1 = r0;
        long i = 0;
        for (; i + 2L * L <= full; i += 2L * L) {
            r0 = r0.add(ld(x, off, i));
            r1 = r1.add(ld(x, off, i + L));
        }
        if (i < full) r0 = r0.add(ld(x, off, i));
        return Lanes.sum(r0.add(r1));
    }

    private static float prod(MemorySegment x, long off, long full) {
        FloatVector r = ONE;
        for (long i = 0; i < full; i += L) r = r.mul(ld(x, off, i));
        return Lanes.product(r);
    }

    private static float max(MemorySegment x, long off, long full) {
        // Four chains: a Java-semantics max (NaN-propagating) is several instructions of latency.
        FloatVector r0 = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY), r1 = r0, r2 = r0, r3 = r0;
        long i = 0;
        for (; i + 4L * L <= full; i += 4L * L) {
            r0 = r0.lanewise(MAX, ld(x, off, i));
            r1 = r1.lanewise(MAX, ld(x, off, i + L));
            r2 = r2.lanewise(MAX, ld(x, off, i + 2L * L));
            r3 = r3.lanewise(MAX, ld(x, off, i + 3L * L));
        }
        for (; i < full; i += L) r0 = r0.lanewise(MAX, ld(x, off, i));
        return r0.lanewise(MAX, r1).lanewise(MAX, r2.lanewise(MAX, r3)).reduceLanes(VectorOperators.MAX);
    }

    private static float min(MemorySegment x, long off, long full) {
        // Four chains: a Java-semantics min (NaN-propagating) is several instructions of latency.
        FloatVector r0 = FloatVector.broadcast(S, Float.POSITIVE_INFINITY), r1 = r0, r2 = r0, r3 = r0;
        long i = 0;
        for (; i + 4L * L <= full; i += 4L * L) {
            r0 = r0.lanewise(MIN, ld(x, off, i));
            r1 = r1.lanewise(MIN, ld(x, off, i + L));
            r2 = r2.lanewise(MIN, ld(x, off, i + 2L * L));
            r3 = r3.lanewise(MIN, ld(x, off, i + 3L * L));
        }
        for (; i < full; i += L) r0 = r0.lanewise(MIN, ld(x, off, i));
        return r0.lanewise(MIN, r1).lanewise(MIN, r2.lanewise(MIN, r3)).reduceLanes(VectorOperators.MIN);
    }

    private static float combine(ReduceOp op, float a, float b) {
        return switch (op) {
            case SUM -> a + b;
            case PROD -> a * b;
            case MAX -> Math.max(a, b);
            case MIN -> Math.min(a, b);
        };
    }

    /** Elements per pass of erf and GELU (a multiple of any vector length). */
    private static final int ERF_BLOCK = 1024;
    private static final ThreadLocal<MemorySegment> ERF_SCRATCH = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(ERF_BLOCK * BYTES, 64));

    /** A padded run of two vectors, for ragged tails. */
    private static final ThreadLocal<MemorySegment> TAIL = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(2L * L * BYTES, 64));
}
