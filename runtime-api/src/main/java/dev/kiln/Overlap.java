package dev.kiln;

import dev.kiln.backend.View;

import java.util.Arrays;

/**
 * Whether two views of one buffer can touch the same element. In-place ops refuse a source that partly overlaps
 * their destination: backends visit elements in different orders and in parallel, so such a source would be read
 * partly before and partly after being overwritten, with an answer that depends on the backend.
 */
final class Overlap {
    /** Beyond this many elements the exact test would cost more than the op; the extents decide alone. */
    private static final long EXACT_LIMIT = 1 << 22;

    private Overlap() {}

    /** True when some element of {@code a} may also be an element of {@code b} (never false when they do). */
    static boolean mayShare(View a, View b) {
        if (a.buffer() != b.buffer() || a.numel() == 0 || b.numel() == 0) return false;
        long aLow = low(a), aHigh = high(a), bLow = low(b), bHigh = high(b);
        if (aHigh < bLow || bHigh < aLow) return false;
        if (a.numel() > EXACT_LIMIT || b.numel() > EXACT_LIMIT) return true;
        long[] aElements = elements(a);
        Arrays.sort(aElements);
        for (long e : elements(b)) if (Arrays.binarySearch(aElements, e) >= 0) return true;
        return false;
    }

    private static long low(View v) {
        long at = v.offset();
        for (int i = 0; i < v.rank(); i++) if (v.strides()[i] < 0) at += v.strides()[i] * (v.shape()[i] - 1);
        return at;
    }

    private static long high(View v) {
        long at = v.offset();
        for (int i = 0; i < v.rank(); i++) if (v.strides()[i] > 0) at += v.strides()[i] * (v.shape()[i] - 1);
        return at;
    }

    /** The element offsets a view covers, in row-major order of its indices. */
    private static long[] elements(View v) {
        int[] shape = v.shape();
        long[] strides = v.strides();
        long[] out = new long[(int) v.numel()];
        int[] index = new int[shape.length];
        long at = v.offset();
        for (int n = 0; n < out.length; n++) {
            out[n] = at;
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++index[d] < shape[d]) {
                    at += strides[d];
                    break;
                }
                at -= strides[d] * (shape[d] - 1);
                index[d] = 0;
            }
        }
        return out;
    }
}
