package dev.kiln.cpu.fused;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Per-thread working memory for the fused kernels (column matrices, partial weight gradients). Each thread keeps
 * its largest request per slot, so a training loop allocates nothing after its first step; the memory belongs to
 * an automatic arena, so other threads may use it (the pool's workers fill a caller's partial sums), and it goes
 * back to the system with its thread.
 */
final class Scratch {
    static final int COLUMNS = 0;
    static final int PRODUCT = 1;
    static final int PARTIALS = 2;
    static final int CHANNELS_LAST = 3;
    /** A rearranged copy of a weight: flipped for the stride-1 input gradient, (tap, channel) order for the channels-last one. */
    static final int WEIGHT_COPY = 4;
    static final int PADDED_IMAGE = 5;
    static final int OUTPUT_TILE = 6;
    static final int GRADIENT_BY_POSITION = 7;
    /** A weight in (tap, channel) order for the stride-1 convolution over a padded image, which may be the flipped copy above. */
    static final int WEIGHT_BY_TAP = 8;
    private static final int SLOTS = 9;

    private static final ThreadLocal<MemorySegment[]> SLOTS_OF_THREAD = ThreadLocal.withInitial(() -> new MemorySegment[SLOTS]);

    private Scratch() {}

    /** At least {@code bytes} bytes of this thread's slot, with undefined contents, valid until its next request. */
    static MemorySegment get(int slot, long bytes) {
        MemorySegment[] slots = SLOTS_OF_THREAD.get();
        MemorySegment s = slots[slot];
        if (s == null || s.byteSize() < bytes) {
            s = Arena.ofAuto().allocate(Math.max(bytes, 64), 64);
            slots[slot] = s;
        }
        return s;
    }
}
