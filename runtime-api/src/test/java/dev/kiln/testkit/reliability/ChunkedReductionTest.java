package dev.kiln.testkit.reliability;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.testkit.BackendTest;
import dev.kiln.testkit.TestDevice;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Sums that convert their input (bool and int32 accumulate in int64) convert a slice at a time, so summing a
 * huge mask costs no int64 copy of it (issue 14, finding 11); the answers are those of one pass.
 */
class ChunkedReductionTest {

    @BackendTest
    void boolSumsOverMoreThanOneConversionSliceAreExact(TestDevice device) {
        device.activate();
        int rows = 3, cols = 3_000_001; // 9M elements: several slices of 4M, split inside a row too
        try (Scope s = Scope.open()) {
            Tensor idx = Tensor.arange(0, (double) rows * cols, 1, DType.INT64, null).reshape(rows, cols);
            Tensor mask = idx.remainder(7).eq(0); // true at multiples of 7
            long[] perRow = new long[rows];
            long[] perCol3 = new long[3]; // the first three columns, summed over rows
            long total = 0;
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) {
                    if (((long) r * cols + c) % 7 != 0) continue;
                    perRow[r]++;
                    if (c < 3) perCol3[c]++;
                    total++;
                }
            assertEquals(DType.INT64, mask.sum().dtype());
            assertEquals(total, (long) mask.sum().item());
            assertArrayEquals(perRow, mask.sum(1).toLongArray());
            long[] perCol = mask.sum(0).toLongArray();
            assertEquals(cols, perCol.length);
            assertArrayEquals(perCol3, java.util.Arrays.copyOf(perCol, 3));
            assertEquals(total, java.util.Arrays.stream(perCol).sum());
            assertEquals(total, (long) mask.t().sum().item(), "a transposed (strided) mask");
            assertEquals(total, (long) mask.to(DType.INT32).sum().item(), "int32 sums in int64 the same way");
        }
    }
}
