package dev.kiln.backend;

import dev.kiln.DType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.StringJoiner;

/**
 * A small elementwise program over the SPI's op codes, evaluated in one pass by {@link Backend#fused}: several
 * inputs of one shape (broadcast with stride 0 by the caller, as for every elementwise entry point), run-time
 * scalars, one or more outputs, and optionally a reduction of every output along the last axis.
 *
 * <p>The program is a list of instructions in single-assignment form: instruction {@code i} defines register
 * {@code i}, and operands name earlier registers. It is data: it prints ({@link #toString}), compares by value and
 * hashes, so a backend can cache the kernel it generates for it; values that change from call to call (a learning
 * rate, a bias correction) are {@link Scalar}s passed with each call, not {@link Constant}s, so they do not make a
 * new program. Build one with {@link #builder()}.
 *
 * <p>Registers hold either numbers or truth values. Inputs of dtype bool load as truth values, other inputs as
 * numbers; comparisons, {@code IS_NAN}, {@code NOT} and the logical ops make truth values; {@code where} takes a
 * truth value and two numbers. Every number is computed in the program's compute dtype: the one floating dtype
 * (float32 or float64) of its numeric inputs and outputs, so a fused program rounds exactly where the same ops run
 * one by one would.
 *
 * @param inputs the number of input views
 * @param scalars the number of run-time scalars
 * @param code the instructions; instruction i defines register i
 * @param outputs the registers written to the outputs, in order
 * @param reduction the reduction of each output along the last axis, or null for none
 */
public record FusedProgram(int inputs, int scalars, List<Instruction> code, List<Integer> outputs, ReduceOp reduction) {

    /** One instruction; the operands are register numbers. */
    public sealed interface Instruction {}

    /**
     * Reads input {@code index} at the current element.
     *
     * @param index the input's position
     */
    public record Load(int index) implements Instruction {}

    /**
     * The run-time scalar {@code index}, passed with each call.
     *
     * @param index the scalar's position
     */
    public record Scalar(int index) implements Instruction {}

    /**
     * A value fixed in the program.
     *
     * @param value the value
     */
    public record Constant(double value) implements Instruction {}

    /**
     * {@code op(x)}, with the op's parameter {@code alpha} (see {@link UnaryOp}).
     *
     * @param op the function
     * @param alpha its parameter, where it takes one
     * @param x the operand register
     */
    public record Unary(UnaryOp op, double alpha, int x) implements Instruction {}

    /**
     * {@code a op b}.
     *
     * @param op the function
     * @param a the left operand register
     * @param b the right operand register
     */
    public record Binary(BinaryOp op, int a, int b) implements Instruction {}

    /**
     * {@code cond ? a : b}.
     *
     * @param cond the truth-value register
     * @param a the register taken where it holds
     * @param b the register taken where it does not
     */
    public record Where(int cond, int a, int b) implements Instruction {}

    /**
     * Checks that every operand names an earlier register and every load and scalar is in range.
     *
     * @throws IllegalArgumentException naming the first bad instruction
     */
    public FusedProgram {
        code = List.copyOf(code);
        outputs = List.copyOf(outputs);
        if (inputs < 0 || scalars < 0) throw new IllegalArgumentException("fused: negative input or scalar count");
        if (outputs.isEmpty()) throw new IllegalArgumentException("fused: a program needs at least one output");
        for (int i = 0; i < code.size(); i++) {
            Instruction ins = code.get(i);
            boolean ok = switch (ins) {
                case Load l -> l.index >= 0 && l.index < inputs;
                case Scalar s -> s.index >= 0 && s.index < scalars;
                case Constant c -> true;
                case Unary u -> u.x >= 0 && u.x < i && u.op != null;
                case Binary b -> b.a >= 0 && b.a < i && b.b >= 0 && b.b < i && b.op != null;
                case Where w -> w.cond >= 0 && w.cond < i && w.a >= 0 && w.a < i && w.b >= 0 && w.b < i;
            };
            if (!ok) throw new IllegalArgumentException("fused: instruction r" + i + " = " + show(ins) + " refers to a register, input or scalar that does not exist");
        }
        for (int r : outputs)
            if (r < 0 || r >= code.size()) throw new IllegalArgumentException("fused: output register r" + r + " does not exist");
    }

    /** {@return an empty builder} */
    public static Builder builder() { return new Builder(); }

    /**
     * How the program's registers are evaluated: one method per instruction kind. The default implementation
     * ({@link FusedDefaults}), the autograd path, the CPU interpreter and the kernel generator are all evaluations
     * of one program over different values (views, tensors, vector blocks, C expressions).
     *
     * @param <T> what a register holds
     */
    public interface Evaluation<T> {
        /**
         * Input {@code index}.
         *
         * @param index the input's position
         * @return its value
         */
        T load(int index);

        /**
         * Run-time scalar {@code index}.
         *
         * @param index the scalar's position
         * @return its value
         */
        T scalar(int index);

        /**
         * A constant.
         *
         * @param value the constant
         * @return its value
         */
        T constant(double value);

        /**
         * A unary op.
         *
         * @param op the function
         * @param alpha its parameter
         * @param x the operand
         * @return the result
         */
        T unary(UnaryOp op, double alpha, T x);

        /**
         * A binary op.
         *
         * @param op the function
         * @param a the left operand
         * @param b the right operand
         * @return the result
         */
        T binary(BinaryOp op, T a, T b);

        /**
         * A selection.
         *
         * @param cond the truth value
         * @param a the value where it holds
         * @param b the value where it does not
         * @return the result
         */
        T where(T cond, T a, T b);
    }

    /**
     * The registers an instruction reads.
     *
     * @param ins the instruction
     * @return its operand registers (none for loads, scalars and constants)
     */
    public static int[] operands(Instruction ins) {
        return switch (ins) {
            case Unary u -> new int[] {u.x};
            case Binary b -> new int[] {b.a, b.b};
            case Where w -> new int[] {w.cond, w.a, w.b};
            case Load l -> new int[0];
            case Scalar sc -> new int[0];
            case Constant c -> new int[0];
        };
    }

    /**
     * Evaluates every register in order.
     *
     * @param evaluation how each instruction is evaluated
     * @param registers an array of {@code code().size()} slots, filled
     * @param <T> what a register holds
     */
    public <T> void evaluate(Evaluation<T> evaluation, T[] registers) {
        for (int i = 0; i < code.size(); i++) {
            registers[i] = switch (code.get(i)) {
                case Load l -> evaluation.load(l.index);
                case Scalar s -> evaluation.scalar(s.index);
                case Constant c -> evaluation.constant(c.value);
                case Unary u -> evaluation.unary(u.op, u.alpha, registers[u.x]);
                case Binary b -> evaluation.binary(b.op, registers[b.a], registers[b.b]);
                case Where w -> evaluation.where(registers[w.cond], registers[w.a], registers[w.b]);
            };
        }
    }

    /**
     * Which registers hold truth values, given which inputs are bool; checks that every operand has the kind its
     * op takes.
     *
     * @param boolInputs whether each input is bool
     * @return whether each register holds a truth value
     * @throws IllegalArgumentException naming the instruction whose operand has the wrong kind
     */
    public boolean[] truthRegisters(boolean[] boolInputs) {
        boolean[] truth = new boolean[code.size()];
        for (int i = 0; i < code.size(); i++) {
            Instruction ins = code.get(i);
            truth[i] = switch (ins) {
                case Load l -> boolInputs[l.index];
                case Scalar s -> false;
                case Constant c -> false;
                case Unary u -> {
                    expect(ins, i, truth[u.x] == (u.op == UnaryOp.NOT));
                    yield u.op == UnaryOp.NOT || u.op == UnaryOp.IS_NAN;
                }
                case Binary b -> {
                    expect(ins, i, truth[b.a] == b.op.isLogical() && truth[b.b] == b.op.isLogical());
                    yield b.op.writesBool();
                }
                case Where w -> {
                    expect(ins, i, truth[w.cond] && !truth[w.a] && !truth[w.b]);
                    yield false;
                }
            };
        }
        return truth;
    }

    private void expect(Instruction ins, int register, boolean ok) {
        if (!ok) throw new IllegalArgumentException("fused: r" + register + " = " + show(ins)
                + " has an operand of the wrong kind (logical ops, not and where's condition take truth values, the other ops numbers) in " + this);
    }

    /**
     * Checks views and scalars against this program, as every backend's {@link Backend#fused} does first: input and
     * scalar counts, one iteration shape, the output shapes (the last axis 1 under a reduction), and the dtypes
     * (bool for truth values, one float32 or float64 compute dtype for every number).
     *
     * @param scalarValues the run-time scalars
     * @param in the input views
     * @param out the output views
     * @return the compute dtype
     * @throws IllegalArgumentException naming the program, shapes and dtypes, when they do not fit
     */
    public DType check(double[] scalarValues, View[] in, View[] out) {
        if (in.length != inputs || out.length != outputs.size() || scalarValues.length != scalars)
            throw new IllegalArgumentException("fused: " + this + " takes " + inputs + " inputs, " + scalars + " scalars and "
                    + outputs.size() + " outputs, got " + in.length + ", " + scalarValues.length + " and " + out.length);
        if (inputs == 0) throw new IllegalArgumentException("fused: " + this + " has no input to give its shape");
        int[] shape = in[0].shape();
        boolean[] boolInputs = new boolean[inputs];
        DType compute = null;
        for (int i = 0; i < inputs; i++) {
            if (!Arrays.equals(in[i].shape(), shape))
                throw mismatch("input " + i + " has shape " + Arrays.toString(in[i].shape()) + ", input 0 " + Arrays.toString(shape), in, out);
            boolInputs[i] = in[i].dtype() == DType.BOOL;
            if (!boolInputs[i]) compute = computeType(compute, in[i].dtype(), "input " + i, in, out);
        }
        boolean[] truth = truthRegisters(boolInputs);
        int[] outShape = shape.clone();
        if (reduction != null) {
            if (shape.length == 0) throw mismatch("a reduction along the last axis needs at least one axis", in, out);
            outShape[shape.length - 1] = 1;
        }
        for (int k = 0; k < out.length; k++) {
            if (!Arrays.equals(out[k].shape(), outShape))
                throw mismatch("output " + k + " has shape " + Arrays.toString(out[k].shape()) + ", expected " + Arrays.toString(outShape), in, out);
            boolean truthOut = truth[outputs.get(k)];
            if (truthOut && reduction != null) throw mismatch("output " + k + " holds truth values, which are not reduced", in, out);
            if (truthOut != (out[k].dtype() == DType.BOOL))
                throw mismatch("output " + k + " is " + out[k].dtype() + " but its register holds " + (truthOut ? "truth values (bool)" : "numbers"), in, out);
            if (!truthOut) compute = computeType(compute, out[k].dtype(), "output " + k, in, out);
        }
        return compute == null ? DType.FLOAT32 : compute;
    }

    private DType computeType(DType sofar, DType t, String what, View[] in, View[] out) {
        if (t != DType.FLOAT32 && t != DType.FLOAT64)
            throw mismatch(what + " is " + t + "; numbers are computed in float32 or float64", in, out);
        if (sofar != null && sofar != t) throw mismatch(what + " is " + t + ", an earlier number " + sofar + "; one compute dtype", in, out);
        return t;
    }

    private IllegalArgumentException mismatch(String why, View[] in, View[] out) {
        return new IllegalArgumentException("fused: " + why + " in " + this + " (inputs " + describe(in) + ", outputs " + describe(out) + ")");
    }

    private static String describe(View[] views) {
        StringJoiner j = new StringJoiner(", ", "[", "]");
        for (View v : views) j.add(v.dtype() + " " + Arrays.toString(v.shape()));
        return j.toString();
    }

    /** The program in one line, e.g. {@code fused(x0, x1; s0) { r0 = x0; r1 = x1; r2 = add(r0, r1); r3 = gelu(r2) } -> r3}. */
    @Override
    public String toString() {
        StringJoiner params = new StringJoiner(", ", "fused(", ")");
        for (int i = 0; i < inputs; i++) params.add("x" + i);
        StringBuilder sb = new StringBuilder(params.toString());
        if (scalars > 0) {
            sb.setLength(sb.length() - 1);
            StringJoiner s = new StringJoiner(", ", "; ", ")");
            for (int i = 0; i < scalars; i++) s.add("s" + i);
            sb.append(s);
        }
        StringJoiner body = new StringJoiner("; ", " { ", " }");
        for (int i = 0; i < code.size(); i++) body.add("r" + i + " = " + show(code.get(i)));
        sb.append(body).append(" -> ");
        StringJoiner outs = new StringJoiner(", ");
        for (int r : outputs) outs.add("r" + r);
        sb.append(outs);
        if (reduction != null) sb.append(" reduced by ").append(reduction.name().toLowerCase(java.util.Locale.ROOT)).append(" along the last axis");
        return sb.toString();
    }

    private static String show(Instruction ins) {
        return switch (ins) {
            case Load l -> "x" + l.index;
            case Scalar s -> "s" + s.index;
            case Constant c -> Double.toString(c.value);
            case Unary u -> name(u.op) + "(r" + u.x + (takesAlpha(u.op) ? ", " + u.alpha : "") + ")";
            case Binary b -> name(b.op) + "(r" + b.a + ", r" + b.b + ")";
            case Where w -> "where(r" + w.cond + ", r" + w.a + ", r" + w.b + ")";
        };
    }

    private static String name(Enum<?> op) { return op.name().toLowerCase(java.util.Locale.ROOT); }

    /**
     * Whether a unary op reads its alpha parameter.
     *
     * @param op the op
     * @return whether it does
     */
    public static boolean takesAlpha(UnaryOp op) { return op == UnaryOp.LEAKY_RELU || op == UnaryOp.ELU; }

    /**
     * Builds a program instruction by instruction; each method returns the register it defined. Loads are numbered
     * in the order of {@link #input()} calls, scalars in the order of {@link #scalar()} calls.
     */
    public static final class Builder {
        private final List<Instruction> code = new ArrayList<>();
        private final List<Integer> outputs = new ArrayList<>();
        private int inputs, scalars;
        private ReduceOp reduction;

        private Builder() {}

        /**
         * Appends any instruction; a load or scalar beyond the counts so far raises them.
         *
         * @param ins the instruction
         * @return the register it defines
         */
        public int emit(Instruction ins) {
            code.add(Objects.requireNonNull(ins));
            if (ins instanceof Load l) inputs = Math.max(inputs, l.index + 1);
            if (ins instanceof Scalar s) scalars = Math.max(scalars, s.index + 1);
            return code.size() - 1;
        }

        /** {@return the register holding the next input} */
        public int input() { return emit(new Load(inputs)); }

        /** {@return the register holding the next run-time scalar} */
        public int scalar() { return emit(new Scalar(scalars)); }

        /**
         * A constant.
         *
         * @param value the constant
         * @return its register
         */
        public int constant(double value) { return emit(new Constant(value)); }

        /**
         * {@code op(x)}.
         *
         * @param op the function
         * @param x the operand register
         * @return the result's register
         */
        public int unary(UnaryOp op, int x) { return unary(op, 0, x); }

        /**
         * {@code op(x)} with a parameter.
         *
         * @param op the function
         * @param alpha its parameter (LEAKY_RELU's slope, ELU's alpha)
         * @param x the operand register
         * @return the result's register
         */
        public int unary(UnaryOp op, double alpha, int x) { return emit(new Unary(op, takesAlpha(op) ? alpha : 0, x)); }

        /**
         * {@code a op b}.
         *
         * @param op the function
         * @param a the left operand register
         * @param b the right operand register
         * @return the result's register
         */
        public int binary(BinaryOp op, int a, int b) { return emit(new Binary(op, a, b)); }

        /**
         * {@code a + b}.
         *
         * @param a a register
         * @param b a register
         * @return the sum's register
         */
        public int add(int a, int b) { return binary(BinaryOp.ADD, a, b); }

        /**
         * {@code a - b}.
         *
         * @param a a register
         * @param b a register
         * @return the difference's register
         */
        public int sub(int a, int b) { return binary(BinaryOp.SUB, a, b); }

        /**
         * {@code a * b}.
         *
         * @param a a register
         * @param b a register
         * @return the product's register
         */
        public int mul(int a, int b) { return binary(BinaryOp.MUL, a, b); }

        /**
         * {@code a / b}.
         *
         * @param a a register
         * @param b a register
         * @return the quotient's register
         */
        public int div(int a, int b) { return binary(BinaryOp.DIV, a, b); }

        /**
         * {@code cond ? a : b}.
         *
         * @param cond a truth-value register
         * @param a the register where it holds
         * @param b the register where it does not
         * @return the result's register
         */
        public int where(int cond, int a, int b) { return emit(new Where(cond, a, b)); }

        /**
         * Appends a register to the outputs.
         *
         * @param register the register written
         * @return this builder
         */
        public Builder output(int register) {
            outputs.add(register);
            return this;
        }

        /**
         * Reduces every output along the last axis.
         *
         * @param op the reduction
         * @return this builder
         */
        public Builder reduce(ReduceOp op) {
            reduction = op;
            return this;
        }

        /**
         * The program, without the instructions no output depends on (a derived gradient copies the whole forward
         * program, of which it often needs a part: ReLU's gradient computed the ReLU itself, a wasted pass per block on
         * the CPU). The input and scalar counts stay as declared, so a call passes the same arguments.
         *
         * @return the program
         */
        public FusedProgram build() {
            FusedProgram whole = new FusedProgram(inputs, scalars, code, outputs, reduction); // checks every reference first
            boolean[] live = new boolean[code.size()];
            for (int r : outputs) live[r] = true;
            int liveCount = 0;
            for (int r = code.size() - 1; r >= 0; r--) {
                if (!live[r]) continue;
                liveCount++;
                for (int operand : operands(code.get(r))) live[operand] = true;
            }
            if (liveCount == code.size()) return whole;
            int[] renumbered = new int[code.size()];
            List<Instruction> kept = new ArrayList<>();
            for (int r = 0; r < code.size(); r++) {
                if (!live[r]) continue;
                renumbered[r] = kept.size();
                kept.add(switch (code.get(r)) {
                    case Unary u -> new Unary(u.op, u.alpha, renumbered[u.x]);
                    case Binary b -> new Binary(b.op, renumbered[b.a], renumbered[b.b]);
                    case Where w -> new Where(renumbered[w.cond], renumbered[w.a], renumbered[w.b]);
                    case Instruction leaf -> leaf;
                });
            }
            return new FusedProgram(inputs, scalars, kept, outputs.stream().map(r -> renumbered[r]).toList(), reduction);
        }
    }
}
