package dev.kiln.random;

import dev.kiln.backend.Distribution;

/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a counter-based
 * generator, so element i of any random tensor is a pure function of (seed, counter) and every backend, serial or
 * parallel, produces the same numbers. This is the reference the device kernels reproduce.
 *
 * <p>Element i draws from counter {@code offset + i} (low word, high word, 0, 0) under key (low, high word of the
 * seed) and uses the first one or two of the four output words:
 * <ul>
 *   <li>uniform: {@code u = (w0 >>> 8) * 2^-24} in [0, 1), value {@code a + (b - a) * u};</li>
 *   <li>normal: Box-Muller, {@code u1 = ((w0 >>> 8) + 1) * 2^-24} in (0, 1], {@code u2} from w1 as above,
 *       value {@code a + b * sqrt(-2 ln u1) cos(2 pi u2)};</li>
 *   <li>bernoulli: 1 if {@code u < a};</li>
 *   <li>integer: {@code a + ((w0 as unsigned) * (b - a)) >>> 32}.</li>
 * </ul>
 */
public final class Philox {
    private static final int M0 = 0xD2511F53;
    private static final int M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9;
    private static final int W1 = 0xBB67AE85;
    private static final double TWO_POW_M24 = 1.0 / (1 << 24);

    private Philox() {}

    /**
     * {@return word {@code word} of the Philox4x32-10 block at {@code counter} under {@code seed}}
     *
     * @param seed the key, as the global generator's seed
     * @param counter the block's counter
     * @param word which of the four output words, 0 to 3
     */
    public static int word(long seed, long counter, int word) {
        return block(seed, counter)[word];
    }

    /** The four output words of the Philox4x32-10 block at counter (low, high, 0, 0) under key (low, high of seed). */
    private static int[] block(long seed, long counter) {
        int c0 = (int) counter, c1 = (int) (counter >>> 32), c2 = 0, c3 = 0;
        int k0 = (int) seed, k1 = (int) (seed >>> 32);
        for (int round = 0; round < 10; round++) {
            long p0 = (M0 & 0xFFFFFFFFL) * (c0 & 0xFFFFFFFFL);
            long p1 = (M1 & 0xFFFFFFFFL) * (c2 & 0xFFFFFFFFL);
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int n1 = (int) p1;
            int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            int n3 = (int) p0;
            c0 = n0; c1 = n1; c2 = n2; c3 = n3;
            k0 += W0;
            k1 += W1;
        }
        return new int[] {c0, c1, c2, c3};
    }

    /**
     * {@return the value element {@code counter} takes under {@code dist} with parameters a, b (see the class doc)}
     *
     * @param dist the distribution
     * @param a its first parameter: low bound, mean or probability
     * @param b its second parameter: high bound or standard deviation (unused for bernoulli)
     * @param seed the generator's seed
     * @param counter the element's counter: the tensor's offset in the stream plus the element's index
     */
    public static double sample(Distribution dist, double a, double b, long seed, long counter) {
        int[] words = block(seed, counter);
        int w0 = words[0];
        return switch (dist) {
            case UNIFORM -> a + (b - a) * ((w0 >>> 8) * TWO_POW_M24);
            case BERNOULLI -> ((w0 >>> 8) * TWO_POW_M24) < a ? 1 : 0;
            case INTEGER -> a + (double) (((w0 & 0xFFFFFFFFL) * (long) (b - a)) >>> 32);
            case NORMAL -> {
                int w1 = words[1];
                double u1 = ((w0 >>> 8) + 1) * TWO_POW_M24;
                double u2 = (w1 >>> 8) * TWO_POW_M24;
                yield a + b * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
            }
        };
    }

    /**
     * The permutation {@code randperm(n)} draws from counters [offset, offset + n) under {@code seed}: the indices
     * ordered by their first Philox word (unsigned), ties in index order. Data loaders shuffle with it on the host,
     * so their order is the one {@code Tensor.randperm} gives on any device from the same generator state.
     *
     * @param seed the Philox key
     * @param offset the first counter
     * @param n the number of elements
     * @return a permutation of 0..n-1
     */

    public static int[] permutation(long seed, long offset, int n) {
        long[] keyed = new long[n];
        // Key in the high 32 bits, index in the low: one primitive sort is the stable sort by key.
        for (int i = 0; i < n; i++) keyed[i] = ((word(seed, offset + i, 0) & 0xFFFFFFFFL) << 31) | i;
        java.util.Arrays.sort(keyed);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = (int) (keyed[i] & 0x7FFFFFFFL);
        return out;
    }
}
