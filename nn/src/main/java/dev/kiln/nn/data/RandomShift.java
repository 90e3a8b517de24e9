package dev.kiln.nn.data;

import java.util.SplittableRandom;

/**
 * Augmentation for image datasets: each example of shape (C, H, W) is translated by a whole number of pixels,
 * up to {@code maxShift} in each direction, filling with the image's corner value (the background). The shift
 * depends only on (seed, epoch, index), so a resumed run sees the same images.
 */
public final class RandomShift implements Dataset {
    private final Dataset source;
    private final int maxShift;
    private final long seed;

    /**
     * Shifted views of {@code source}'s images.
     *
     * @param source the images (C, H, W)
     * @param maxShift the largest shift in pixels, in each direction
     * @param seed the seed the shifts are drawn from
     * @throws IllegalArgumentException if maxShift is negative
     */
    public RandomShift(Dataset source, int maxShift, long seed) {
        if (maxShift < 0) throw new IllegalArgumentException("RandomShift: maxShift must be non-negative, got " + maxShift);
        this.source = source;
        this.maxShift = maxShift;
        this.seed = seed;
    }

    @Override
    public int size() { return source.size(); }

    @Override
    public Example get(int index) { return source.get(index); }

    @Override
    public Example get(int index, int epoch) {
        Example e = source.get(index, epoch);
        if (maxShift == 0) return e;
        int[] shape = e.inputShape();
        if (shape.length != 3)
            throw new IllegalArgumentException("RandomShift: expected (C, H, W) examples, got shape " + java.util.Arrays.toString(shape));
        SplittableRandom r = new SplittableRandom(seed ^ (epoch * 0x9E3779B97F4A7C15L) ^ (index * 0xC2B2AE3D27D4EB4FL));
        int dy = r.nextInt(-maxShift, maxShift + 1), dx = r.nextInt(-maxShift, maxShift + 1);
        if (dy == 0 && dx == 0) return e;
        int c = shape[0], h = shape[1], w = shape[2];
        float[] in = e.input(), out = new float[in.length];
        for (int ch = 0; ch < c; ch++) {
            float background = in[ch * h * w];
            for (int y = 0; y < h; y++) {
                int sy = y - dy;
                for (int x = 0; x < w; x++) {
                    int sx = x - dx;
                    out[(ch * h + y) * w + x] = sy < 0 || sy >= h || sx < 0 || sx >= w ? background : in[(ch * h + sy) * w + sx];
                }
            }
        }
        return new Example(out, shape, e.target(), e.targetShape(), e.classTarget());
    }
}
