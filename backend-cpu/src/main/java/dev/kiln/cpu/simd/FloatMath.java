package dev.kiln.cpu.simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.GE;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LT;
import static jdk.incubator.vector.VectorOperators.ULT;

/**
 * exp, expm1, log, log1p, tanh and sigmoid of float vectors from lanewise arithmetic alone, within 3 ulp.
 *
 * <p>The Vector API's own {@code lanewise(EXP)} and its kin are not one function: C2 calls the JDK's SVML stubs,
 * while the interpreter and C1 apply {@code Math.exp} lane by lane, and the two differ in the last bit. Since a loop
 * is compiled at a moment that varies from run to run, a seeded training run on the CPU gave different weights from
 * one run to the next (one MNIST epoch with 256-bit vectors: the second and third run each differed from the first). Additions, multiplications, fused multiply-adds, divisions,
 * comparisons and bit operations are exact in every execution mode, so what is built from them here gives the same
 * bits however and whenever it runs; and being inlined, it also spares the loops the stub call, after which C2
 * reloads a memory segment's bounds. {@link Lanes} fixes the same problem for sums across lanes.
 *
 * <p>The polynomials are weighted least-squares fits of the relative error, refined towards minimax, with
 * coefficients rounded to float; {@code FloatMathTest} holds each function to its bound against {@code Math}.
 *
 * <p>Written for C2's inlining budget ({@code NodeCountInliningCutoff}): every constant is a vector field, since a
 * scalar operand costs a broadcast's worth of parse nodes per use; the rare inputs (subnormal, infinite or NaN
 * results and arguments) take a second way at the end of the same method, behind one branch on the whole vector; and
 * no helper takes a vector. With scalar operands, blends for every special case and small helpers, a loop calling
 * tanh outgrew the budget, and the vectors crossing the calls C2 then left out were boxed: five times slower.
 */
public final class FloatMath {
    private FloatMath() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private static FloatVector all(float v) { return FloatVector.broadcast(S, v); }

    private static final FloatVector ONE = all(1), TWO = all(2);
    private static final float ROUNDER = 12582912f; // 1.5 * 2^23: adding it rounds to an integer held in the low bits
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    private static final FloatVector ROUND = all(ROUNDER), LOG2_E = all(1.44269504f),
            LN2_HI = all(0.693145751953125f), // ln 2 in 16 bits: n * LN2_HI is exact for |n| < 2^8
            LN2_LO = all(1.42860677e-06f), NEG_LN2_HI = LN2_HI.neg(), NEG_LN2_LO = LN2_LO.neg();

    /**
     * e^x: x = n ln 2 + r with |r| &lt;= ln 2 / 2, e^r by a degree-6 polynomial (relative error 3e-9 before rounding),
     * and 2^n added to its exponent field. That is exact while the result is a normal float, |x| &lt; 86.5. Vectors
     * with a lane beyond (a masked score of -inf, say) apply 2^n as two factors 2^(n/2) instead, so subnormal
     * results round once, correctly; past the clamps the result has overflowed or underflowed already. Both ways
     * sit in this one method: as a method of its own, the rarer one was not inlined and its vector was boxed.
     */
    public static FloatVector exp(FloatVector x) {
        boolean near = x.abs().compare(LT, EXP_NEAR).allTrue();
        FloatVector xc = near ? x : x.max(EXP_MIN).min(EXP_MAX);
        FloatVector t = xc.fma(LOG2_E, ROUND), nf = t.sub(ROUND);
        FloatVector r = nf.fma(NEG_LN2_LO, nf.fma(NEG_LN2_HI, xc));
        FloatVector p = r.fma(EXP_C6, EXP_C5).fma(r, EXP_C4).fma(r, EXP_C3).fma(r, EXP_C2).fma(r, ONE).fma(r, ONE);
        if (near) return t.reinterpretAsInts().lanewise(LSHL, 23).add(p.reinterpretAsInts()).reinterpretAsFloats();
        // 2^(n/2) and 2^(n - n/2), each built in the exponent field from n's bits + 127 (written out: a helper taking
        // a vector is a call C2 may decline to inline once the caller is large, and then boxes its argument)
        IntVector n = t.reinterpretAsInts().sub(ROUNDER_BITS), half = n.lanewise(ASHR, 1);
        FloatVector first = half.add(127).lanewise(LSHL, 23).reinterpretAsFloats();
        FloatVector second = n.sub(half).add(127).lanewise(LSHL, 23).reinterpretAsFloats();
        return p.mul(first).mul(second);
    }

    private static final FloatVector EXP_NEAR = all(86.5f), EXP_MIN = all(-104f), EXP_MAX = all(88.8f),
            EXP_C6 = all(1.3814610e-3f), EXP_C5 = all(8.3687100e-3f), EXP_C4 = all(4.1668390e-2f),
            EXP_C3 = all(1.6666521e-1f), EXP_C2 = all(0.49999994f);

    /**
     * e^x - 1: below |x| = 1/2 as x (1 + x q(x)) (degree 5, relative error 3e-9), which keeps the precision of small
     * x, and the sign of zero, that e^x - 1 would cancel away; from there on e^x - 1 loses at most 2 ulp.
     */
    public static FloatVector expm1(FloatVector x) {
        FloatVector q = x.fma(EM1_C5, EM1_C4).fma(x, EM1_C3).fma(x, EM1_C2).fma(x, EM1_C1).fma(x, EM1_C0);
        FloatVector small = x.mul(x.fma(q, ONE));
        return exp(x).sub(ONE).blend(small, x.abs().compare(LT, HALF));
    }

    private static final FloatVector HALF = all(0.5f), EM1_C5 = all(1.9849808e-4f), EM1_C4 = all(1.3996178e-3f),
            EM1_C3 = all(8.333579e-3f), EM1_C2 = all(4.166536e-2f), EM1_C1 = all(0.16666664f), EM1_C0 = all(0.50000006f);

    /**
     * ln x: x = 2^e m with m in [sqrt(1/2), sqrt 2), ln m = f - f^2/2 + f^3 P(f) for f = m - 1 (degree 6, relative
     * error 3e-8), and e ln 2 added in two parts. Vectors with a lane that is not a positive normal float take the
     * slower way at the end (as one method: see {@link #exp}).
     */
    public static FloatVector log(FloatVector x) {
        IntVector bits = x.reinterpretAsInts();
        // one unsigned comparison: zero, subnormals, negatives, infinity and NaN all fall outside
        boolean normal = bits.sub(MIN_NORMAL_BITS).compare(ULT, INFINITY_BITS - MIN_NORMAL_BITS).allTrue();
        VectorMask<Float> subnormal = x.compare(LT, Float.MIN_NORMAL);
        if (!normal) bits = x.blend(x.mul(0x1p23f), subnormal).reinterpretAsInts();
        IntVector e = bits.sub(SQRT_HALF_BITS).lanewise(ASHR, 23);
        FloatVector f = bits.sub(e.lanewise(LSHL, 23)).reinterpretAsFloats().sub(ONE);
        FloatVector ef = (FloatVector) e.convert(I2F, 0);
        FloatVector p = f.fma(LOG_C6, LOG_C5).fma(f, LOG_C4).fma(f, LOG_C3).fma(f, LOG_C2).fma(f, LOG_C1).fma(f, LOG_C0);
        // f - f^2 / 2 rounded once: -f / 2 is exact, and the fused multiply-add keeps the whole product
        FloatVector lnM = f.mul(f).mul(f).fma(p, f.mul(NEG_HALF).fma(f, f));
        FloatVector y = ef.fma(LN2_LO, lnM).add(ef.mul(LN2_HI));
        if (normal) return y;
        // subnormals were scaled by 2^23 (23 ln 2 comes off well inside the result's last place); ln 0 = -inf,
        // ln inf = inf, NaN for x < 0 or NaN
        return y.sub(ZERO.blend(LN_2_TO_23, subnormal))
                .blend(Float.NEGATIVE_INFINITY, x.compare(EQ, 0))
                .blend(Float.POSITIVE_INFINITY, x.compare(EQ, Float.POSITIVE_INFINITY))
                .blend(Float.NaN, x.compare(GE, 0).not());
    }

    private static final float LN_2_TO_23 = (float) (23 * Math.log(2));
    private static final int SQRT_HALF_BITS = Float.floatToRawIntBits((float) Math.sqrt(0.5)),
            MIN_NORMAL_BITS = Float.floatToRawIntBits(Float.MIN_NORMAL),
            INFINITY_BITS = Float.floatToRawIntBits(Float.POSITIVE_INFINITY);
    private static final FloatVector ZERO = all(0), NEG_HALF = all(-0.5f), LOG_C6 = all(0.087003596f),
            LOG_C5 = all(-0.14267476f), LOG_C4 = all(0.14914787f), LOG_C3 = all(-0.16577587f),
            LOG_C2 = all(0.19963062f), LOG_C1 = all(-0.25001338f), LOG_C0 = all(0.3333391f);

    /**
     * ln(1 + x) as ln(u) x / (u - 1) with u = 1 + x rounded: the quotient corrects for the rounding of u (Goldberg's
     * device), so small x keep their precision. Where u rounds to 1 the result is x itself.
     */
    public static FloatVector log1p(FloatVector x) {
        FloatVector u = x.add(ONE);
        return log(u).mul(x.div(u.sub(ONE)))
                .blend(x, u.compare(EQ, ONE).or(x.compare(EQ, Float.POSITIVE_INFINITY)));
    }

    /**
     * tanh x = sign(x) m / (m + 2) with m = e^(2|x|) - 1, which is accurate near zero as well; from |x| = 9.1 on
     * tanh rounds to 1, and clamping there keeps m finite. The sign is copied bit for bit, so tanh(-0) is -0.
     */
    public static FloatVector tanh(FloatVector x) {
        FloatVector m = expm1(x.abs().min(TANH_ONE).mul(TWO));
        FloatVector t = m.div(m.add(TWO));
        return t.reinterpretAsInts().or(x.reinterpretAsInts().and(Integer.MIN_VALUE)).reinterpretAsFloats();
    }

    private static final FloatVector TANH_ONE = all(9.1f);

    /**
     * 1 / (1 + e^-x), taken as e^x / (1 + e^x) for negative x: e^-x would overflow there before the result
     * reaches the subnormals.
     */
    public static FloatVector sigmoid(FloatVector x) {
        FloatVector e = exp(x.abs().neg()), s = ONE.div(e.add(ONE));
        return s.blend(e.mul(s), x.compare(LT, 0));
    }
}
