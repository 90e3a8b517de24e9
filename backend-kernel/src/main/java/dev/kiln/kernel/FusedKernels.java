package dev.kiln.kernel;

import dev.kiln.DType;
import dev.kiln.backend.FusedProgram;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.View;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@link dev.kiln.backend.Backend#fused} on a kernel device: one kernel generated per program and dtype assignment,
 * compiled through the runtime like every family and cached here, so a training loop compiles each program once.
 * Each work-item evaluates the program for one element (or, under a reduction, one row) with every register in a
 * private variable: inputs are read once, outputs written once, intermediates never reach memory. The op semantics
 * are the unary and binary families' own functions ({@code unary_op}, {@code binary_arith},
 * {@code binary_predicate}), included in the unit, so a fused op rounds exactly as the unfused kernel does.
 *
 * @param <M> the runtime's raw allocation handle
 */
final class FusedKernels<M> {
    private static final String ENTRY = "fused_program";

    private record Key(FusedProgram program, List<DType> dtypes, boolean dense) {}

    private final KernelBackend<M> backend;
    private final KernelRuntime<M> runtime;
    private final boolean fp64;
    private final Map<Key, KernelRuntime.Kernel<M>> kernels = new HashMap<>();

    FusedKernels(KernelBackend<M> backend, KernelRuntime<M> runtime, boolean fp64) {
        this.backend = backend;
        this.runtime = runtime;
        this.fp64 = fp64;
    }

    /**
     * Runs the program, the caller holding the backend's lock; false, having done nothing, for the empty rows the
     * generated kernel does not address (the caller's default handles them).
     */
    boolean run(FusedProgram p, double[] scalars, View[] in, View[] out) {
        DType t = p.check(scalars, in, out);
        int[] shape = in[0].shape();
        long n = View.numel(shape);
        int row = shape.length == 0 ? 1 : shape[shape.length - 1];
        if (p.reduction() != null && row == 0) return false;
        if (n == 0) return true;
        long[][] strides = new long[in.length + out.length][];
        for (int i = 0; i < in.length; i++) strides[i] = in[i].strides();
        for (int k = 0; k < out.length; k++) {
            // An output of a reduction is addressed at its row's first element: stride 0 along the reduced axis.
            strides[in.length + k] = out[k].strides().clone();
            if (p.reduction() != null) strides[in.length + k][shape.length - 1] = 0;
        }
        Strided g = Strided.coalesce("fused", shape, strides);
        DType[] dtypes = new DType[in.length + out.length + 1];
        for (int i = 0; i < in.length; i++) dtypes[i] = in[i].dtype();
        for (int k = 0; k < out.length; k++) dtypes[in.length + k] = out[k].dtype();
        dtypes[dtypes.length - 1] = t;
        // Every operand walking the iteration space contiguously (the usual case): addressed by the element index itself.
        boolean dense = p.reduction() == null && g.isDense();
        KernelRuntime.Kernel<M> kernel = kernels.computeIfAbsent(new Key(p, List.of(dtypes), dense), key -> compile(p, t, in, out, dense));
        Launch<M> launch = new Launch<>(kernel, fp64);
        launch.i32(g.rank()).longs(g.shape()).i64(n).i64(row);
        for (int i = 0; i < in.length; i++) launch.operand(backend.buf(in[i].buffer()), g.strides(i), in[i].offset());
        for (int k = 0; k < out.length; k++) launch.operand(backend.buf(out[k].buffer()), g.strides(in.length + k), out[k].offset());
        for (double s : scalars) launch.scalar(t, s);
        launch.run1d(p.reduction() == null ? n : n / row);
        return true;
    }

    private KernelRuntime.Kernel<M> compile(FusedProgram p, DType t, View[] in, View[] out, boolean dense) {
        String source = KernelSources.fusedUnit(source(p, t, in, out, dense));
        return runtime.compile("fused", source, KernelTypes.defines("T", t)).kernel(ENTRY);
    }

    /** The kernel's C source for this program and these dtypes; dense: every operand at its offset plus the element index. */
    static String source(FusedProgram p, DType t, View[] in, View[] out, boolean dense) {
        StringBuilder sb = new StringBuilder("\n// ").append(p).append('\n');
        sb.append("__kernel void ").append(ENTRY).append("(int rank, long8 shape, long n, long row");
        for (int i = 0; i < in.length; i++)
            sb.append(", __global const ").append(KernelTypes.clType(in[i].dtype())).append("* x").append(i)
                    .append(", long8 x").append(i).append("_strides, long x").append(i).append("_offset");
        for (int k = 0; k < out.length; k++)
            sb.append(", __global ").append(KernelTypes.clType(out[k].dtype())).append("* y").append(k)
                    .append(", long8 y").append(k).append("_strides, long y").append(k).append("_offset");
        for (int s = 0; s < p.scalars(); s++) sb.append(", T s").append(s);
        sb.append(") {\n");
        if (!dense) sb.append("    long c[8];\n");
        ReduceOp reduction = p.reduction();
        if (reduction == null) {
            sb.append("    FOR_EACH_INDEX(i, n) {\n");
            if (!dense) sb.append("        coords_of(i, rank, shape, c);\n");
            body(sb, p, t, in, dense, "        ");
            for (int k = 0; k < out.length; k++) store(sb, k, out[k].dtype(), "r" + p.outputs().get(k), dense, "        ");
            sb.append("    }\n");
        } else {
            sb.append("    FOR_EACH_INDEX(r, n / row) {\n");
            for (int k = 0; k < out.length; k++) sb.append("        T acc").append(k).append(" = ").append(identity(reduction)).append(";\n");
            sb.append("        for (long j = 0; j < row; j++) {\n            coords_of(r * row + j, rank, shape, c);\n");
            body(sb, p, t, in, false, "            ");
            for (int k = 0; k < out.length; k++)
                sb.append("            acc").append(k).append(" = ").append(combine(reduction, "acc" + k, "r" + p.outputs().get(k))).append(";\n");
            sb.append("        }\n        coords_of(r * row, rank, shape, c);\n");
            for (int k = 0; k < out.length; k++) store(sb, k, out[k].dtype(), "acc" + k, false, "        ");
            sb.append("    }\n");
        }
        return sb.append("}\n").toString();
    }

    /** Every register as a private T; truth values are 0 or 1. */
    private static void body(StringBuilder sb, FusedProgram p, DType t, View[] in, boolean dense, String indent) {
        List<FusedProgram.Instruction> code = p.code();
        for (int r = 0; r < code.size(); r++) {
            String e = switch (code.get(r)) {
                case FusedProgram.Load l -> {
                    String at = "x" + l.index() + "[x" + l.index() + "_offset + " + index(dense, "x" + l.index()) + "]";
                    yield in[l.index()].dtype() == DType.BOOL ? "(T) (" + at + " != 0)" : at;
                }
                case FusedProgram.Scalar s -> "s" + s.index();
                case FusedProgram.Constant c -> literal(c.value(), t);
                case FusedProgram.Unary u -> "unary_op(UNARY_" + u.op().name() + ", r" + u.x() + ", " + literal(u.alpha(), t) + ")";
                case FusedProgram.Binary b -> b.op().writesBool()
                        ? "(T) binary_predicate(BINARY_" + b.op().name() + ", r" + b.a() + ", r" + b.b() + ")"
                        : "binary_arith(BINARY_" + b.op().name() + ", r" + b.a() + ", r" + b.b() + ")";
                case FusedProgram.Where w -> "r" + w.cond() + " != 0 ? r" + w.a() + " : r" + w.b();
            };
            sb.append(indent).append("const T r").append(r).append(" = ").append(e).append(";\n");
        }
    }

    private static String index(boolean dense, String operand) {
        return dense ? "i" : "dot_strides(c, rank, " + operand + "_strides)";
    }

    private static void store(StringBuilder sb, int k, DType dtype, String value, boolean dense, String indent) {
        sb.append(indent).append("y").append(k).append("[y").append(k).append("_offset + ").append(index(dense, "y" + k)).append("] = ").append(dtype == DType.BOOL ? "(uchar) (" + value + " != 0)" : value).append(";\n");
    }

    private static String identity(ReduceOp op) {
        return switch (op) {
            case SUM -> "(T) 0";
            case PROD -> "(T) 1";
            case MAX -> "-INFINITY";
            case MIN -> "INFINITY";
        };
    }

    /** The reductions' NaN rule: a NaN anywhere in the row makes the max and min NaN. */
    private static String combine(ReduceOp op, String acc, String v) {
        return switch (op) {
            case SUM -> acc + " + " + v;
            case PROD -> acc + " * " + v;
            case MAX -> "isnan(" + acc + ") || isnan(" + v + ") ? " + acc + " + " + v + " : fmax(" + acc + ", " + v + ")";
            case MIN -> "isnan(" + acc + ") || isnan(" + v + ") ? " + acc + " + " + v + " : fmin(" + acc + ", " + v + ")";
        };
    }

    /** A constant as T: a double literal for float64, the float literal of the value rounded to float32 otherwise. */
    private static String literal(double v, DType t) {
        if (Double.isNaN(v)) return "(T) NAN";
        if (Double.isInfinite(v)) return v > 0 ? "(T) INFINITY" : "(T) -INFINITY";
        String text = t == DType.FLOAT64 ? Double.toString(v) : Float.toString((float) v) + "f";
        return "(T) " + text.toLowerCase(Locale.ROOT);
    }

    void clear() { kernels.clear(); }
}
