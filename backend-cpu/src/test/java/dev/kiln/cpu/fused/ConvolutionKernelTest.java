package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.Backend;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.View;
import dev.kiln.cpu.CpuBackend;
import dev.kiln.testkit.Ref;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static dev.kiln.cpu.fused.HostViews.download;
import static dev.kiln.cpu.fused.HostViews.upload;
import static dev.kiln.cpu.fused.HostViews.uploadTransposed;

/**
 * The CPU backend's convolution kernels against the SPI's composed defaults, on shapes the conformance kit leaves
 * out: batches large enough to split over images, many channels (which the weight gradient takes channels last),
 * groups with dilation and stride, 1x1 kernels
 * (where the image is its own column matrix), inputs held transposed, and outputs that are not dense (which must
 * fall back to the defaults).
 */
class ConvolutionKernelTest {

    record Case(String name, int n, int c, int h, int w, int cout, int kh, int kw, Conv2dSpec spec) {
        int[] input() { return new int[] {n, c, h, w}; }
        int[] weight() { return new int[] {cout, c / spec.groups(), kh, kw}; }
        int[] out() { return new int[] {n, cout, spec.outH(h, kh), spec.outW(w, kw)}; }
        @Override public String toString() { return name; }
    }

    static Stream<Arguments> cases() {
        List<Case> shapes = List.of(
                new Case("3x3 same, batch split over images", 6, 8, 13, 11, 16, 3, 3, Conv2dSpec.of(1, 1)),
                new Case("many channels (channels-last weight gradient)", 4, 32, 9, 10, 8, 3, 3, Conv2dSpec.of(1, 1)),
                new Case("many channels in groups, stride, dilation", 3, 40, 11, 9, 6, 3, 2, new Conv2dSpec(2, 1, 1, 2, 1, 2, 2)),
                new Case("5x5 valid, one image", 1, 3, 20, 18, 6, 5, 5, Conv2dSpec.of(1, 0)),
                new Case("LeNet layer 2 (weight gradient over output channels)", 5, 6, 14, 14, 16, 5, 5, Conv2dSpec.of(1, 0)),
                new Case("12 outputs, dilated and padded (part of a channel vector)", 3, 5, 12, 11, 12, 3, 3, new Conv2dSpec(1, 1, 1, 1, 2, 2, 1)),
                new Case("groups, dilation, stride", 4, 8, 15, 12, 12, 3, 3, new Conv2dSpec(2, 1, 2, 1, 2, 1, 4)),
                new Case("asymmetric stride beyond padding", 3, 4, 9, 10, 5, 2, 3, new Conv2dSpec(3, 2, 1, 1, 1, 2, 1)),
                new Case("1x1 stride 1", 5, 16, 7, 9, 24, 1, 1, Conv2dSpec.of(1, 0)),
                new Case("1x1 stride 2 padded", 2, 6, 7, 7, 4, 1, 1, Conv2dSpec.of(2, 1)),
                new Case("depthwise", 4, 12, 10, 10, 12, 3, 3, new Conv2dSpec(1, 1, 1, 1, 1, 1, 12)),
                new Case("kernel wider than input plus padding", 2, 2, 3, 3, 3, 3, 5, new Conv2dSpec(1, 1, 0, 1, 1, 1, 1)),
                // Stride 1 with at least 12 input channels per group: the input gradient runs as a convolution with
                // the flipped weight...
                new Case("groups and dilation at stride 1", 3, 24, 12, 11, 6, 3, 2, new Conv2dSpec(1, 1, 2, 1, 2, 3, 2)),
                // ...unless there are fewer channels (as "5x5 valid" above) or the padding is wider than the dilated
                // kernel, when it goes through columns.
                new Case("1x1 stride 1 padded", 2, 6, 5, 5, 4, 1, 1, Conv2dSpec.of(1, 1)),
                // Strided with whole vectors of output channels: the direct path's channel-vector form.
                new Case("MNIST CNN layer 1, stride 2", 3, 1, 28, 28, 16, 5, 5, Conv2dSpec.of(2, 2)),
                new Case("MNIST CNN layer 2, stride 2", 3, 16, 14, 14, 32, 5, 5, Conv2dSpec.of(2, 2)),
                new Case("asymmetric stride and dilation, 16 outputs", 2, 3, 11, 13, 16, 3, 2, new Conv2dSpec(2, 3, 1, 2, 2, 1, 1)),
                new Case("stride 2, 8 outputs (whole vectors with 256 bits only)", 2, 4, 9, 9, 8, 3, 3, Conv2dSpec.of(2, 1)),
                // Stride 1 over wide rows: GEMM reads the padded image in place (few spare columns per output row),
                // forward and, with 12 or more channels, the input gradient too.
                new Case("wide rows over the padded image", 3, 20, 6, 30, 24, 3, 3, Conv2dSpec.of(1, 1)),
                new Case("wide rows in groups, dilated, uneven padding", 2, 24, 7, 61, 36, 3, 2, new Conv2dSpec(1, 1, 2, 1, 2, 3, 2)),
                new Case("wide rows, one image split over the pool", 1, 13, 9, 62, 40, 3, 3, Conv2dSpec.of(1, 1)),
                // A padded row is w + padW wide, the right padding shared with the next row's left, unless the output
                // row is wider still: padding beyond the kernel's reach. 32 channels over rows of 40: the weight
                // gradient's channels-last copy goes by square blocks of vectors, and its last taps read past the image.
                new Case("wide rows, padding wider than the kernel reaches", 2, 32, 5, 40, 16, 3, 3, new Conv2dSpec(1, 1, 1, 3, 1, 1, 1)),
                // Channels per group a multiple of the GEMM panel: the weight gradient reads the padded channels-last
                // image in place, at any stride.
                new Case("32 channels per group, strided and dilated", 2, 64, 9, 11, 8, 3, 3, new Conv2dSpec(2, 1, 1, 2, 1, 2, 2)),
                // 3x3 at stride 1 with 32 or more channels each way, float32: Winograd's 2x2 tiles, forward and input
                // gradient. Odd outputs (half tiles), no padding, padding beyond the kernel's reach, uneven padding,
                // and 225 tiles in blocks of 128 (rows of tiles split between blocks, a ragged last block).
                new Case("Winograd tiles over odd outputs", 3, 32, 11, 13, 40, 3, 3, Conv2dSpec.of(1, 1)),
                new Case("Winograd, valid, one image split over the pool", 1, 48, 12, 20, 36, 3, 3, Conv2dSpec.of(1, 0)),
                // Six images: more than the weight gradient's chunks, so a chunk adds a second image into its partial.
                new Case("Winograd, padding 2, six images", 6, 32, 8, 9, 32, 3, 3, Conv2dSpec.of(1, 2)),
                new Case("Winograd, uneven padding", 2, 32, 9, 10, 33, 3, 3, new Conv2dSpec(1, 1, 1, 0, 1, 1, 1)),
                new Case("Winograd, several blocks per image", 2, 64, 30, 30, 64, 3, 3, Conv2dSpec.of(1, 1)),
                // More than 384 output channels: the products pack B instead of reading it in place.
                new Case("Winograd, 400 output channels", 1, 40, 6, 6, 400, 3, 3, Conv2dSpec.of(1, 1)));
        List<Arguments> args = new ArrayList<>();
        for (Case k : shapes)
            for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT64})
                for (boolean transposedInput : new boolean[] {false, true}) args.add(Arguments.of(k, t, transposedInput));
        return args.stream();
    }

    private final Backend fast = new CpuBackend();
    private final Backend reference = new ComposedDefaults(fast);

    @ParameterizedTest(name = "{0} {1} transposed input {2}")
    @MethodSource("cases")
    void forwardAndBothGradientsMatchTheComposedDefaults(Case k, DType t, boolean transposedInput) {
        double[] x = Ref.data(1, Ref.numel(k.input()), -1, 1);
        double[] w = Ref.data(2, Ref.numel(k.weight()), -1, 1);
        double[] dy = Ref.data(3, Ref.numel(k.out()), -1, 1);
        View input = transposedInput ? uploadTransposed(fast, t, x, k.input()) : upload(fast, t, x, k.input());
        View weight = upload(fast, t, w, k.weight());
        View gradOut = upload(fast, t, dy, k.out());
        double rtol = t == DType.FLOAT32 ? 1e-4 : 1e-11, atol = rtol;

        Ref.assertClose(run(reference, t, k.out(), o -> reference.conv2d(input, weight, k.spec, o)),
                run(fast, t, k.out(), o -> fast.conv2d(input, weight, k.spec, o)), rtol, atol, "conv2d " + k);
        Ref.assertClose(run(reference, t, k.input(), o -> reference.conv2dBackwardInput(gradOut, weight, k.spec, o)),
                run(fast, t, k.input(), o -> fast.conv2dBackwardInput(gradOut, weight, k.spec, o)), rtol, atol, "grad input " + k);
        Ref.assertClose(run(reference, t, k.weight(), o -> reference.conv2dBackwardWeight(input, gradOut, k.spec, o)),
                run(fast, t, k.weight(), o -> fast.conv2dBackwardWeight(input, gradOut, k.spec, o)), rtol, atol, "grad weight " + k);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void transposedOutputsFallBackToTheDefaults(Case k, DType t, boolean unused) {
        if (unused) return;
        View input = upload(fast, t, Ref.data(4, Ref.numel(k.input()), -1, 1), k.input());
        View weight = upload(fast, t, Ref.data(5, Ref.numel(k.weight()), -1, 1), k.weight());
        double rtol = t == DType.FLOAT32 ? 1e-4 : 1e-11;
        double[] expected = run(reference, t, k.out(), o -> reference.conv2d(input, weight, k.spec, o));
        View transposedOut = uploadTransposed(fast, t, new double[Ref.numel(k.out())], k.out());
        fast.conv2d(input, weight, k.spec, transposedOut);
        Ref.assertClose(expected, download(fast, transposedOut), rtol, rtol, "conv2d into a transposed output " + k);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void anEmptyBatchHasAZeroWeightGradient(Case k, DType t, boolean unused) {
        if (unused) return;
        Case empty = new Case(k.name, 0, k.c, k.h, k.w, k.cout, k.kh, k.kw, k.spec);
        View gradWeight = upload(fast, t, Ref.data(6, Ref.numel(empty.weight()), 1, 2), empty.weight());
        fast.conv2dBackwardWeight(fast.allocateView(t, empty.input()), fast.allocateView(t, empty.out()), k.spec, gradWeight);
        Ref.assertClose(new double[Ref.numel(empty.weight())], download(fast, gradWeight), 0, 0, "empty batch " + k);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void viewsThatStartInsideTheirBufferAreReadAndWrittenThere(Case k, DType t, boolean unused) {
        if (unused) return;
        View input = atOffset(t, Ref.data(10, Ref.numel(k.input()), -1, 1), k.input());
        View weight = atOffset(t, Ref.data(11, Ref.numel(k.weight()), -1, 1), k.weight());
        View gradOut = atOffset(t, Ref.data(12, Ref.numel(k.out()), -1, 1), k.out());
        double tol = t == DType.FLOAT32 ? 1e-4 : 1e-11;
        Ref.assertClose(run(reference, t, k.out(), o -> reference.conv2d(input, weight, k.spec, o)),
                runAtOffset(t, k.out(), o -> fast.conv2d(input, weight, k.spec, o)), tol, tol, "conv2d at offsets " + k);
        Ref.assertClose(run(reference, t, k.input(), o -> reference.conv2dBackwardInput(gradOut, weight, k.spec, o)),
                runAtOffset(t, k.input(), o -> fast.conv2dBackwardInput(gradOut, weight, k.spec, o)), tol, tol, "grad input at offsets " + k);
        Ref.assertClose(run(reference, t, k.weight(), o -> reference.conv2dBackwardWeight(input, gradOut, k.spec, o)),
                runAtOffset(t, k.weight(), o -> fast.conv2dBackwardWeight(input, gradOut, k.spec, o)), tol, tol, "grad weight at offsets " + k);
    }

    /**
     * LeNet's first layer (few channels, stride 1: the direct path) with an infinite pixel in the last column of a row.
     * The tap kx = 0 never reads that column for an output inside the row, so its gradient stays finite, as in the
     * reference: a kernel that let whole vectors run on past a row's end would meet that pixel with a zero gradient
     * and make it NaN.
     */
    @org.junit.jupiter.api.Test
    void anInfinitePixelReachesOnlyTheWeightGradientsOfTheTapsThatReadIt() {
        Case k = new Case("LeNet layer 1", 2, 1, 28, 28, 6, 5, 5, Conv2dSpec.of(1, 2));
        double[] x = Ref.data(7, Ref.numel(k.input()), -1, 1);
        x[27] = Double.POSITIVE_INFINITY;
        View input = upload(fast, DType.FLOAT32, x, k.input());
        View gradOut = upload(fast, DType.FLOAT32, Ref.data(8, Ref.numel(k.out()), -1, 1), k.out());
        double[] expected = run(reference, DType.FLOAT32, k.weight(), o -> reference.conv2dBackwardWeight(input, gradOut, k.spec, o));
        org.junit.jupiter.api.Assertions.assertTrue(Double.isFinite(expected[0]), "the reference's tap (0, 0) is finite");
        Ref.assertClose(expected, run(fast, DType.FLOAT32, k.weight(), o -> fast.conv2dBackwardWeight(input, gradOut, k.spec, o)),
                1e-4, 1e-4, "grad weight with an infinite pixel");
    }

    /** A dense view of the values that starts a few elements into a larger buffer. */
    private View atOffset(DType t, double[] values, int[] shape) {
        double[] padded = new double[values.length + OFFSET];
        System.arraycopy(values, 0, padded, OFFSET, values.length);
        View whole = upload(fast, t, padded, padded.length);
        return whole.withShape(shape, View.contiguousStrides(shape), OFFSET);
    }

    /** Like {@link #run}, into a dense output that starts inside its buffer, behind elements that must stay untouched. */
    private double[] runAtOffset(DType t, int[] shape, Consumer<View> kernel) {
        int n = Ref.numel(shape);
        View whole = fast.allocateView(t, n + OFFSET);
        fast.fill(whole, Double.NaN);
        fast.fill(whole.withShape(new int[] {OFFSET}, new long[] {1}, 0), 7);
        kernel.accept(whole.withShape(shape, View.contiguousStrides(shape), OFFSET));
        double[] all = download(fast, whole);
        for (int i = 0; i < OFFSET; i++)
            if (all[i] != 7) throw new AssertionError("element " + i + " before the output was overwritten: " + all[i]);
        return java.util.Arrays.copyOfRange(all, OFFSET, all.length);
    }

    private static final int OFFSET = 5;

    /** Runs a kernel into a fresh dense output of NaNs, so one that forgets to write an element is caught. */
    static double[] run(Backend be, DType t, int[] shape, Consumer<View> kernel) {
        View out = be.allocateView(t, shape);
        be.fill(out, Double.NaN);
        kernel.accept(out);
        return download(be, out);
    }
}
