package dev.kiln.opencl;

import dev.kiln.DType;
import dev.kiln.backend.View;
import dev.kiln.kernel.KernelBackend;
import org.jocl.cl_mem;
import org.junit.jupiter.api.Test;

import static dev.kiln.opencl.Devices.*;
import static org.junit.jupiter.api.Assertions.*;

/** checkIndex runs on the device and reports at the next synchronisation point, never at launch. */
class IndexCheckTest {

    @Test
    void aViolationIsReportedAtTheNextSynchronizeNotAtLaunch() {
        KernelBackend<cl_mem> be = backendOrSkip();
        View index = upload(be, DType.INT64, new double[] {0, 3, 7, 2, 9}, 5);
        be.checkIndex("gather", index, 5); // returns at once: nothing is read back here
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, be::synchronize);
        assertTrue(e.getMessage().matches("gather: index (7|9) is out of bounds for size 5"), e.getMessage());
        be.synchronize(); // reported once, then the word is clear
        be.release(index.buffer());
    }

    @Test
    void copyToHostReportsTheViolationAndNamesTheOpOfTheFailedCheck() {
        KernelBackend<cl_mem> be = backendOrSkip();
        View ok = upload(be, DType.INT32, new double[] {0, 1, 2}, 3);
        View negative = upload(be, DType.INT32, new double[] {1, -4, 1}, 3);
        be.checkIndex("index_select", ok, 3);
        be.checkIndex("one_hot", negative, 3);
        be.checkIndex("scatter_add", ok, 3);
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> download(be, ok));
        assertEquals("one_hot: index -4 is out of bounds for size 3", e.getMessage());
        assertArrayEquals(new double[] {0, 1, 2}, download(be, ok));
        be.release(ok.buffer());
        be.release(negative.buffer());
    }

    @Test
    void indicesInRangePassAlsoThroughStridedViews() {
        KernelBackend<cl_mem> be = backendOrSkip();
        // A 2x3 int64 matrix read transposed; every value in [0, 6), the padding column out of range but not viewed.
        View stored = upload(be, DType.INT64, new double[] {0, 5, 2, 99, 4, 1, 3, 99}, 2, 4);
        View columns = stored.withShape(new int[] {3, 2}, new long[] {1, 4}, 0);
        be.checkIndex("gather", columns, 6);
        be.synchronize();
        be.checkIndex("gather", columns, 5);
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, be::synchronize);
        assertEquals("gather: index 5 is out of bounds for size 5", e.getMessage());
        be.release(stored.buffer());
    }
}
