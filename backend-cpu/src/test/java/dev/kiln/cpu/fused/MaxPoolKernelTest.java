package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.Backend;
import dev.kiln.backend.Pool2dSpec;
import dev.kiln.backend.View;
import dev.kiln.cpu.CpuBackend;
import dev.kiln.testkit.Ref;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.kiln.cpu.fused.HostViews.download;
import static dev.kiln.cpu.fused.HostViews.upload;
import static dev.kiln.cpu.fused.HostViews.uploadTransposed;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The CPU backend's max pooling against the SPI's composed default, exactly (values and indices): many ties (the
 * first tap must win), NaNs (which win), a plane of -inf (whose windows report a position inside the input),
 * padding, dilation, ceil mode, and inputs held transposed, in batches large enough to split over planes.
 */
class MaxPoolKernelTest {

    record Case(String name, int n, int c, int h, int w, Pool2dSpec spec) {
        int[] input() { return new int[] {n, c, h, w}; }
        int[] out() { return new int[] {n, c, spec.outH(h), spec.outW(w)}; }
        @Override public String toString() { return name; }
    }

    static Stream<Arguments> cases() {
        List<Case> shapes = List.of(
                new Case("2x2 stride 2, split over planes", 8, 16, 24, 24, Pool2dSpec.of(2, 0, 0)),
                new Case("2x2 stride 2, odd sizes", 2, 3, 7, 9, Pool2dSpec.of(2, 2, 0)),
                new Case("2x2 stride 2, rows of several vectors and a part", 2, 3, 6, 42, Pool2dSpec.of(2, 2, 0)),
                new Case("2x2 stride 2, ceil mode on even sizes", 1, 3, 6, 8, Pool2dSpec.of(2, 2, 0).withCeilMode(true)),
                new Case("2x2 stride 2, ceil mode on odd sizes", 1, 3, 5, 7, Pool2dSpec.of(2, 2, 0).withCeilMode(true)),
                new Case("3x3 stride 2 padded", 2, 3, 11, 12, Pool2dSpec.of(3, 2, 1)),
                new Case("ceil mode", 2, 3, 10, 9, Pool2dSpec.of(3, 2, 0).withCeilMode(true)),
                new Case("dilation and padding", 1, 4, 13, 11, new Pool2dSpec(3, 2, 1, 2, 1, 1, 2, 3, false)),
                new Case("ceil mode, dilation, one row", 3, 2, 1, 14, new Pool2dSpec(1, 4, 1, 3, 0, 2, 1, 2, true)));
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
    void valuesAndIndicesEqualTheComposedDefault(Case k, DType t, boolean transposedInput) {
        double[] x = Ref.map(Ref.data(7, Ref.numel(k.input()), -3, 3), Math::rint);
        int plane = k.h * k.w;
        x[plane / 2] = Double.NaN;
        x[plane + 1] = Double.NaN;
        x[plane + plane / 3] = Double.NaN;
        // With dilation the default reports such a window's start clamped into the input, which need not be one of
        // its taps; the kernel follows PyTorch instead (see the test below), so the two agree only without dilation.
        if (k.c > 2 && k.spec.dilationH() == 1 && k.spec.dilationW() == 1)
            java.util.Arrays.fill(x, 2 * plane, 3 * plane, Double.NEGATIVE_INFINITY);
        View input = transposedInput ? uploadTransposed(fast, t, x, k.input()) : upload(fast, t, x, k.input());

        double[][] expected = pool(reference, input, k, t);
        double[][] actual = pool(fast, input, k, t);
        // Values compare as numbers: the default's vectorised max reduction may return 0.0 where the first of two
        // equal zeros, the one its index names, is -0.0.
        Ref.assertClose(expected[0], actual[0], 0, 0, "max_pool2d values " + k);
        assertArrayEquals(expected[1], actual[1], "max_pool2d indices " + k);
    }

    @ParameterizedTest(name = "{0} {1} transposed input {2}")
    @MethodSource("cases")
    void windowsOfMinusInfinityReportTheirFirstTapInsideTheInput(Case k, DType t, boolean transposedInput) {
        double[] x = new double[Ref.numel(k.input())];
        java.util.Arrays.fill(x, Double.NEGATIVE_INFINITY);
        View input = transposedInput ? uploadTransposed(fast, t, x, k.input()) : upload(fast, t, x, k.input());
        Pool2dSpec s = k.spec;
        int oh = s.outH(k.h), ow = s.outW(k.w);
        double[] expected = new double[Ref.numel(k.out())];
        for (int plane = 0; plane < k.n * k.c; plane++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                    expected[(plane * oh + i) * ow + j] = (double) firstInside(i * s.strideH() - s.padH(), s.dilationH()) * k.w
                            + firstInside(j * s.strideW() - s.padW(), s.dilationW());
        assertArrayEquals(expected, pool(fast, input, k, t)[1], "max_pool2d indices of -inf windows " + k);
    }

    /** The first coordinate start + r * dilation that is not negative. */
    private static int firstInside(int start, int dilation) {
        while (start < 0) start += dilation;
        return start;
    }

    private static double[][] pool(Backend be, View input, Case k, DType t) {
        View out = be.allocateView(t, k.out());
        View indices = be.allocateView(DType.INT64, k.out());
        be.fill(out, 42);
        be.fill(indices, -1);
        be.maxPool2d(input, k.spec, out, indices);
        return new double[][] {download(be, out), download(be, indices)};
    }
}
