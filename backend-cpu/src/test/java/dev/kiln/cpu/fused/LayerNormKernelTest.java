package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.Backend;
import dev.kiln.backend.View;
import dev.kiln.cpu.CpuBackend;
import dev.kiln.testkit.Ref;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static dev.kiln.cpu.fused.HostViews.download;
import static dev.kiln.cpu.fused.HostViews.upload;
import static dev.kiln.cpu.fused.HostViews.uploadTransposed;

/**
 * The CPU backend's layer norm and its gradients against the SPI's composed default: rows shorter and longer than
 * a vector and not a multiple of it, enough rows to split over the pool (so the weight and bias gradients add
 * partial sums), one and two normalised dimensions, with and without weight and bias, each gradient alone, and
 * inputs that are not dense (a transposed x, a broadcast gradient).
 */
class LayerNormKernelTest {

    static Stream<Arguments> cases() {
        List<int[][]> shapes = List.of(new int[][] {{1, 1}, {1}}, new int[][] {{3, 7}, {7}}, new int[][] {{5, 16}, {16}},
                new int[][] {{4, 33}, {33}}, new int[][] {{2, 1000}, {1000}}, new int[][] {{1000, 300}, {300}},
                new int[][] {{3, 4, 10}, {4, 10}}, new int[][] {{40}, {40}});
        List<Arguments> args = new ArrayList<>();
        for (int[][] s : shapes)
            for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT64})
                for (boolean affine : new boolean[] {true, false}) args.add(Arguments.of(s[0], s[1], t, affine));
        return args.stream();
    }

    private final Backend fast = new CpuBackend();
    private final Backend reference = new ComposedDefaults(fast);

    @ParameterizedTest(name = "{0} over {1} {2} affine {3}")
    @MethodSource("cases")
    void matchesTheComposedDefault(int[] shape, int[] normalized, DType t, boolean affine) {
        int k = normalized.length;
        int[] stats = shape.clone();
        Arrays.fill(stats, shape.length - k, shape.length, 1);
        double tol = t == DType.FLOAT32 ? 2e-4 : 1e-11;
        double[] xs = Ref.data(11, Ref.numel(shape), -3, 5);
        View x = upload(fast, t, xs, shape);
        View w = affine ? upload(fast, t, Ref.data(12, Ref.numel(normalized), 0.5, 1.5), normalized) : null;
        View b = affine ? upload(fast, t, Ref.data(13, Ref.numel(normalized), -1, 1), normalized) : null;
        View dy = upload(fast, t, Ref.data(14, Ref.numel(shape), -1, 1), shape);

        Result expected = forward(reference, x, k, w, b, stats), actual = forward(fast, x, k, w, b, stats);
        expected.assertClose(actual, tol, "layer_norm " + Arrays.toString(shape));
        if (shape.length >= 2 && k == 1) {
            View transposed = uploadTransposed(fast, t, xs, shape);
            expected.assertClose(forward(fast, transposed, k, w, b, stats), tol, "layer_norm of a transposed input");
        }

        View mean = upload(fast, t, expected.mean, stats), invStd = upload(fast, t, expected.invStd, stats);
        Grads all = backward(reference, dy, x, k, w, mean, invStd, true, true, true);
        all.assertClose(backward(fast, dy, x, k, w, mean, invStd, true, true, true), tol, "gradients");
        all.assertClose(backward(fast, dy, x, k, w, mean, invStd, true, false, false), tol, "input gradient alone");
        all.assertClose(backward(fast, dy, x, k, w, mean, invStd, false, true, false), tol, "weight gradient alone");
        all.assertClose(backward(fast, dy, x, k, w, mean, invStd, false, false, true), tol, "bias gradient alone");

        View ones = upload(fast, t, new double[] {1}, 1);
        View broadcast = ones.withShape(shape.clone(), new long[shape.length], 0);
        backward(reference, broadcast, x, k, w, mean, invStd, true, true, true)
                .assertClose(backward(fast, broadcast, x, k, w, mean, invStd, true, true, true), tol, "gradients of a broadcast gradient");
    }

    private record Result(double[] out, double[] mean, double[] invStd) {
        void assertClose(Result actual, double tol, String what) {
            Ref.assertClose(out, actual.out, tol, tol, what + " output");
            Ref.assertClose(mean, actual.mean, tol, tol, what + " mean");
            Ref.assertClose(invStd, actual.invStd, tol, tol, what + " invStd");
        }
    }

    private static Result forward(Backend be, View x, int k, View w, View b, int[] stats) {
        View out = be.allocateView(x.dtype(), x.shape()), mean = be.allocateView(x.dtype(), stats), invStd = be.allocateView(x.dtype(), stats);
        be.layerNorm(x, k, w, b, 1e-5, out, mean, invStd);
        return new Result(download(be, out), download(be, mean), download(be, invStd));
    }

    /** The wanted gradients; those not asked for are null and not compared. */
    private record Grads(double[] input, double[] weight, double[] bias) {
        void assertClose(Grads actual, double tol, String what) {
            if (actual.input != null) Ref.assertClose(input, actual.input, tol, tol, what + ": input");
            if (actual.weight != null) Ref.assertClose(weight, actual.weight, tol, tol, what + ": weight");
            if (actual.bias != null) Ref.assertClose(bias, actual.bias, tol, tol, what + ": bias");
        }
    }

    private static Grads backward(Backend be, View dy, View x, int k, View w, View mean, View invStd,
                                  boolean input, boolean weight, boolean bias) {
        int[] normalized = Arrays.copyOfRange(x.shape(), x.rank() - k, x.rank());
        View gi = input ? be.allocateView(x.dtype(), x.shape()) : null;
        View gw = weight ? be.allocateView(x.dtype(), normalized) : null;
        View gb = bias ? be.allocateView(x.dtype(), normalized) : null;
        be.layerNormBackward(dy, x, k, w, mean, invStd, gi, gw, gb);
        return new Grads(gi == null ? null : download(be, gi), gw == null ? null : download(be, gw), gb == null ? null : download(be, gb));
    }
}
