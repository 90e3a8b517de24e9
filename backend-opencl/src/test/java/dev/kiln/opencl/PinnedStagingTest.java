package dev.kiln.opencl;

import dev.kiln.DType;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.View;
import dev.kiln.kernel.KernelBackend;
import org.jocl.cl_mem;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static dev.kiln.opencl.Devices.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Uploads through the page-locked staging ring, which discrete GPUs get, forced on here: they return before they
 * ran, many share a slot, large ones span several slots, and kernels queued after them read what was uploaded.
 */
class PinnedStagingTest {

    @Test
    void uploadsThroughStagingArriveIntactAndInOrderWithKernels() {
        KernelBackend<cl_mem> be = new KernelBackend<>(new OpenClRuntime(ClDevice.discover().get(backendOrSkip().device().index()), false, true));
        try {
            SplittableRandom r = new SplittableRandom(3);
            // Small ones share a slot; 3M floats (12 MB) spans two of the 8 MiB slots.
            for (int n : new int[] {1, 7, 1000, 100_000, 3_000_000, 5}) {
                float[] a = new float[n], b = new float[n];
                for (int i = 0; i < n; i++) {
                    a[i] = (float) r.nextGaussian();
                    b[i] = (float) r.nextGaussian();
                }
                float[] expected = new float[n];
                for (int i = 0; i < n; i++) expected[i] = a[i] + b[i];
                View x = be.allocateView(DType.FLOAT32, n), y = be.allocateView(DType.FLOAT32, n), sum = be.allocateView(DType.FLOAT32, n);
                be.copyFromHost(MemorySegment.ofArray(a), x.buffer(), 0);
                be.copyFromHost(MemorySegment.ofArray(b), y.buffer(), 0);
                java.util.Arrays.fill(a, Float.NaN); // the caller's arrays are free once the uploads returned
                java.util.Arrays.fill(b, Float.NaN);
                be.binary(BinaryOp.ADD, x, y, sum);
                float[] got = new float[n];
                be.copyToHost(sum.buffer(), 0, MemorySegment.ofArray(got));
                assertArrayEquals(expected, got, "sum of " + n + " uploaded pairs");
                for (View v : new View[] {x, y, sum}) be.release(v.buffer());
            }
        } finally {
            be.close();
        }
    }
}
