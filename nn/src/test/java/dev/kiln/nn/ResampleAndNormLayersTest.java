package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;

import static dev.kiln.nn.Check.close;
import static dev.kiln.nn.Check.data;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The modules over the composite ops (whose values and gradients the conformance kit checks): Conv1d, GroupNorm,
 * InstanceNorm1d/2d, Upsample and Embedding's padding_idx and max_norm, as PyTorch's modules hold their parameters,
 * buffers and modes.
 */
class ResampleAndNormLayersTest {
    /** float32: the suite also runs on devices without float64. */
    private static Tensor f32(double[] values, int... shape) { return Tensor.of(values, DType.FLOAT32, null, shape); }

    @Test
    void conv1dHoldsPyTorchShapedParametersAndAppliesThem() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(3);
            Conv1d conv = new Conv1d(4, 6, 3, 2, 1, 1, 2, true);
            assertArrayEquals(new int[] {6, 2, 3}, conv.weight().shape());
            assertArrayEquals(new int[] {6}, conv.bias().shape());
            Tensor x = f32(data(1, 2 * 4 * 9, -1, 1), 2, 4, 9);
            Tensor y = conv.forward(x);
            assertArrayEquals(new int[] {2, 6, 5}, y.shape());
            close(Functional.conv1d(x, conv.weight(), conv.bias(), 2, 1, 1, 2).toDoubleArray(), y.toDoubleArray(), 0, "Conv1d = conv1d");
            assertNull(new Conv1d(2, 2, 1, 1, 0, 1, 1, false).bias());
            assertEquals("Conv1d(4, 6, kernel=3, stride=2, padding=1, groups=2)", conv.describe());
            assertThrows(IllegalArgumentException.class, () -> new Conv1d(3, 4, 3, 1, 0, 1, 2, true));
        }
    }

    @Test
    void groupNormAndInstanceNormHoldPyTorchsParametersAndBuffers() {
        try (Scope s = Scope.open()) {
            GroupNorm group = new GroupNorm(2, 6);
            assertEquals(12, group.parameterCount());
            Tensor x = f32(data(2, 3 * 6 * 4, -2, 2), 3, 6, 4);
            close(Functional.groupNorm(x, 2, null, null, 1e-5).toDoubleArray(), group.forward(x).toDoubleArray(), 0, "GroupNorm = group_norm");
            assertEquals(0, new GroupNorm(3, 6, 1e-5, false).parameterCount());
            assertThrows(IllegalArgumentException.class, () -> new GroupNorm(4, 6));

            InstanceNorm1d plain = new InstanceNorm1d(6);
            assertEquals(0, plain.parameterCount());
            plain.eval();
            close(Functional.groupNorm(x, 6, null, null, 1e-5).toDoubleArray(), plain.forward(x).toDoubleArray(), 0,
                    "InstanceNorm1d without running statistics normalises by the input's, in evaluation too");

            InstanceNorm2d tracked = new InstanceNorm2d(6, 1e-5, 0.1, true, true);
            assertEquals(12, tracked.parameterCount());
            Tensor image = x.reshape(3, 6, 2, 2);
            tracked.forward(image);
            close(image.mean(new int[] {0, 2, 3}, false).mul(0.1).toDoubleArray(), tracked.buffer("running_mean").toDoubleArray(), 1e-5,
                    "InstanceNorm2d in training moves the running mean toward the batch's mean of instance means");
            tracked.eval();
            Tensor evaluated = tracked.forward(image);
            close(Functional.batchNorm(image, tracked.buffer("running_mean"), tracked.buffer("running_var"), null, null, false, 0.1, 1e-5).toDoubleArray(),
                    evaluated.toDoubleArray(), 1e-5, "InstanceNorm2d in evaluation normalises by the running statistics");
            assertThrows(IllegalArgumentException.class, () -> tracked.forward(x));
        }
    }

    @Test
    void upsampleResizesBySizeOrFactor() {
        try (Scope s = Scope.open()) {
            Tensor x = f32(data(3, 2 * 3 * 4 * 5, -1, 1), 2, 3, 4, 5);
            assertArrayEquals(new int[] {2, 3, 8, 10}, Upsample.scale(2, "nearest", false).forward(x).shape());
            Upsample bilinear = Upsample.size(new int[] {7, 9}, "bilinear", true);
            close(Functional.interpolate(x, new int[] {7, 9}, "bilinear", true).toDoubleArray(), bilinear.forward(x).toDoubleArray(), 0, "Upsample = interpolate");
            assertEquals("Upsample(size=[7, 9], mode='bilinear', align_corners=true)", bilinear.describe());
            assertThrows(IllegalArgumentException.class, () -> Upsample.scale(2, "nearest", true));
            assertThrows(IllegalArgumentException.class, () -> Upsample.scale(2, "cubic", false));
        }
    }

    @Test
    void embeddingPaddingRowStartsAtZeroAndLearnsNothing() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(4);
            Embedding table = new Embedding(5, 3, -1, null);
            close(new double[3], table.weight().select(0, 4).toDoubleArray(), 0, "padding row starts at zero");
            table.forward(Tensor.of(new int[] {4, 1, 4}, 3)).sum().backward();
            close(new double[] {0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, table.weight().grad().toDoubleArray(), 0, "no gradient for padding_idx");
            assertEquals("Embedding(5, 3, padding_idx=4)", table.describe());

            Embedding bounded = new Embedding(4, 8, null, 1.0);
            bounded.forward(Tensor.of(new int[] {2}, 1));
            assertEquals(1.0, bounded.weight().select(0, 2).norm().item(), 1e-5, "looked-up row renormalised to max_norm");
            assertThrows(IllegalArgumentException.class, () -> new Embedding(4, 2, 4, null));
        }
    }
}
