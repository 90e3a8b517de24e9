package dev.kiln.kernel;

import dev.kiln.backend.ArgReduceOp;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.Distribution;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The kernels module's sources as compilation units: op codes, the dialect header, the prelude, then one family.
 * The same text goes to every runtime: it is OpenCL C, and {@code dialect.cl} makes it compile as CUDA C++ too.
 */
public final class KernelSources {
    private KernelSources() {}

    static final String ROOT = "dev/kiln/kernels/";

    /** The kernel families, one source each; the prelude is not one (it is part of every unit). */
    public static final java.util.List<String> FAMILIES =
            java.util.List.of("copy", "unary", "binary", "reduce", "rows", "gemm", "conv", "index", "random", "pool");

    private static final ConcurrentHashMap<String, String> UNITS = new ConcurrentHashMap<>();

    /**
     * The op-code constants, the dialect, the prelude and the family's source, as one compilation unit.
     *
     * @param family one of {@link #FAMILIES}
     * @return the unit's source text (built once per family)
     */

    public static String unit(String family) {
        return UNITS.computeIfAbsent(family, f -> opCodes() + resource("dialect") + resource("prelude") + "\n#line 1\n" + resource(f));
    }

    /**
     * The unit of a generated fused-program kernel: the op codes, the dialect, the prelude, the op functions of the
     * unary and binary families (their kernels left out by {@code FUSED}), then {@code body}.
     *
     * @param body the generated kernel
     * @return the unit's source text
     */
    static String fusedUnit(String body) {
        return opCodes() + resource("dialect") + resource("prelude") + "#define FUSED 1\n" + resource("unary") + resource("binary") + body;
    }

    /** Op codes are the Java enums' ordinals, written out here so the kernels can never drift from them. */
    static String opCodes() {
        StringBuilder sb = new StringBuilder();
        for (UnaryOp op : UnaryOp.values()) define(sb, "UNARY_", op);
        for (BinaryOp op : BinaryOp.values()) define(sb, "BINARY_", op);
        for (ReduceOp op : ReduceOp.values()) define(sb, "REDUCE_", op);
        for (ArgReduceOp op : ArgReduceOp.values()) define(sb, "ARG_", op);
        for (Distribution d : Distribution.values()) define(sb, "DIST_", d);
        return sb.toString();
    }

    private static void define(StringBuilder sb, String prefix, Enum<?> e) {
        sb.append("#define ").append(prefix).append(e.name()).append(' ').append(e.ordinal()).append('\n');
    }

    private static String resource(String name) {
        String path = ROOT + name + ".cl";
        try (InputStream in = KernelSources.class.getClassLoader().getResourceAsStream(path)) {
            if (in == null) throw new IllegalStateException("kernel source " + path + " is not on the class path (kiln-kernels missing?)");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path, e);
        }
    }
}
