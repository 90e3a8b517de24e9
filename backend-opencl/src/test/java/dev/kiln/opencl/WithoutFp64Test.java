package dev.kiln.opencl;

import dev.kiln.DType;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.Distribution;
import dev.kiln.backend.UnaryOp;
import dev.kiln.backend.View;
import dev.kiln.kernel.KernelBackend;
import dev.kiln.random.Philox;
import org.jocl.cl_mem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static dev.kiln.opencl.Devices.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The device treated as one without cl_khr_fp64 (many GPUs): the kernels must build without the extension,
 * float32 and integer work must still be right, and float64 must fail with a clear message.
 */
class WithoutFp64Test {

    private static KernelBackend<cl_mem> withoutFp64() { return variant(Devices.Variant.WITHOUT_FP64); }

    @AfterAll
    static void closeVariant() { closeVariants(); }

    @Test
    void float32AndIntegerKernelsBuildAndComputeWithoutFp64() {
        KernelBackend<cl_mem> be = withoutFp64();
        View x = upload(be, DType.FLOAT32, new double[] {-1, 0.5, 2}, 3);
        View y = be.allocateView(DType.FLOAT32, 3);
        be.unary(UnaryOp.GELU, 0, x, y);
        assertClose(new double[] {-0.15865525393145707, 0.34573123063700656, 1.9544997361036416}, download(be, y), 1e-6, "gelu");
        View ints = upload(be, DType.INT32, new double[] {4, 9}, 2), roots = be.allocateView(DType.INT32, 2);
        be.unary(UnaryOp.SQUARE, 0, ints, roots);
        assertArrayEquals(new double[] {16, 81}, download(be, roots));
        be.binaryScalar(BinaryOp.POW, ints, 2, false, roots);
        assertArrayEquals(new double[] {16, 81}, download(be, roots));
        View u = be.allocateView(DType.FLOAT32, 100);
        be.random(Distribution.NORMAL, 0, 1, 42, 0, u);
        double[] got = download(be, u);
        for (int i = 0; i < got.length; i++) assertEquals(Philox.sample(Distribution.NORMAL, 0, 1, 42, i), got[i], 1e-4, "normal " + i);
        // The SPI's default max pooling computes indices in float64; the device kernel needs no fp64.
        View img = upload(be, DType.FLOAT32, new double[] {1, 5, 2, 0, 3, 4, 9, 8, 7}, 1, 1, 3, 3);
        View pooled = be.allocateView(DType.FLOAT32, 1, 1, 2, 2), at = be.allocateView(DType.INT64, 1, 1, 2, 2);
        be.maxPool2d(img, new dev.kiln.backend.Pool2dSpec(2, 2, 1, 1, 0, 0, 1, 1, false), pooled, at);
        assertArrayEquals(new double[] {5, 5, 9, 8}, download(be, pooled));
        assertArrayEquals(new double[] {1, 1, 6, 7}, download(be, at));
        View f64 = be.allocateView(DType.FLOAT64, 3);
        be.fill(f64, 2.5);
        assertArrayEquals(new double[] {2.5, 2.5, 2.5}, download(be, f64), "raw moves work for float64 without fp64");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> be.copy(x, f64));
        assertTrue(e.getMessage().contains("cl_khr_fp64"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> be.unary(UnaryOp.EXP, 0, f64, f64));
    }
}
