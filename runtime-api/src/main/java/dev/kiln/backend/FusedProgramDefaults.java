package dev.kiln.backend;

import dev.kiln.DType;

import java.util.ArrayList;
import java.util.List;

/**
 * {@link Backend#fused} composed from the primitives: one {@code unary}, {@code binary} or {@code where} per
 * instruction into a temporary of the iteration shape, then the reduction and the copies into the outputs. Every
 * result is computed before any output is written, so an output may be the very view of an input (an in-place
 * update).
 */
final class FusedProgramDefaults {
    private FusedProgramDefaults() {}

    static void fused(Backend be, FusedProgram program, double[] scalars, View[] inputs, View[] outputs) {
        DType compute = program.check(scalars, inputs, outputs);
        if (inputs[0].numel() == 0 && program.reduction() == null) return;
        Temporaries temps = new Temporaries(be, inputs, scalars, compute);
        try {
            View[] registers = new View[program.code().size()];
            program.evaluate(temps, registers);
            View[] results = new View[outputs.length];
            for (int k = 0; k < outputs.length; k++) {
                View r = registers[program.outputs().get(k)];
                if (program.reduction() != null) {
                    results[k] = temps.fresh(r.dtype(), outputs[k].shape());
                    be.reduce(program.reduction(), r, new int[] {r.rank() - 1}, results[k]);
                } else if (program.code().get(program.outputs().get(k)) instanceof FusedProgram.Load) {
                    results[k] = temps.fresh(r.dtype(), r.shape());
                    be.copy(r, results[k]);
                } else {
                    results[k] = r;
                }
            }
            for (int k = 0; k < outputs.length; k++) be.copy(results[k], outputs[k]);
        } finally {
            temps.releaseAll();
        }
    }

    /** Evaluation into temporaries of the iteration shape; scalars and constants are one element broadcast. */
    private static final class Temporaries implements FusedProgram.Evaluation<View> {
        private final Backend be;
        private final View[] inputs;
        private final double[] scalars;
        private final int[] shape;
        private final DType compute;
        private final List<View> owned = new ArrayList<>();

        Temporaries(Backend be, View[] inputs, double[] scalars, DType compute) {
            this.be = be;
            this.inputs = inputs;
            this.scalars = scalars;
            this.shape = inputs[0].shape();
            this.compute = compute;
        }

        View fresh(DType dtype, int[] s) {
            View v = be.allocateView(dtype, s);
            owned.add(v);
            return v;
        }

        void releaseAll() {
            for (View v : owned) be.release(v.buffer());
        }

        @Override public View load(int index) { return inputs[index]; }

        @Override public View scalar(int index) { return constant(scalars[index]); }

        @Override
        public View constant(double value) {
            View one = fresh(compute, new int[0]);
            be.fill(one, value);
            return one.withShape(shape.clone(), new long[shape.length], one.offset());
        }

        @Override
        public View unary(UnaryOp op, double alpha, View x) {
            View out = fresh(op == UnaryOp.IS_NAN || op == UnaryOp.NOT ? DType.BOOL : compute, shape);
            be.unary(op, alpha, x, out);
            return out;
        }

        @Override
        public View binary(BinaryOp op, View a, View b) {
            View out = fresh(op.writesBool() ? DType.BOOL : compute, shape);
            be.binary(op, a, b, out);
            return out;
        }

        @Override
        public View where(View cond, View a, View b) {
            View out = fresh(compute, shape);
            be.where(cond, a, b, out);
            return out;
        }
    }
}
