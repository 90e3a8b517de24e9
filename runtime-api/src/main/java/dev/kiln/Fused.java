package dev.kiln;

import dev.kiln.backend.FusedProgram;
import dev.kiln.backend.View;

import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Fused elementwise expressions on tensors: a {@link FusedProgram} evaluated in one pass over its inputs by the
 * backend's {@link dev.kiln.backend.Backend#fused} kernel, where the same expression written op by op would read
 * and write memory once per op.
 *
 * <pre>{@code
 * var b = FusedProgram.builder();
 * b.output(b.unary(UnaryOp.GELU, b.add(b.input(), b.input())));
 * FusedProgram biasGelu = b.build();                       // build once, keep: backends cache per program
 * Tensor y = Fused.apply(biasGelu, new double[0], x, bias)[0];
 * }</pre>
 *
 * <p>Inputs broadcast as in any elementwise op; numbers must all be float32 or all float64 (half types are cast by
 * the caller), truth values bool. With a reduction, each output keeps the last axis with size 1. Gradients: the
 * backward pass of a program is itself a fused program (derived instruction by instruction by
 * {@link FusedGradient}), evaluated the same way, so it is fused too, and differentiable again.
 */
public final class Fused {
    private Fused() {}

    /**
     * Evaluates a program into new tensors, recording its gradient when an input requires one.
     *
     * @param program the program
     * @param scalars its run-time scalars
     * @param inputs its inputs, broadcast to one shape
     * @return one tensor per output of the program
     * @throws IllegalArgumentException when the inputs do not fit the program (counts, shapes, dtypes, devices)
     */
    public static Tensor[] apply(FusedProgram program, double[] scalars, Tensor... inputs) {
        int[] shape = broadcastShape(inputs);
        DType compute = DType.FLOAT32;
        boolean[] boolInputs = new boolean[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            boolInputs[i] = inputs[i].dtype() == DType.BOOL;
            if (!boolInputs[i]) compute = inputs[i].dtype();
        }
        boolean[] truth = program.truthRegisters(checkedCount(program, boolInputs));
        int[] outShape = shape.clone();
        if (program.reduction() != null && outShape.length > 0) outShape[outShape.length - 1] = 1;
        Tensor[] outs = new Tensor[program.outputs().size()];
        for (int k = 0; k < outs.length; k++)
            outs[k] = Tensor.allocate(inputs[0].backend(), truth[program.outputs().get(k)] ? DType.BOOL : compute, outShape);
        run(program, scalars, inputs, shape, outs);
        if (Autograd.needed(inputs))
            for (int k = 0; k < outs.length; k++)
                if (!truth[program.outputs().get(k)]) record(program, scalars, inputs, k, outs[k]);
        return outs;
    }

    /**
     * Evaluates a program into existing tensors, in place: an output may be one of the inputs (an optimizer's
     * {@code param}, {@code exp_avg}), read before it is written. Not recorded: call it under
     * {@link dev.kiln.autograd.GradMode#noGrad()} for tensors that require grad, as for any in-place update.
     *
     * @param program the program
     * @param scalars its run-time scalars
     * @param inputs its inputs, broadcast to one shape
     * @param outputs the tensors written, of that shape (the last axis 1 under a reduction)
     * @throws IllegalArgumentException when the tensors do not fit the program, or an output partly overlaps an input
     */
    public static void applyInto(FusedProgram program, double[] scalars, Tensor[] inputs, Tensor... outputs) {
        int[] shape = broadcastShape(inputs);
        for (Tensor o : outputs) checkOutput(o, inputs, shape);
        run(program, scalars, inputs, shape, outputs);
        for (Tensor o : outputs) o.storage.bumpVersion();
    }

    /**
     * {@link #applyInto} for several sets of tensors in one call of the backend's
     * {@link dev.kiln.backend.Backend#fusedForEach}: the optimizers' steps over all the parameters of a group.
     * Each set is checked as {@code applyInto} checks it; all sets must be on one device.
     *
     * @param program the program, without a reduction
     * @param scalars each set's run-time scalars
     * @param inputs each set's inputs, broadcast to one shape per set
     * @param outputs each set's tensors written
     * @throws IllegalArgumentException when a set does not fit the program, the sets are on different devices, or
     *     the lists differ in length
     */
    public static void applyIntoEach(FusedProgram program, List<double[]> scalars, List<Tensor[]> inputs, List<Tensor[]> outputs) {
        if (program.reduction() != null) throw new IllegalArgumentException("fused: applyIntoEach takes elementwise programs, not one reducing with " + program.reduction());
        if (scalars.size() != inputs.size() || outputs.size() != inputs.size())
            throw new IllegalArgumentException("fused: " + scalars.size() + " scalar sets, " + inputs.size() + " input sets and "
                    + outputs.size() + " output sets; one of each per set");
        if (inputs.isEmpty()) return;
        List<View[]> in = new ArrayList<>(inputs.size()), out = new ArrayList<>(inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            Tensor[] set = inputs.get(i);
            int[] shape = broadcastShape(set);
            Elementwise.sameDevice("fused", inputs.get(0)[0], set[0]);
            for (Tensor o : outputs.get(i)) checkOutput(o, set, shape);
            in.add(inputViews(set, shape));
            out.add(outputViews(outputs.get(i)));
        }
        inputs.get(0)[0].backend().fusedForEach(program, scalars, in, out);
        Reference.reachabilityFence(inputs);
        Reference.reachabilityFence(outputs);
        for (Tensor[] set : outputs) for (Tensor o : set) o.storage.bumpVersion();
    }

    private static void checkOutput(Tensor o, Tensor[] inputs, int[] shape) {
        Elementwise.checkInPlace("fused", o);
        Elementwise.sameDevice("fused", inputs[0], o);
        for (Tensor in : inputs)
            if (in.dtype() == o.dtype() && Arrays.equals(in.shape(), o.shape()))
                Elementwise.checkNoPartialOverlap("fused", o, in, shape);
    }

    private static void run(FusedProgram program, double[] scalars, Tensor[] inputs, int[] shape, Tensor[] outputs) {
        inputs[0].backend().fused(program, scalars, inputViews(inputs, shape), outputViews(outputs));
        Reference.reachabilityFence(inputs);
        Reference.reachabilityFence(outputs);
    }

    /** The inputs' views broadcast to the iteration shape, as the backend's fused entry points take them. */
    private static View[] inputViews(Tensor[] inputs, int[] shape) {
        View[] in = new View[inputs.length];
        for (int i = 0; i < in.length; i++) in[i] = Elementwise.expanded(inputs[i], shape);
        return in;
    }

    private static View[] outputViews(Tensor[] outputs) {
        View[] out = new View[outputs.length];
        for (int k = 0; k < out.length; k++) out[k] = outputs[k].view;
        return out;
    }

    private static int[] broadcastShape(Tensor[] inputs) {
        if (inputs.length == 0) throw new IllegalArgumentException("fused: a program needs at least one input tensor");
        int[] shape = inputs[0].shape();
        inputs[0].checkOpen("fused");
        for (int i = 1; i < inputs.length; i++) {
            Elementwise.sameDevice("fused", inputs[0], inputs[i]);
            shape = Shapes.broadcast("fused", shape, inputs[i].shape());
        }
        return shape;
    }

    private static boolean[] checkedCount(FusedProgram program, boolean[] boolInputs) {
        if (boolInputs.length != program.inputs())
            throw new IllegalArgumentException("fused: " + program + " takes " + program.inputs() + " inputs, got " + boolInputs.length);
        return boolInputs;
    }

    /** Output k's backward: a fused program over the inputs, the gradient and (for max and min) the output itself. */
    private static void record(FusedProgram program, double[] scalars, Tensor[] inputs, int k, Tensor out) {
        boolean[] wanted = new boolean[inputs.length];
        for (int i = 0; i < inputs.length; i++) wanted[i] = inputs[i].requiresGrad() && inputs[i].dtype() != DType.BOOL;
        double[] s = scalars.clone();
        Autograd.record("fused", out, inputs, g -> {
            Tensor[] extra = switch (program.reduction()) {
                case null -> new Tensor[] {g};
                case SUM -> new Tensor[] {g};
                case MAX, MIN -> {
                    // Ties share the gradient evenly, as in PyTorch's amax and amin.
                    Tensor count = apply(FusedGradient.ties(program, k), s, concat(inputs, out))[0];
                    yield new Tensor[] {g, out, count};
                }
                case PROD -> throw new UnsupportedOperationException("fused: no gradient for a prod reduction in " + program
                        + "; compose it with Tensor.prod");
            };
            Tensor[] grads = apply(FusedGradient.of(program, k, wanted), s, concat(inputs, extra));
            Tensor[] result = new Tensor[inputs.length];
            int next = 0;
            for (int i = 0; i < inputs.length; i++)
                if (wanted[i]) result[i] = Elementwise.gradFor(grads[next++], inputs[i]);
            return result;
        }, out);
    }

    /** Whether tensors can feed a program as numbers: all float32 or all float64 (half types are not computed in). */
    static boolean computesIn(Tensor... ts) {
        DType t = ts[0].dtype();
        if (t != DType.FLOAT32 && t != DType.FLOAT64) return false;
        for (Tensor x : ts) if (x.dtype() != t) return false;
        return true;
    }

    /** The one-input program {@code op(x)}. */
    static FusedProgram unaryProgram(dev.kiln.backend.UnaryOp op) { return unaryProgram(op, 0); }

    /** The one-input program {@code op(x)} with the op's parameter (a leaky ReLU's slope) as a constant. */
    static FusedProgram unaryProgram(dev.kiln.backend.UnaryOp op, double alpha) {
        var b = FusedProgram.builder();
        return b.output(b.unary(op, alpha, b.input())).build();
    }

    private static Tensor[] concat(Tensor[] a, Tensor... b) {
        Tensor[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
