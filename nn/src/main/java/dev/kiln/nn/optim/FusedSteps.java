package dev.kiln.nn.optim;

import dev.kiln.DType;
import dev.kiln.Fused;
import dev.kiln.Tensor;
import dev.kiln.backend.FusedProgram;
import dev.kiln.backend.UnaryOp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The optimizers' per-parameter updates as fused programs: one pass that reads the parameter, its gradient and
 * state and writes them back, where the same update op by op is five to ten passes (and as many launches on a
 * device). Each program performs the unfused update's operations in the same order, so the results are the same
 * to the last bit on the CPU. Hyperparameters are run-time scalars, so a schedule's changing learning rate reuses
 * the compiled program. The updates of a group are gathered in a {@link Batch} and run together.
 */
final class FusedSteps {
    private FusedSteps() {}

    /**
     * Adam and AdamW: {@code g' = g + l2 p; m' = b1 m + (1-b1) g'; v' = b2 v + (1-b2) g'^2;
     * p' = p decay + (m' / (sqrt(v') / sqrtBc2 + eps)) (-lr / bc1)}, inputs (p, g, m, v), outputs (p', m', v').
     * Scalars: l2, b1, 1-b1, b2, 1-b2, sqrtBc2, eps, decay, -lr/bc1.
     */
    static final FusedProgram ADAM;

    /** SGD with momentum: {@code g' = g + wd p; b' = b mu + g' (1-dampening); p' = p + d (-lr)} with d = b' or g' + b' mu (Nesterov). */
    static final FusedProgram SGD_MOMENTUM, SGD_NESTEROV;

    /** SGD without momentum: {@code p' = p + (g + wd p) (-lr)}. */
    static final FusedProgram SGD;

    static {
        var a = FusedProgram.builder();
        int p = a.input(), g = a.input(), m = a.input(), v = a.input();
        int l2 = a.scalar(), b1 = a.scalar(), oneMinusB1 = a.scalar(), b2 = a.scalar(), oneMinusB2 = a.scalar();
        int sqrtBc2 = a.scalar(), eps = a.scalar(), decay = a.scalar(), negStep = a.scalar();
        int gd = a.add(g, a.mul(p, l2));
        int m2 = a.add(a.mul(m, b1), a.mul(gd, oneMinusB1));
        int v2 = a.add(a.mul(v, b2), a.mul(a.unary(UnaryOp.SQUARE, gd), oneMinusB2));
        int denom = a.add(a.div(a.unary(UnaryOp.SQRT, v2), sqrtBc2), eps);
        a.output(a.add(a.mul(p, decay), a.mul(a.div(m2, denom), negStep))).output(m2).output(v2);
        ADAM = a.build();
        SGD_MOMENTUM = sgd(false, true);
        SGD_NESTEROV = sgd(true, true);
        SGD = sgd(false, false);
    }

    private static FusedProgram sgd(boolean nesterov, boolean momentum) {
        var s = FusedProgram.builder();
        int p = s.input(), g = s.input(), buf = momentum ? s.input() : -1;
        int wd = s.scalar(), negLr = s.scalar();
        int gd = s.add(g, s.mul(p, wd));
        if (!momentum) return s.output(s.add(p, s.mul(gd, negLr))).build();
        int mu = s.scalar(), undamped = s.scalar();
        int b2 = s.add(s.mul(buf, mu), s.mul(gd, undamped));
        int d = nesterov ? s.add(gd, s.mul(b2, mu)) : b2;
        return s.output(s.add(p, s.mul(d, negLr))).output(b2).build();
    }

    /** Whether a parameter's update can run as one program: float32 or float64 throughout, parameter and gradient alike. */
    static boolean applies(Tensor param, Tensor grad) {
        DType t = param.dtype();
        return (t == DType.FLOAT32 || t == DType.FLOAT64) && grad.dtype() == t && Arrays.equals(param.shape(), grad.shape());
    }

    static void adam(Batch batch, Tensor p, Tensor g, Tensor m, Tensor v, double l2, double b1, double b2, double bc1, double bc2,
                     double eps, double decay, double lr) {
        batch.add(ADAM, new double[] {l2, b1, 1 - b1, b2, 1 - b2, Math.sqrt(bc2), eps, decay, -lr / bc1},
                new Tensor[] {p, g, m, v}, p, m, v);
    }

    static void sgd(Batch batch, Tensor p, Tensor g, double wd, double lr) {
        batch.add(SGD, new double[] {wd, -lr}, new Tensor[] {p, g}, p);
    }

    static void sgdMomentum(Batch batch, Tensor p, Tensor g, Tensor buf, double wd, double lr, double mu, double dampening, boolean nesterov) {
        batch.add(nesterov ? SGD_NESTEROV : SGD_MOMENTUM, new double[] {wd, -lr, mu, 1 - dampening}, new Tensor[] {p, g, buf}, p, buf);
    }

    /**
     * The fused updates of one parameter group, gathered while its parameters are visited and run by {@link #run}
     * as one {@link Fused#applyIntoEach} call per program and device: PyTorch's multi-tensor ({@code foreach})
     * optimizer steps. The parameters of a group are distinct tensors, so the sets are independent.
     */
    static final class Batch {
        private record Key(FusedProgram program, dev.kiln.Device device) {}

        private record Sets(List<double[]> scalars, List<Tensor[]> inputs, List<Tensor[]> outputs) {}

        private final Map<Key, Sets> pending = new LinkedHashMap<>();

        void add(FusedProgram program, double[] scalars, Tensor[] inputs, Tensor... outputs) {
            Sets sets = pending.computeIfAbsent(new Key(program, inputs[0].device()), k -> new Sets(new ArrayList<>(), new ArrayList<>(), new ArrayList<>()));
            sets.scalars.add(scalars);
            sets.inputs.add(inputs);
            sets.outputs.add(outputs);
        }

        void run() {
            pending.forEach((key, sets) -> Fused.applyIntoEach(key.program(), sets.scalars(), sets.inputs(), sets.outputs()));
            pending.clear();
        }
    }
}
