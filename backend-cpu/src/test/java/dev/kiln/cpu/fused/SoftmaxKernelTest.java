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
import java.util.List;
import java.util.stream.Stream;

import static dev.kiln.cpu.fused.ConvolutionKernelTest.run;
import static dev.kiln.cpu.fused.HostViews.upload;
import static dev.kiln.cpu.fused.HostViews.uploadTransposed;

/**
 * The CPU backend's softmax and log-softmax against the SPI's composed default: rows shorter and longer than a
 * vector and not a multiple of it, enough rows to split over the pool, rows holding -inf, +inf and NaN, and the
 * cases that must fall back (another axis, an input held transposed).
 */
class SoftmaxKernelTest {

    static Stream<Arguments> cases() {
        List<int[]> shapes = List.of(new int[] {1, 1}, new int[] {3, 7}, new int[] {5, 16}, new int[] {4, 33},
                new int[] {2, 1000}, new int[] {600, 100}, new int[] {300, 500}, new int[] {3, 4, 10});
        List<Arguments> args = new ArrayList<>();
        for (int[] shape : shapes)
            for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT64})
                for (boolean log : new boolean[] {false, true}) args.add(Arguments.of(shape, t, log));
        return args.stream();
    }

    private final Backend fast = new CpuBackend();
    private final Backend reference = new ComposedDefaults(fast);

    @ParameterizedTest(name = "{0} {1} log {2}")
    @MethodSource("cases")
    void everyAxisAndLayoutMatchesTheComposedDefault(int[] shape, DType t, boolean log) {
        int len = shape[shape.length - 1];
        double[] x = Ref.data(9, Ref.numel(shape), -30, 30);
        if (x.length >= 3 * len && len > 2) {
            x[len] = Double.NEGATIVE_INFINITY;
            x[2 * len + 1] = Double.NaN;
            x[3 * len - 1] = Double.POSITIVE_INFINITY;
        }
        double tol = t == DType.FLOAT32 ? 2e-6 : 1e-14;
        View input = upload(fast, t, x, shape);
        for (int axis = 0; axis < shape.length; axis++) {
            int a = axis;
            Ref.assertClose(run(reference, t, shape, o -> reference.softmax(input, a, log, o)),
                    run(fast, t, shape, o -> fast.softmax(input, a, log, o)), tol, tol, "softmax axis " + a + " log " + log);
        }
        if (shape.length >= 2) {
            View transposed = uploadTransposed(fast, t, x, shape);
            int last = shape.length - 1;
            Ref.assertClose(run(reference, t, shape, o -> reference.softmax(transposed, last, log, o)),
                    run(fast, t, shape, o -> fast.softmax(transposed, last, log, o)), tol, tol, "softmax of a transposed input");
        }
    }
}
