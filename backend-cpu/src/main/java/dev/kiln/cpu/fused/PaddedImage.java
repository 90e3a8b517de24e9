package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.cpu.gemm.Gemm;
import dev.kiln.cpu.gemm.PanelRows;

import java.lang.foreign.MemorySegment;

/**
 * A stride-1 convolution's column matrix read in place from the zero-padded image, so that it is never written out.
 * With the image padded into planes of {@code hp} rows of {@code wp} elements, output position (oy, ox) is taken as
 * column {@code oy * wp + ox}, and the tap (i, j) of channel ch sees column q at element {@code ch * hp * wp +
 * i * dh * wp + j * dw + q}: every row of the column matrix is a run of the padded image, shifted by its tap. With
 * the rows in (tap, channel) order (the weight reordered to match), a tap's rows are evenly spaced, one plane apart,
 * which is a run of {@link PanelRows} for the micro-kernel. A row's right padding is the next row's left padding
 * (the padding is the same on both sides): a tap that reads past a row's end lands in the zeros that start the next
 * row (or, past the last row, in zeros after the image), so a row is {@code w + padW} wide, not {@code w + 2 * padW}.
 * The price: the {@code wp - ow} columns per output row whose taps wrap into the next row are computed and
 * discarded, and the column count is rounded up to whole panels. For a 3x3 kernel padded by 1 that is one column
 * in {@code w + 1}, where the separate paddings cost two: ResNet-18's 56-wide layer computes 3200 columns, not 3264.
 *
 * @param hp rows of a padded plane
 * @param wp elements of a padded row: at least {@code w + padW} and {@code ow}
 * @param columns the product's width: {@code oh * wp} rounded up to whole panels
 */
record PaddedImage(ConvGeometry g, DType dtype, int hp, int wp, int columns) {
    /** Spare columns computed, relative to the output positions, up to which this beats im2col (see {@link #pays}). */
    private static final double MAX_WASTE = 0.125;

    static PaddedImage of(ConvGeometry g, DType t) {
        var s = g.spec();
        int hp = g.h() + 2 * s.padH(), wp = Math.max(g.w() + s.padW(), g.ow()), nr = Gemm.panelWidth(t);
        return new PaddedImage(g, t, hp, wp, Math.ceilDiv(g.oh() * wp, nr) * nr);
    }

    /**
     * Whether to convolve over the padded image rather than im2col: a stride-1 convolution whose columns are not the
     * image itself, with few spare columns. im2col's pass costs about as much as a 64-row product, while the spare
     * columns cost their share of the product whatever its rows: a 7x7 image padded to 9x9 computes 64 columns for 49.
     */
    static boolean pays(ConvGeometry g, long[] inputStrides, DType t) {
        var s = g.spec();
        if (s.strideH() != 1 || s.strideW() != 1 || g.columnsAreInput(inputStrides) || g.p() == 0) return false;
        PaddedImage padded = of(g, t);
        return padded.columns() - g.p() <= MAX_WASTE * g.p();
    }

    long planeSize() { return (long) hp * wp; }

    /** Elements past a plane's last row that its last taps read: the right padding the shared rows do not hold. */
    private long spill() { return (long) g.w() + 2L * g.spec().padW() - wp; }

    private int width() { return (int) dtype.byteSize(); }

    /**
     * Image elements the product may read: all planes, plus what the last tap's shift and the rounding to whole
     * panels read past the last plane's end (its rows there are only read for discarded columns).
     */
    long elements() {
        var s = g.spec();
        return g.c() * planeSize() + (long) (g.kw() - 1) * s.dilationW() + columns - (long) g.oh() * wp;
    }

    /** The image at element {@code base} of {@code x}, padded into this thread's scratch, the slack after it zeroed. */
    MemorySegment copy(MemorySegment x, long base, long sc, long sh, long sw) {
        int width = width();
        MemorySegment image = Scratch.get(Scratch.PADDED_IMAGE, elements() * width);
        Columns.pad(x, base, sc, sh, sw, g, hp, wp, image, 0, width);
        image.asSlice(g.c() * planeSize() * width, (elements() - g.c() * planeSize()) * width).fill((byte) 0);
        return image;
    }

    /**
     * Whether the weight gradient reads this image channels last in place: whole panels of each tap's channels, so
     * a group's channels fill panels exactly. Any stride: the rows are output positions, which keep their order.
     */
    static boolean readsChannelsLast(ConvGeometry g, DType t) { return g.cg() % Gemm.panelWidth(t) == 0; }

    /**
     * The image at element {@code base} of {@code x}, padded and channels last, (hp * wp, c), in this thread's scratch,
     * followed by the zero pixels the last row's taps read past its end ({@link #spill}).
     */
    MemorySegment copyChannelsLast(MemorySegment x, long base, long sc, long sh, long sw) {
        int width = width();
        long pixels = g.c() * planeSize();
        MemorySegment image = Scratch.get(Scratch.CHANNELS_LAST, (pixels + g.c() * spill()) * width);
        Columns.toChannelsLast(x, base, sc, sh, sw, g, hp, wp, g.spec().padH(), g.spec().padW(), image, width);
        image.asSlice(pixels * width, g.c() * spill() * width).fill((byte) 0);
        return image;
    }

    /**
     * The channels-last image's pixels under the output positions, as the weight gradient's rows (its depth is the
     * output positions): one run per output row, ow pixels a stride apart. No column is spare: the runs skip the
     * padded ends of rows, so a pixel that no tap reads at a position (an infinity, say) reaches no gradient.
     */
    PanelRows positions() {
        var s = g.spec();
        long[] starts = new long[g.oh()];
        for (int oy = 0; oy < g.oh(); oy++) starts[oy] = (long) oy * s.strideH() * wp * g.c();
        return new PanelRows(starts, Math.max(1, g.ow()), (long) s.strideW() * g.c());
    }

    /**
     * The weight gradient's column panels for group gi, in (tap, channel) order: per tap (i, j), the group's channels
     * at the pixel the tap shifts to, in panels of the micro-kernel's width.
     */
    long[] tapPanels(int gi) {
        var s = g.spec();
        int nr = Gemm.panelWidth(dtype), perTap = g.cg() / nr;
        long[] panels = new long[g.kh() * g.kw() * perTap];
        for (int i = 0, at = 0; i < g.kh(); i++)
            for (int j = 0; j < g.kw(); j++) {
                long pixel = (long) i * s.dilationH() * wp + (long) j * s.dilationW();
                for (int b = 0; b < perTap; b++) panels[at++] = pixel * g.c() + (long) gi * g.cg() + (long) b * nr;
            }
        return panels;
    }

    /** Group gi's column matrix in (tap, channel) order: per tap, a run of the group's channels, one plane apart. */
    PanelRows rows(int gi) {
        var s = g.spec();
        long[] starts = new long[g.kh() * g.kw()];
        long first = (long) gi * g.cg() * planeSize();
        for (int i = 0, tap = 0; i < g.kh(); i++)
            for (int j = 0; j < g.kw(); j++, tap++) starts[tap] = first + (long) i * s.dilationH() * wp + (long) j * s.dilationW();
        return new PanelRows(starts, g.cg(), planeSize());
    }

    /** The product's column panels, evenly spaced. */
    long[] panels() { return Gemm.evenPanels(columns, Gemm.panelWidth(dtype)); }

    /** The output positions of {@code channels} product rows (each {@link #columns} long) into dense planes of oh x ow at element {@code to}. */
    void unpad(MemorySegment product, int channels, MemorySegment dst, long to) {
        int width = width();
        for (int ch = 0; ch < channels; ch++)
            for (int oy = 0; oy < g.oh(); oy++)
                MemorySegment.copy(product, ((long) ch * columns + (long) oy * wp) * width,
                        dst, (to + ((long) ch * g.oh() + oy) * g.ow()) * width, (long) g.ow() * width);
    }
}
