package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Tensor;

/** Resizes the spatial dimensions of (N, C, L) or (N, C, H, W) input, to a size or by a factor; see {@link Functional#interpolate}. */
public final class Upsample extends Module {
    private final int[] size;
    private final double scaleFactor;
    private final String mode;
    private final boolean alignCorners;

    private Upsample(int[] size, double scaleFactor, String mode, boolean alignCorners) {
        if (!mode.equals("nearest") && !mode.equals("linear") && !mode.equals("bilinear"))
            throw new IllegalArgumentException("Upsample: mode must be \"nearest\", \"linear\" or \"bilinear\", got \"" + mode + "\"");
        if (alignCorners && mode.equals("nearest"))
            throw new IllegalArgumentException("Upsample: align_corners applies to the linear modes only, not to \"nearest\"");
        this.size = size;
        this.scaleFactor = scaleFactor;
        this.mode = mode;
        this.alignCorners = alignCorners;
    }

    /**
     * Resizing by a factor on every spatial dimension.
     *
     * @param scaleFactor the factor, positive
     * @param mode {@code "nearest"}, {@code "linear"} or {@code "bilinear"}
     * @param alignCorners for the linear modes: whether the corner samples of input and output coincide
     * @return the layer
     * @throws IllegalArgumentException for another mode, or align_corners with "nearest"
     */
    public static Upsample scale(double scaleFactor, String mode, boolean alignCorners) {
        if (!(scaleFactor > 0) || Double.isInfinite(scaleFactor))
            throw new IllegalArgumentException("Upsample: scale factor must be positive and finite, got " + scaleFactor);
        return new Upsample(null, scaleFactor, mode, alignCorners);
    }

    /**
     * Resizing to a fixed size.
     *
     * @param size the output size of each spatial dimension
     * @param mode {@code "nearest"}, {@code "linear"} or {@code "bilinear"}
     * @param alignCorners for the linear modes: whether the corner samples of input and output coincide
     * @return the layer
     * @throws IllegalArgumentException for another mode, or align_corners with "nearest"
     */
    public static Upsample size(int[] size, String mode, boolean alignCorners) { return new Upsample(size.clone(), Double.NaN, mode, alignCorners); }

    @Override
    public Tensor forward(Tensor input) {
        return size != null ? Functional.interpolate(input, size, mode, alignCorners) : Functional.interpolate(input, scaleFactor, mode, alignCorners);
    }

    @Override
    protected String describe() {
        return "Upsample(" + (size != null ? "size=" + java.util.Arrays.toString(size) : "scale_factor=" + scaleFactor) + ", mode='" + mode + "'"
                + (alignCorners ? ", align_corners=true" : "") + ")";
    }
}
