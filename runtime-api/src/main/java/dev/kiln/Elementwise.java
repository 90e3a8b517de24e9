package dev.kiln;

import dev.kiln.autograd.BackwardFn;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.UnaryOp;
import dev.kiln.backend.View;
import java.lang.ref.Reference;

/**
 * Elementwise ops: type promotion, broadcasting, the kernel call, and each op's gradient beside it.
 */
final class Elementwise {
    private Elementwise() {}

    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
    private static final double INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

    // ---- plumbing ------------------------------------------------------------------------------------------

    static String describe(Tensor t) { return Shapes.str(t.shape()) + " " + t.dtype() + " on " + t.device(); }

    static void sameDevice(String op, Tensor a, Tensor b) {
        a.checkOpen(op);
        b.checkOpen(op);
        if (a.backend() != b.backend())
            throw new IllegalArgumentException(op + ": expected tensors on one device, got " + describe(a) + " and " + describe(b));
    }

    static View expanded(Tensor t, int[] shape) {
        int[] in = t.view.shape();
        long[] st = t.view.strides();
        if (java.util.Arrays.equals(in, shape)) return t.view;
        long[] out = new long[shape.length];
        int lead = shape.length - in.length;
        for (int i = lead; i < shape.length; i++) out[i] = in[i - lead] == shape[i] ? st[i - lead] : 0;
        return t.view.withShape(shape, out, t.view.offset());
    }

    /** x itself when it already has dtype dt, else a cast copy (the caller closes it when it differs). */
    private static Tensor as(Tensor x, DType dt) { return x.dtype() == dt ? x : cast(x, dt); }

    /**
     * A dtype-preserving op (relu, abs, clamp, ...) on a half type: the device computed it in float32, as it has no
     * half arithmetic everywhere, and the result is rounded back (exact for these ops); a bool result stays bool.
     */
    private static Tensor roundedBack(Tensor wide, DType half) {
        if (wide.dtype() == DType.BOOL) return wide;
        try (wide) {
            return cast(wide, half);
        }
    }

    private static void closeIfTemp(Tensor temp, Tensor original) {
        if (temp != original) temp.close();
    }

    /**
     * Half types (float16, bfloat16) are storage types: an op on them computes in float32 and rounds its result
     * once, above the SPI, so every backend runs the same code whether or not its device has half arithmetic.
     * The casts are recorded, so gradients flow back in the half type too.
     */
    static Tensor inFloat32(DType storage, java.util.function.Supplier<Tensor> compute) {
        try (Scope s = Scope.open()) {
            return s.keep(compute.get().to(storage));
        }
    }

    /**
     * {@code y + bias} in y's own type: a half-type y (a matmul or convolution under autocast) stays in it, as a
     * layer's output does in PyTorch, where a plain add of two half tensors would give float32.
     */
    static Tensor addInOwnType(Tensor y, Tensor bias) {
        return y.dtype().isComputeType() ? y.add(bias) : inFloat32(y.dtype(), () -> y.add(bias));
    }

    static Tensor cast(Tensor x, DType dt) {
        x.checkOpen("to");
        if (x.dtype() == dt) return x.clone();
        Tensor out = Tensor.allocate(x.backend(), dt, x.view.shape());
        if (out.numel() > 0) x.backend().copy(x.view, out.view);
        Reference.reachabilityFence(new Object[] {x, out});
        if (!dt.isFloatingPoint()) return Autograd.nonDifferentiable(out);
        DType from = x.dtype();
        return Autograd.record("to", out, x, g -> new Tensor[] {g.to(from)});
    }

    private static Tensor binaryKernel(String name, BinaryOp op, Tensor a, Tensor b, DType compute) {
        sameDevice(name, a, b);
        int[] shape = Shapes.broadcast(name, a.view.shape(), b.view.shape());
        Tensor ac = as(a, compute), bc = as(b, compute);
        try {
            Tensor out = Tensor.allocate(a.backend(), op.writesBool() ? DType.BOOL : compute, shape);
            if (out.numel() > 0) a.backend().binary(op, expanded(ac, shape), expanded(bc, shape), out.view);
            Reference.reachabilityFence(new Object[] {out, ac, bc});
            return out;
        } finally {
            closeIfTemp(ac, a);
            closeIfTemp(bc, b);
        }
    }

    private static Tensor scalarKernel(BinaryOp op, Tensor a, double s, boolean scalarFirst, DType compute) {
        a.checkOpen(op);
        if (!compute.isComputeType()) return roundedBack(scalarKernel(op, a, s, scalarFirst, DType.FLOAT32), compute);
        Tensor ac = as(a, compute);
        try {
            Tensor out = Tensor.allocate(a.backend(), op.writesBool() ? DType.BOOL : compute, a.view.shape());
            if (out.numel() > 0) a.backend().binaryScalar(op, ac.view, s, scalarFirst, out.view);
            Reference.reachabilityFence(new Object[] {ac, out});
            return out;
        } finally {
            closeIfTemp(ac, a);
        }
    }

    private static Tensor unaryKernel(UnaryOp op, double alpha, Tensor x, DType dt) {
        x.checkOpen(op);
        if (!dt.isComputeType()) return roundedBack(unaryKernel(op, alpha, x, DType.FLOAT32), dt);
        Tensor xc = as(x, dt);
        try {
            Tensor out = Tensor.allocate(x.backend(), op == UnaryOp.IS_NAN ? DType.BOOL : dt, x.view.shape());
            if (out.numel() > 0) x.backend().unary(op, alpha, xc.view, out.view);
            Reference.reachabilityFence(new Object[] {xc, out});
            return out;
        } finally {
            closeIfTemp(xc, x);
        }
    }

    /** Arithmetic on a scalar keeps the tensor's dtype unless a fractional scalar meets an integer tensor. */
    private static DType scalarType(Tensor a, double s) {
        if (a.dtype() == DType.BOOL) return s == Math.rint(s) ? DType.INT64 : DType.FLOAT32;
        if (!a.dtype().isFloatingPoint() && s != Math.rint(s)) return DType.FLOAT32;
        return a.dtype().isComputeType() ? a.dtype() : DType.FLOAT32;
    }

    /** The gradient for input x: broadcast dimensions summed away, in x's dtype. */
    static Tensor gradFor(Tensor g, Tensor x) {
        Tensor s = ViewOps.sumTo(g, x.view.shape());
        return s.dtype() == x.dtype() ? s : s.to(x.dtype());
    }

    /** {@link #gradFor}, or null when x takes no gradient (backward skips it either way). */
    private static Tensor gradIfNeeded(Tensor g, Tensor x) { return x.requiresGrad() ? gradFor(g, x) : null; }

    private static Tensor unaryGrad(String name, UnaryOp op, double alpha, Tensor x, java.util.function.BiFunction<Tensor, Tensor, Tensor> rule) {
        DType dt = x.dtype().toFloating();
        Tensor out = unaryKernel(op, alpha, x, dt);
        return Autograd.record(name, out, x, g -> new Tensor[] {rule.apply(g, out)}, out);
    }

    // ---- binary arithmetic -----------------------------------------------------------------------------------

    static Tensor add(Tensor a, Tensor b) {
        Tensor out = binaryKernel("add", BinaryOp.ADD, a, b, DType.promote(a.dtype(), b.dtype()));
        return Autograd.record("add", out, new Tensor[] {a, b}, g -> new Tensor[] {gradIfNeeded(g, a), gradIfNeeded(g, b)});
    }

    static Tensor sub(Tensor a, Tensor b) {
        Tensor out = binaryKernel("sub", BinaryOp.SUB, a, b, DType.promote(a.dtype(), b.dtype()));
        return Autograd.record("sub", out, new Tensor[] {a, b}, g -> new Tensor[] {gradIfNeeded(g, a), b.requiresGrad() ? gradFor(g.neg(), b) : null});
    }

    static Tensor mul(Tensor a, Tensor b) {
        Tensor out = binaryKernel("mul", BinaryOp.MUL, a, b, DType.promote(a.dtype(), b.dtype()));
        return Autograd.record("mul", out, new Tensor[] {a, b}, g -> new Tensor[] {
                a.requiresGrad() ? gradFor(g.mul(b), a) : null, b.requiresGrad() ? gradFor(g.mul(a), b) : null});
    }

    static Tensor div(Tensor a, Tensor b) {
        Tensor out = binaryKernel("div", BinaryOp.DIV, a, b, DType.promote(a.dtype(), b.dtype()).toFloating());
        return Autograd.record("div", out, new Tensor[] {a, b},
                g -> new Tensor[] {a.requiresGrad() ? gradFor(g.div(b), a) : null, b.requiresGrad() ? gradFor(g.mul(out).div(b).neg(), b) : null}, out);
    }

    static Tensor pow(Tensor a, Tensor b) {
        Tensor out = binaryKernel("pow", BinaryOp.POW, a, b, DType.promote(a.dtype(), b.dtype()));
        return Autograd.record("pow", out, new Tensor[] {a, b}, g -> new Tensor[] {
                gradFor(g.mul(b).mul(a.pow(b.sub(1.0))), a),
                // d/db a^b = a^b ln a, taken as 0 where a == 0 (the limit PyTorch uses).
                b.requiresGrad() ? gradFor(g.mul(out).mul(where(a.eq(0), Tensor.zerosLike(a), a.log())), b) : null}, out);
    }

    static Tensor maximum(Tensor a, Tensor b) { return extremum("maximum", BinaryOp.MAXIMUM, BinaryOp.GT, a, b); }

    static Tensor minimum(Tensor a, Tensor b) { return extremum("minimum", BinaryOp.MINIMUM, BinaryOp.LT, a, b); }

    private static Tensor extremum(String name, BinaryOp op, BinaryOp wins, Tensor a, Tensor b) {
        Tensor out = binaryKernel(name, op, a, b, DType.promote(a.dtype(), b.dtype()));
        // Ties share the gradient evenly, as in PyTorch.
        return Autograd.record(name, out, new Tensor[] {a, b}, g -> {
            Tensor aWins = compare(wins, a, b).to(g.dtype());
            Tensor tie = compare(BinaryOp.EQ, a, b).to(g.dtype()).mul(0.5);
            Tensor share = aWins.add(tie);
            return new Tensor[] {gradFor(g.mul(share), a), gradFor(g.mul(share.rsub(1.0)), b)};
        });
    }

    static Tensor remainder(Tensor a, double divisor) {
        Tensor out = scalarKernel(BinaryOp.REMAINDER, a, divisor, false, scalarType(a, divisor));
        return Autograd.record("remainder", out, a, g -> new Tensor[] {g});
    }

    // ---- scalar arithmetic -----------------------------------------------------------------------------------

    static Tensor addScalar(Tensor a, double s) {
        Tensor out = scalarKernel(BinaryOp.ADD, a, s, false, scalarType(a, s));
        return Autograd.record("add", out, a, g -> new Tensor[] {g});
    }

    static Tensor rsubScalar(Tensor a, double s) {
        Tensor out = scalarKernel(BinaryOp.SUB, a, s, true, scalarType(a, s));
        return Autograd.record("rsub", out, a, g -> new Tensor[] {g.neg()});
    }

    static Tensor mulScalar(Tensor a, double s) {
        Tensor out = scalarKernel(BinaryOp.MUL, a, s, false, scalarType(a, s));
        return Autograd.record("mul", out, a, g -> new Tensor[] {g.mul(s)});
    }

    static Tensor divScalar(Tensor a, double s) {
        Tensor out = scalarKernel(BinaryOp.DIV, a, s, false, a.dtype().toFloating());
        return Autograd.record("div", out, a, g -> new Tensor[] {g.div(s)});
    }

    static Tensor powScalar(Tensor a, double p) {
        Tensor out = scalarKernel(BinaryOp.POW, a, p, false, scalarType(a, p));
        return Autograd.record("pow", out, a, g -> new Tensor[] {p == 0 ? Tensor.zerosLike(a) : g.mul(a.pow(p - 1)).mul(p)});
    }

    // ---- unary -------------------------------------------------------------------------------------------

    static Tensor neg(Tensor x) {
        Tensor out = unaryKernel(UnaryOp.NEG, 0, x, x.dtype() == DType.BOOL ? DType.INT64 : x.dtype());
        return Autograd.record("neg", out, x, g -> new Tensor[] {g.neg()});
    }

    static Tensor abs(Tensor x) {
        Tensor out = unaryKernel(UnaryOp.ABS, 0, x, x.dtype());
        return Autograd.record("abs", out, x, g -> new Tensor[] {g.mul(x.sign())});
    }

    static Tensor sign(Tensor x) {
        Tensor out = unaryKernel(UnaryOp.SIGN, 0, x, x.dtype());
        return Autograd.record("sign", out, x, g -> new Tensor[] {Tensor.zerosLike(g)});
    }

    static Tensor exp(Tensor x) { return unaryGrad("exp", UnaryOp.EXP, 0, x, (g, y) -> g.mul(y)); }

    static Tensor log(Tensor x) {
        Tensor out = unaryKernel(UnaryOp.LOG, 0, x, x.dtype().toFloating());
        return Autograd.record("log", out, x, g -> new Tensor[] {g.div(x)});
    }

    static Tensor sqrt(Tensor x) { return unaryGrad("sqrt", UnaryOp.SQRT, 0, x, (g, y) -> g.div(y).mul(0.5)); }

    static Tensor rsqrt(Tensor x) { return unaryGrad("rsqrt", UnaryOp.RSQRT, 0, x, (g, y) -> g.mul(y.pow(3)).mul(-0.5)); }

    static Tensor reciprocal(Tensor x) { return unaryGrad("reciprocal", UnaryOp.RECIPROCAL, 0, x, (g, y) -> g.mul(y.square()).neg()); }

    static Tensor square(Tensor x) {
        Tensor out = unaryKernel(UnaryOp.SQUARE, 0, x, x.dtype() == DType.BOOL ? DType.INT64 : x.dtype());
        return Autograd.record("square", out, x, g -> new Tensor[] {g.mul(x).mul(2)});
    }

    static Tensor sin(Tensor x) {
        Tensor out = unaryKernel(UnaryOp.SIN, 0, x, x.dtype().toFloating());
        return Autograd.record("sin", out, x, g -> new Tensor[] {g.mul(x.cos())});
    }

    static Tensor cos(Tensor x) {
        Tensor out = unaryKernel(UnaryOp.COS, 0, x, x.dtype().toFloating());
        return Autograd.record("cos", out, x, g -> new Tensor[] {g.mul(x.sin()).neg()});
    }

    static Tensor tanh(Tensor x) { return unaryGrad("tanh", UnaryOp.TANH, 0, x, (g, y) -> g.mul(y.square().rsub(1))); }

    static Tensor erf(Tensor x) {
        Tensor out = unaryKernel(UnaryOp.ERF, 0, x, x.dtype().toFloating());
        return Autograd.record("erf", out, x, g -> new Tensor[] {g.mul(x.square().neg().exp()).mul(2 / Math.sqrt(Math.PI))});
    }

    static Tensor floor(Tensor x) { return stepFunction("floor", UnaryOp.FLOOR, x); }

    static Tensor ceil(Tensor x) { return stepFunction("ceil", UnaryOp.CEIL, x); }

    static Tensor round(Tensor x) { return stepFunction("round", UnaryOp.ROUND, x); }

    private static Tensor stepFunction(String name, UnaryOp op, Tensor x) {
        Tensor out = unaryKernel(op, 0, x, x.dtype());
        return Autograd.record(name, out, x, g -> new Tensor[] {Tensor.zerosLike(g)});
    }

    static Tensor sigmoid(Tensor x) { return unaryGrad("sigmoid", UnaryOp.SIGMOID, 0, x, (g, y) -> g.mul(y).mul(y.rsub(1))); }

    /** ReLU's gradient as one fused pass over (x, g): the rule below is a comparison, a cast and a product. */
    private static final dev.kiln.backend.FusedProgram RELU_GRAD = FusedGradient.of(Fused.unaryProgram(UnaryOp.RELU), 0, new boolean[] {true});

    static Tensor relu(Tensor x) {
        Tensor out = unaryKernel(UnaryOp.RELU, 0, x, x.dtype());
        return Autograd.record("relu", out, x, g -> new Tensor[] {Fused.computesIn(x, g)
                ? Fused.apply(RELU_GRAD, new double[0], x, g)[0]
                : g.mul(x.gt(0).to(g.dtype()))});
    }

    static Tensor leakyRelu(Tensor x, double slope) {
        Tensor out = unaryKernel(UnaryOp.LEAKY_RELU, slope, x, x.dtype().toFloating());
        return Autograd.record("leaky_relu", out, x, g -> new Tensor[] {Fused.computesIn(x, g)
                ? Fused.apply(FusedGradient.of(Fused.unaryProgram(UnaryOp.LEAKY_RELU, slope), 0, new boolean[] {true}), new double[0], x, g)[0]
                : g.mul(where(x.gt(0), Tensor.onesLike(g), Tensor.fullLike(g, slope)))});
    }

    static Tensor elu(Tensor x, double alpha) {
        return unaryGrad("elu", UnaryOp.ELU, alpha, x, (g, y) -> g.mul(where(y.gt(0), Tensor.onesLike(g), y.add(alpha))));
    }

    /** GELU's gradients as fused programs over (x, g): one pass where the rules below take about ten. */
    private static final dev.kiln.backend.FusedProgram GELU_GRAD =
            FusedGradient.of(Fused.unaryProgram(UnaryOp.GELU), 0, new boolean[] {true});
    private static final dev.kiln.backend.FusedProgram GELU_TANH_GRAD =
            FusedGradient.of(Fused.unaryProgram(UnaryOp.GELU_TANH), 0, new boolean[] {true});

    static Tensor gelu(Tensor x, boolean tanh) {
        Tensor out = unaryKernel(tanh ? UnaryOp.GELU_TANH : UnaryOp.GELU, 0, x, x.dtype().toFloating());
        return Autograd.record("gelu", out, x, g -> new Tensor[] {Fused.computesIn(x, g)
                ? Fused.apply(tanh ? GELU_TANH_GRAD : GELU_GRAD, new double[0], x, g)[0]
                : g.mul(geluDerivative(x, tanh))});
    }

    private static Tensor geluDerivative(Tensor x, boolean tanh) {
        if (tanh) {
            // d/dx 0.5 x (1 + tanh u), u = c (x + 0.044715 x^3)
            Tensor x2 = x.square();
            Tensor t = x.add(x.mul(x2).mul(0.044715)).mul(SQRT_2_OVER_PI).tanh();
            Tensor du = x2.mul(3 * 0.044715).add(1).mul(SQRT_2_OVER_PI);
            return t.add(1).mul(0.5).add(x.mul(0.5).mul(t.square().rsub(1)).mul(du));
        }
        // Phi(x) + x phi(x)
        Tensor cdf = x.mul(1 / Math.sqrt(2)).erf().add(1).mul(0.5);
        Tensor pdf = x.square().mul(-0.5).exp().mul(INV_SQRT_2PI);
        return cdf.add(x.mul(pdf));
    }

    /**
     * PyTorch's {@code softplus(x, beta, threshold)}: {@code log(1 + exp(beta * x)) / beta}, and x itself where
     * {@code beta * x > threshold}. Composed around the fused beta = 1 kernel, so it differentiates through it.
     */
    static Tensor softplus(Tensor x, double beta, double threshold) {
        if (!(beta > 0) || Double.isInfinite(beta) || Double.isNaN(threshold))
            throw new IllegalArgumentException("softplus: beta must be positive and finite and threshold a number, got beta=" + beta + " threshold=" + threshold);
        if (beta == 1 && threshold == 20) return softplus(x);
        try (Scope scope = Scope.open()) {
            Tensor scaled = x.mul(beta);
            Tensor smooth = softplus(scaled).div(beta);
            return scope.keep(where(scaled.gt(threshold), x.to(smooth.dtype()), smooth));
        }
    }

    static Tensor softplus(Tensor x) {
        Tensor out = unaryKernel(UnaryOp.SOFTPLUS, 0, x, x.dtype().toFloating());
        return Autograd.record("softplus", out, x, g -> new Tensor[] {g.mul(x.sigmoid())});
    }

    static Tensor silu(Tensor x) {
        Tensor out = unaryKernel(UnaryOp.SILU, 0, x, x.dtype().toFloating());
        return Autograd.record("silu", out, x, g -> {
            Tensor s = x.sigmoid();
            return new Tensor[] {g.mul(s.mul(x.mul(s.rsub(1)).add(1)))};
        });
    }

    static Tensor clamp(Tensor x, double min, double max) {
        x.checkOpen("clamp");
        // min > max is allowed, as in PyTorch and ONNX Clip: max is applied last, so every element becomes max.
        Tensor lo = Double.isNaN(min) ? null : scalarKernel(BinaryOp.MAXIMUM, x, min, false, x.dtype());
        Tensor out;
        if (Double.isNaN(max)) {
            out = lo != null ? lo : x.clone();
        } else {
            out = scalarKernel(BinaryOp.MINIMUM, lo != null ? lo : x, max, false, x.dtype());
            if (lo != null) lo.close();
        }
        return Autograd.record("clamp", out, x, g -> {
            Tensor inside = Tensor.onesLike(g);
            if (!Double.isNaN(min)) inside = inside.mul(x.ge(min).to(g.dtype()));
            if (!Double.isNaN(max)) inside = inside.mul(x.le(max).to(g.dtype()));
            return new Tensor[] {g.mul(inside)};
        });
    }

    static Tensor isNan(Tensor x) { return Autograd.nonDifferentiable(unaryKernel(UnaryOp.IS_NAN, 0, x, x.dtype())); }

    static Tensor logicalNot(Tensor x) { return Autograd.nonDifferentiable(unaryKernel(UnaryOp.NOT, 0, x, DType.BOOL)); }

    static Tensor logical(BinaryOp op, Tensor a, Tensor b) {
        return Autograd.nonDifferentiable(binaryKernel(op.name().toLowerCase(java.util.Locale.ROOT), op, a, b, DType.BOOL));
    }

    static Tensor compare(BinaryOp op, Tensor a, Tensor b) {
        return Autograd.nonDifferentiable(binaryKernel(op.name().toLowerCase(java.util.Locale.ROOT), op, a, b, DType.promote(a.dtype(), b.dtype())));
    }

    /**
     * {@code a op s} into bool. The number is first converted to the comparison's type, as PyTorch does, so every
     * backend gives one answer: in float32, {@code (float) 0.1 > 0.1} is false (a kernel comparing in double, or one
     * rounding the number itself, would otherwise disagree).
     */
    static Tensor compareScalar(BinaryOp op, Tensor a, double s) {
        DType t = scalarType(a, s);
        double number = t == DType.FLOAT32 ? (float) s : s;
        return Autograd.nonDifferentiable(scalarKernel(op, a, number, false, t));
    }

    static Tensor where(Tensor cond, Tensor a, Tensor b) {
        sameDevice("where", cond, a);
        sameDevice("where", a, b);
        if (cond.dtype() != DType.BOOL)
            throw new IllegalArgumentException("where: condition must be bool, got " + describe(cond));
        int[] shape = Shapes.broadcast("where", Shapes.broadcast("where", cond.shape(), a.shape()), b.shape());
        DType dt = DType.promote(a.dtype(), b.dtype());
        Tensor ac = as(a, dt), bc = as(b, dt);
        Tensor out = Tensor.allocate(a.backend(), dt, shape);
        try {
            if (out.numel() > 0) a.backend().where(expanded(cond, shape), expanded(ac, shape), expanded(bc, shape), out.view);
            Reference.reachabilityFence(new Object[] {out, cond, ac, bc});
        } finally {
            closeIfTemp(ac, a);
            closeIfTemp(bc, b);
        }
        return Autograd.record("where", out, new Tensor[] {cond, a, b}, g -> {
            Tensor zero = Tensor.zerosLike(g);
            return new Tensor[] {null, gradFor(where(cond, g, zero), a), gradFor(where(cond, zero, g), b)};
        });
    }

    // ---- in place ------------------------------------------------------------------------------------------

    static void checkInPlace(String op, Tensor self) {
        self.checkOpen(op);
        if (dev.kiln.autograd.GradMode.isEnabled() && self.requiresGrad())
            throw new IllegalStateException(op + ": in-place update of a tensor that requires grad (" + describe(self)
                    + "); wrap parameter updates in GradMode.noGrad()");
        long[] st = self.view.strides();
        int[] sh = self.view.shape();
        for (int i = 0; i < st.length; i++)
            if (st[i] == 0 && sh[i] > 1)
                throw new IllegalArgumentException(op + ": cannot write in place into an expanded (broadcast) tensor " + describe(self));
    }

    static Tensor inPlace(String name, BinaryOp op, Tensor self, Tensor other) {
        checkInPlace(name, self);
        sameDevice(name, self, other);
        int[] shape = Shapes.broadcast(name, self.view.shape(), other.view.shape());
        if (!java.util.Arrays.equals(shape, self.view.shape()))
            throw new IllegalArgumentException(name + ": result of shape " + Shapes.str(shape) + " does not fit the destination " + describe(self));
        Tensor oc = as(other, self.dtype());
        try {
            if (oc == other) checkNoPartialOverlap(name, self, other, shape);
            if (self.numel() > 0) self.backend().binary(op, self.view, expanded(oc, shape), self.view);
            Reference.reachabilityFence(new Object[] {self, oc});
        } finally {
            closeIfTemp(oc, other);
        }
        return written(self);
    }

    static Tensor inPlaceScalar(String name, BinaryOp op, Tensor self, double s) {
        checkInPlace(name, self);
        if (self.numel() > 0) self.backend().binaryScalar(op, self.view, s, false, self.view);
        Reference.reachabilityFence(self);
        return written(self);
    }

    static Tensor addScaled_(Tensor self, Tensor other, double alpha) {
        if (alpha == 1) return inPlace("add_", BinaryOp.ADD, self, other);
        try (Tensor scaled = mulScalar(other, alpha)) {
            return inPlace("add_", BinaryOp.ADD, self, scaled);
        }
    }

    static Tensor clamp_(Tensor self, double min, double max) {
        if (!Double.isNaN(min)) inPlaceScalar("clamp_", BinaryOp.MAXIMUM, self, min);
        if (!Double.isNaN(max)) inPlaceScalar("clamp_", BinaryOp.MINIMUM, self, max);
        return self;
    }

    static Tensor copy_(Tensor self, Tensor src) {
        checkInPlace("copy_", self);
        src.checkOpen("copy_");
        int[] shape = Shapes.broadcast("copy_", self.view.shape(), src.view.shape());
        if (!java.util.Arrays.equals(shape, self.view.shape()))
            throw new IllegalArgumentException("copy_: source " + describe(src) + " does not broadcast to destination " + describe(self));
        if (self.numel() == 0) return written(self);
        if (src.backend() != self.backend()) {
            try (Tensor moved = src.to(self.device())) {
                self.backend().copy(expanded(moved, shape), self.view);
                Reference.reachabilityFence(new Object[] {self, moved});
            }
        } else {
            checkNoPartialOverlap("copy_", self, src, shape);
            self.backend().copy(expanded(src, shape), self.view);
            Reference.reachabilityFence(new Object[] {self, src});
        }
        return written(self);
    }

    static Tensor fill_(Tensor self, double value) {
        checkInPlace("fill_", self);
        if (self.numel() > 0) self.backend().fill(self.view, value);
        Reference.reachabilityFence(self);
        return written(self);
    }

    /**
     * Refuses a source on the destination's storage that is not exactly the destination's view yet may share
     * elements with it (see {@link Overlap}); the exact same view is safe for elementwise ops, as PyTorch allows.
     */
    static void checkNoPartialOverlap(String op, Tensor self, Tensor src, int[] shape) {
        if (src.storage != self.storage) return;
        dev.kiln.backend.View from = expanded(src, shape);
        if (from.equals(self.view) || !Overlap.mayShare(self.view, from)) return;
        throw new IllegalArgumentException(op + ": the source " + describe(src) + " (strides " + java.util.Arrays.toString(src.view.strides())
                + ", offset " + src.view.offset() + ") partly overlaps the destination " + describe(self) + " (strides "
                + java.util.Arrays.toString(self.view.strides()) + ", offset " + self.view.offset()
                + ") in memory: some elements would be read after being overwritten. Pass a copy of the source (src.copy())");
    }

    /** Every in-place op ends here: the storage's version moves, so autograd sees that saved values changed. */
    private static Tensor written(Tensor self) {
        self.storage.bumpVersion();
        return self;
    }
}
