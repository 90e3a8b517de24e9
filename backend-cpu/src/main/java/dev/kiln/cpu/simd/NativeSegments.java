package dev.kiln.cpu.simd;

import java.lang.foreign.MemorySegment;

/**
 * Tells C2 that a segment a vector kernel loads or stores is native memory, which every CPU buffer is.
 *
 * <p>Why: all of the JVM's vector loads and stores on segments go through one JDK method whose receiver-type profile
 * is shared, and the Vector API's own fallback for {@code reinterpretAs*}, which runs until C2 has compiled the caller
 * (every exp, say), moves each vector through a heap segment over a byte array. Kernels compiled after that see two
 * segment classes at every access, and C2 compiles the access for either: with the base address unknown, the
 * loops lost their bounds-check elimination and unrolling (layer norm 4096 x 768: 0.30-0.33 ms in a fresh JVM,
 * 0.56-0.59 after exp had run). A cast to the native class, whose mirror is a constant, fixes the type where the
 * access is compiled, whatever the profile says; C2 hoists its check out of the loop.
 */
public final class NativeSegments {
    /** {@code MemorySegment.NULL} is a native segment: its class is the one every arena allocates. */
    private static final Class<? extends MemorySegment> NATIVE = MemorySegment.NULL.getClass();

    private NativeSegments() {}

    /** {@code s}, typed as native memory for the compiler; a heap segment is a {@link ClassCastException}. */
    public static MemorySegment typed(MemorySegment s) { return NATIVE.cast(s); }
}
