package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Recurrent;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;

import java.util.List;
import java.util.stream.Stream;

import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.data;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The LSTM's fused kernels ({@code Backend.lstmSequence}, {@code lstmCell} and {@code lstmCellBackward}, reached
 * through {@link Recurrent#lstm}) in float32 against the same LSTM in float64 (whose gradients
 * {@code SequenceOpsConformanceTest} checks by finite differences): outputs, final states and every gradient, both
 * directions, hidden sizes below, at and past a vector's width and over several vectors of them.
 */
class LstmCellConformanceTest {

    @BackendTest
    void float32CellMatchesFloat64(TestDevice device) {
        device.activate();
        TestDevice.requireFloat64();
        for (int hidden : new int[] {5, 16, 19, 48}) check(6, 3, 4, hidden, 1);
        // Enough work per step for a backend to split the units (the CPU's sequence kernel: 16 blocks), and a batch
        // that is no whole number of register tiles; weights at the usual 1 / sqrt(H) scale, as with weights in
        // [-1, 1] the gates saturate and float32 is 2e-3 from float64 on a weight's gradient whatever the kernel.
        check(3, 5, 4, 256, 1 / 16.0);
        // One block of units for the backward's product on one thread (the CPU's: 4 vectors wide at 512 bits).
        check(4, 2, 3, 64, 1 / 8.0);
        // Batches from which a backend may take the input projection into each step's product (the CPU: 16 rows),
        // on one thread and split, with an input width that is no whole vector.
        check(3, 17, 5, 64, 1 / 8.0);
        check(2, 16, 24, 256, 1 / 16.0);
        // Rows enough for a backend to split the batch over its threads (the CPU: 8 per thread), in parts that are no
        // whole number of register tiles.
        check(3, 19, 8, 128, 1 / 11.0);
    }

    /** Weights (w, r, bias) in [-weightScale, weightScale], the rest in [-1, 1]. */
    private static void check(int steps, int batch, int in, int hidden, double weightScale) {
        String what = "lstm T=" + steps + " B=" + batch + " I=" + in + " H=" + hidden;
        int[][] shapes = {{steps, batch, in}, {2, 4 * hidden, in}, {2, 4 * hidden, hidden}, {2, 8 * hidden}, {2, batch, hidden}, {2, batch, hidden}};
        double[][] values = new double[shapes.length][];
        for (int i = 0; i < shapes.length; i++) {
            double bound = i >= 1 && i <= 3 ? weightScale : 1;
            values[i] = data(70 + i, Ref.numel(shapes[i]), -bound, bound);
        }
        double[] dy = data(80, steps * 2 * batch * hidden, -1, 1), dh = data(81, 2 * batch * hidden, -1, 1), dc = data(82, 2 * batch * hidden, -1, 1);
        double[][] expected = run(DType.FLOAT64, shapes, values, dy, dh, dc), actual = run(DType.FLOAT32, shapes, values, dy, dh, dc);
        String[] names = {"output", "hidden", "cell", "input gradient", "w gradient", "r gradient", "bias gradient", "h0 gradient", "c0 gradient"};
        for (int i = 0; i < names.length; i++) assertClose(expected[i], actual[i], 1e-4, 1e-5, what + ": " + names[i]);
        // Without a gradient to take, the kernel writes the activations the backward would read into one step's
        // buffer; the outputs must not change by a bit.
        double[][] inference = infer(shapes, values);
        for (int i = 0; i < inference.length; i++) assertArrayEquals(actual[i], inference[i], what + ": " + names[i] + " without autograd");
    }

    /** The float32 outputs and final states of the same LSTM with no graph recorded, as doubles. */
    private static double[][] infer(int[][] shapes, double[][] values) {
        try (Scope scope = Scope.open(); GradMode off = GradMode.noGrad()) {
            Recurrent.Output out = bidirectional(inputs(DType.FLOAT32, shapes, values, false));
            return Stream.of(out.output(), out.hidden(), out.cell()).map(Tensor::toDoubleArray).toArray(double[][]::new);
        }
    }

    /** The outputs and gradients of a bidirectional LSTM in {@code dtype}, as doubles. */
    private static double[][] run(DType dtype, int[][] shapes, double[][] values, double[] dy, double[] dh, double[] dc) {
        try (Scope scope = Scope.open()) {
            Tensor[] t = inputs(dtype, shapes, values, true);
            Recurrent.Output out = bidirectional(t);
            Tensor loss = out.output().mul(Tensor.of(dy, dtype, null, out.output().shape())).sum()
                    .add(out.hidden().mul(Tensor.of(dh, dtype, null, out.hidden().shape())).sum())
                    .add(out.cell().mul(Tensor.of(dc, dtype, null, out.cell().shape())).sum());
            loss.backward();
            List<Tensor> results = List.of(out.output(), out.hidden(), out.cell(), t[0].grad(), t[1].grad(), t[2].grad(), t[3].grad(), t[4].grad(), t[5].grad());
            return results.stream().map(Tensor::toDoubleArray).toArray(double[][]::new);
        }
    }

    /** The input, weights, bias and initial states in {@code dtype}. */
    private static Tensor[] inputs(DType dtype, int[][] shapes, double[][] values, boolean requiresGrad) {
        Tensor[] t = new Tensor[shapes.length];
        for (int i = 0; i < shapes.length; i++) t[i] = Tensor.of(values[i], dtype, null, shapes[i]).requiresGrad(requiresGrad);
        return t;
    }

    private static Recurrent.Output bidirectional(Tensor[] t) {
        return Recurrent.lstm(t[0], t[1], t[2], t[3], null, t[4], t[5], null,
                Recurrent.Options.defaults().withDirection(Recurrent.Direction.BIDIRECTIONAL));
    }
}
