package dev.kiln.cpu.simd;

/**
 * Each thread's float arrays in numbered slots, grown to fit and then reused, so a kernel called at every training
 * step allocates none after the first. Kernels read and write heap arrays where element-by-element access through
 * a segment was slower (gathers, transpositions, register tiles' operands).
 */
public final class HeapSlots {
    private final ThreadLocal<float[][]> arrays;

    /** @param slots how many arrays each thread keeps */
    public HeapSlots(int slots) { arrays = ThreadLocal.withInitial(() -> new float[slots][0]); }

    /** This thread's array in {@code slot}, at least {@code floats} long, contents undefined. */
    public float[] get(int slot, int floats) {
        float[][] held = arrays.get();
        if (held[slot].length < floats) held[slot] = new float[floats];
        return held[slot];
    }
}
