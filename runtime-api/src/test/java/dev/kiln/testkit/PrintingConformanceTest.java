package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Kiln;
import dev.kiln.PrintOptions;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link Tensor#toString()} against what PyTorch prints for the same tensors ({@code print(t)} in PyTorch 2.x, with
 * Kiln's names for dtypes and devices). {@code %s} marks where PyTorch puts the device of a tensor not on the CPU.
 */
class PrintingConformanceTest {

    private static void assertPrints(TestDevice device, String pytorch, Tensor t) {
        String deviceSuffix = device.device().type().equals("cpu") ? "" : ", device='" + device.device() + "'";
        assertEquals(pytorch.formatted(deviceSuffix), t.toString());
    }

    @BackendTest
    void vectorsAndScalars(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            assertPrints(device, "tensor([1., 2., 3.]%s)", Tensor.of(new float[] {1, 2, 3}));
            assertPrints(device, "tensor([ 0.1000,  0.2500, -1.5000]%s)", Tensor.of(new float[] {0.1f, 0.25f, -1.5f}));
            assertPrints(device, "tensor(3.5000%s)", Tensor.scalar(3.5));
            assertPrints(device, "tensor(2.%s)", Tensor.scalar(2));
            assertPrints(device, "tensor([0, 1, 2, 3, 4]%s)", Tensor.arange(5));
            assertPrints(device, "tensor([  1, -20, 300]%s, dtype=int32)", Tensor.of(new int[] {1, -20, 300}));
            assertPrints(device, "tensor([ True, False]%s)", Tensor.of(new boolean[] {true, false}));
            assertPrints(device, "tensor([1.5000, 2.0000]%s, dtype=float64)", Tensor.of(new double[] {1.5, 2}));
            assertPrints(device, "tensor([nan, 1., inf]%s)", Tensor.of(new float[] {Float.NaN, 1, Float.POSITIVE_INFINITY}));
        }
    }

    @BackendTest
    void numberFormats(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            assertPrints(device, "tensor([1.0000e-05, 1.0000e+00]%s)", Tensor.of(new float[] {1e-5f, 1}));
            assertPrints(device, "tensor([1.0000e+00, 1.0000e+09]%s)", Tensor.of(new double[] {1, 1e9}, DType.FLOAT32, null));
            assertPrints(device, "tensor([-0., 2.]%s)", Tensor.of(new float[] {-0f, 2}));
            // Python rounds half to even on the exact binary value: 0.03125 -> 0.0312 (Java's %.4f gives 0.0313).
            assertPrints(device, "tensor([0.0312, 0.5000]%s)", Tensor.of(new float[] {0.03125f, 0.5f}));
        }
    }

    @BackendTest
    void matricesAndHigherDimensions(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            assertPrints(device, """
                    tensor([[1., 2., 3.],
                            [4., 5., 6.]]%s)""", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
            assertPrints(device, """
                    tensor([[[0., 1.],
                             [2., 3.]],

                            [[4., 5.],
                             [6., 7.]]]%s)""", Tensor.arange(0, 8, 1, DType.FLOAT32, null).reshape(2, 2, 2));
        }
    }

    @BackendTest
    void longRowsWrapAtTheLineWidth(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            assertPrints(device, """
                    tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,
                            14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,
                            28., 29.]%s)""", Tensor.arange(0, 30, 1, DType.FLOAT32, null));
        }
    }

    @BackendTest
    void summarisedAboveTheThreshold(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            assertPrints(device, """
                    tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 9.9970e+03, 9.9980e+03,
                            9.9990e+03]%s)""", Tensor.arange(0, 10000, 1, DType.FLOAT32, null));
            assertPrints(device, """
                    tensor([[0., 0., 0.,  ..., 0., 0., 0.],
                            [0., 0., 0.,  ..., 0., 0., 0.],
                            [0., 0., 0.,  ..., 0., 0., 0.],
                            [0., 0., 0.,  ..., 0., 0., 0.],
                            [0., 0., 0.,  ..., 0., 0., 0.]]%s)""", Tensor.zeros(5, 300));
            assertPrints(device, """
                    tensor([[1., 1., 1.,  ..., 1., 1., 1.],
                            [1., 1., 1.,  ..., 1., 1., 1.],
                            [1., 1., 1.,  ..., 1., 1., 1.],
                            ...,
                            [1., 1., 1.,  ..., 1., 1., 1.],
                            [1., 1., 1.,  ..., 1., 1., 1.],
                            [1., 1., 1.,  ..., 1., 1., 1.]]%s)""", Tensor.ones(40, 40));
            assertPrints(device, "tensor([1., 1., 1., 1., 1., 1., 1., 1., 1., 1.]%s)", Tensor.ones(10)); // 10 <= 1000: in full
        }
    }

    @BackendTest
    void emptyTensorsAndAutogradSuffixes(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            assertPrints(device, "tensor([]%s)", Tensor.zeros(0));
            assertPrints(device, "tensor([]%s, size=(2, 0))", Tensor.zeros(2, 0));
            Tensor w = Tensor.of(new float[] {1, 2}).requiresGrad(true);
            assertPrints(device, "tensor([1., 2.]%s, requires_grad=True)", w);
            assertPrints(device, "tensor([2., 4.]%s, grad_fn=<" + w.mul(2).gradFn() + ">)", w.mul(2));
        }
    }

    @BackendTest
    void printOptions(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.of(new float[] {0.123456f, 0.25f});
            Kiln.setPrintOptions(PrintOptions.DEFAULT.withPrecision(2));
            assertPrints(device, "tensor([0.12, 0.25]%s)", t);
            Kiln.setPrintOptions(PrintOptions.DEFAULT.withSciMode(true));
            assertPrints(device, "tensor([1.2346e-01, 2.5000e-01]%s)", t);
            Kiln.setPrintOptions(PrintOptions.DEFAULT.withThreshold(5).withEdgeItems(1));
            assertPrints(device, "tensor([0,  ..., 9]%s)", Tensor.arange(10));
            Kiln.setPrintOptions(PrintOptions.DEFAULT.withLineWidth(20));
            // A suffix that would pass the line width goes on a line of its own, indented under the values.
            String device20 = device.device().type().equals("cpu") ? "" : ",\n       device='" + device.device() + "'";
            assertEquals("tensor([0, 1, 2, 3,\n        4, 5]" + device20 + ")", Tensor.arange(6).toString());
        } finally {
            Kiln.setPrintOptions(PrintOptions.DEFAULT);
        }
        assertThrows(IllegalArgumentException.class, () -> PrintOptions.DEFAULT.withLineWidth(0));
    }
}
