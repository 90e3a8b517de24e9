package dev.kiln.cpu.gemm;

import dev.kiln.DType;
import dev.kiln.backend.Buffer;
import dev.kiln.backend.View;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GEMM against a plain double-precision triple loop, over ragged sizes, strides, transposes and batches. */
class GemmTest {

    /** A strided m x n matrix inside a segment, filled with random values (or NaN for outputs). */
    private record Mat(MemorySegment data, DType dtype, long offset, long rowStride, long colStride, int rows, int cols) {
        static Mat create(Arena arena, DType t, int rows, int cols, boolean transposed, int pad, Random rnd) {
            return create(arena, t, rows, cols, transposed, 1, pad, rnd);
        }

        /** As above with {@code step} elements between neighbours along the dense axis: 2 for every second column (or row). */
        static Mat create(Arena arena, DType t, int rows, int cols, boolean transposed, int step, int pad, Random rnd) {
            long rs = transposed ? step : (long) cols * step + pad, cs = transposed ? (long) rows * step + pad : step;
            long elements = 3 + (transposed ? cols * cs : rows * rs);
            MemorySegment s = arena.allocate(elements * t.byteSize());
            Mat m = new Mat(s, t, 3, rs, cs, rows, cols);
            for (long i = 0; i < elements; i++) put(s, t, i, rnd == null ? Double.NaN : rnd.nextDouble() * 2 - 1);
            return m;
        }

        double get(int i, int j) { return read(data, dtype, offset + i * rowStride + j * colStride); }
    }

    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of(1, 1, 1), Arguments.of(1, 37, 5), Arguments.of(29, 1, 8), Arguments.of(13, 17, 19),
                Arguments.of(12, 32, 256), Arguments.of(37, 65, 300), Arguments.of(150, 70, 513),
                Arguments.of(5, 9, 0), Arguments.of(200, 190, 160), Arguments.of(20, 2000, 100), Arguments.of(7, 3, 1),
                // More rows than one packed block of A, split over threads by rows.
                Arguments.of(2400, 40, 30),
                // Few rows, several column and depth blocks: split over threads by columns.
                Arguments.of(30, 1536, 760),
                // Too many rows to read B in place, two column blocks: A is packed once for both; then also more
                // rows than one packed block.
                Arguments.of(400, 800, 200), Arguments.of(2400, 800, 30),
                // Deeper than one depth block, with more rows than one packed block of A at that depth.
                Arguments.of(1300, 9, 2100));
    }

    @ParameterizedTest(name = "{0}x{1}x{2}")
    @MethodSource("shapes")
    void matchesReferenceForEveryLayout(int m, int n, int k) {
        Random rnd = new Random(m * 31L + n * 7L + k);
        for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            // Layouts 8-15: A strided along both axes, as a slice of every second column makes it.
            for (int layout = 0; layout < 16; layout++) {
                boolean ta = (layout & 1) != 0, tb = (layout & 2) != 0, tc = (layout & 4) != 0;
                try (Arena arena = Arena.ofShared()) {
                    Mat a = Mat.create(arena, t, m, k, ta, (layout & 8) != 0 ? 2 : 1, layout, rnd);
                    Mat b = Mat.create(arena, t, k, n, tb, 1, rnd);
                    Mat c = Mat.create(arena, t, m, n, tc, 2, null);
                    Gemm.multiply(t, m, n, k, a.data, new long[] {a.offset}, a.rowStride, a.colStride,
                            b.data, new long[] {b.offset}, b.rowStride, b.colStride,
                            c.data, new long[] {c.offset}, c.rowStride, c.colStride);
                    assertProduct(a, b, c, t + " layout " + layout);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dtypes")
    void batchedViewsWithBroadcastBatchDims(DType t) {
        // a: [2, 3, m, k]; b: [k, n] broadcast over both batch dims (stride 0); out: [2, 3, m, n].
        int m = 21, n = 45, k = 33;
        Random rnd = new Random(7);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment as = filled(arena, t, 6L * m * k, rnd), bs = filled(arena, t, (long) k * n, rnd);
            MemorySegment os = arena.allocate(6L * m * n * t.byteSize());
            View a = View.contiguous(buffer(as), t, 2, 3, m, k);
            View b = new View(buffer(bs), t, new int[] {2, 3, k, n}, new long[] {0, 0, n, 1}, 0);
            View out = View.contiguous(buffer(os), t, 2, 3, m, n);
            Gemm.matmul(a, as, b, bs, out, os);
            for (int batch = 0; batch < 6; batch++) {
                Mat am = new Mat(as, t, (long) batch * m * k, k, 1, m, k);
                Mat bm = new Mat(bs, t, 0, n, 1, k, n);
                Mat cm = new Mat(os, t, (long) batch * m * n, n, 1, m, n);
                assertProduct(am, bm, cm, "batch " + batch);
            }
        }
    }

    static Stream<DType> dtypes() { return Stream.of(DType.FLOAT32, DType.FLOAT64); }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dtypes")
    void largeProductSplitAcrossThreadsMatches(DType t) {
        int m = 300, n = 257, k = 290;
        Random rnd = new Random(11);
        try (Arena arena = Arena.ofShared()) {
            Mat a = Mat.create(arena, t, m, k, false, 0, rnd), b = Mat.create(arena, t, k, n, false, 0, rnd);
            Mat c = Mat.create(arena, t, m, n, false, 0, null);
            // Also split along rows: a tall product.
            Gemm.multiply(t, m, n, k, a.data, new long[] {a.offset}, a.rowStride, a.colStride,
                    b.data, new long[] {b.offset}, b.rowStride, b.colStride, c.data, new long[] {c.offset}, c.rowStride, c.colStride);
            assertProduct(a, b, c, "large");
        }
    }

    @ParameterizedTest(name = "{0} batch {1}")
    @MethodSource("batches")
    void batchesMatchWhetherSplitPerMatrixOrWithinEach(DType t, int batch) {
        // Each product is large enough to be split, so a few matrices run in turn, each split over the
        // threads, and many run one matrix per task.
        int m = 230, n = 200, k = 190;
        Random rnd = new Random(batch);
        try (Arena arena = Arena.ofShared()) {
            Mat[] as = new Mat[batch], bs = new Mat[batch], cs = new Mat[batch];
            MemorySegment a = filled(arena, t, (long) batch * m * k, rnd), b = filled(arena, t, (long) batch * k * n, rnd);
            MemorySegment c = arena.allocate((long) batch * m * n * t.byteSize());
            long[] ao = new long[batch], bo = new long[batch], co = new long[batch];
            for (int i = 0; i < batch; i++) {
                ao[i] = (long) i * m * k;
                bo[i] = (long) (batch - 1 - i) * k * n;
                co[i] = (long) i * m * n;
                as[i] = new Mat(a, t, ao[i], k, 1, m, k);
                bs[i] = new Mat(b, t, bo[i], n, 1, k, n);
                cs[i] = new Mat(c, t, co[i], n, 1, m, n);
            }
            Gemm.multiply(t, m, n, k, a, ao, k, 1, b, bo, n, 1, c, co, n, 1);
            for (int i = 0; i < batch; i++) assertProduct(as[i], bs[i], cs[i], "batch " + i + " of " + batch);
        }
    }

    static Stream<Arguments> batches() {
        return Stream.of(DType.FLOAT32, DType.FLOAT64).flatMap(t -> Stream.of(Arguments.of(t, 2), Arguments.of(t, 9)));
    }

    @ParameterizedTest(name = "{0}x{1}x{2}")
    @MethodSource("shapes")
    void aPackedAheadGivesTheSameBitsAsAPackedPerProduct(int m, int n, int k) {
        Random rnd = new Random(m * 13L + n * 5L + k);
        for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            for (int layout = 0; layout < 4; layout++) {
                boolean ta = (layout & 1) != 0, tb = (layout & 2) != 0;
                try (Arena arena = Arena.ofShared()) {
                    Mat a = Mat.create(arena, t, m, k, ta, layout, rnd), b = Mat.create(arena, t, k, n, tb, 1, rnd);
                    Mat c = Mat.create(arena, t, m, n, false, 2, null), packed = Mat.create(arena, t, m, n, false, 2, null);
                    Gemm.multiply(t, m, n, k, a.data, new long[] {a.offset}, a.rowStride, a.colStride,
                            b.data, new long[] {b.offset}, b.rowStride, b.colStride, c.data, new long[] {c.offset}, c.rowStride, c.colStride);
                    Gemm.PackedA ahead = Gemm.pack(t, m, k, a.data, a.offset, a.rowStride, a.colStride);
                    Gemm.multiply(ahead, n, b.data, b.offset, b.rowStride, b.colStride, packed.data, packed.offset, packed.rowStride, packed.colStride);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                            assertEquals(c.get(i, j), packed.get(i, j), t + " layout " + layout + " at (" + i + ", " + j + ")");
                }
            }
        }
    }

    /**
     * An A its producer wrote in panel layout ({@link Gemm#packed}, past a few elements that are not its own), added into
     * a C that already holds values ({@link Gemm#multiplyAdd}); and matrices packed together ({@link Gemm#packEach}),
     * each multiplied on its own. Winograd's weight gradient relies on all three.
     */
    @ParameterizedTest(name = "{0}x{1}x{2}")
    @MethodSource("shapes")
    void panelsWrittenByTheProducerAddIntoC(int m, int n, int k) {
        Random rnd = new Random(m * 7L + n * 11L + k);
        int mr = Gemm.panelHeight(DType.FLOAT32), base = 5;
        for (boolean tb : new boolean[] {false, true}) {
            try (Arena arena = Arena.ofShared()) {
                Mat a = Mat.create(arena, DType.FLOAT32, m, k, false, 0, rnd), b = Mat.create(arena, DType.FLOAT32, k, n, tb, 1, rnd);
                Mat c = Mat.create(arena, DType.FLOAT32, m, n, false, 2, rnd);
                float[] panels = new float[base + Math.ceilDiv(Math.max(m, 1), mr) * mr * Math.max(k, 1)];
                java.util.Arrays.fill(panels, 0, base, Float.NaN);
                for (int i = 0; i < m; i++)
                    for (int p = 0; p < k; p++) panels[base + i / mr * mr * k + p * mr + i % mr] = (float) a.get(i, p);
                double[] before = new double[m * n];
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) before[i * n + j] = c.get(i, j);
                Gemm.multiplyAdd(Gemm.packed(panels, base, m, k), n, b.data, b.offset, b.rowStride, b.colStride, c.data, c.offset, c.rowStride, c.colStride);
                double tol = 2e-6 * Math.max(1, k);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double ref = before[i * n + j];
                        for (int p = 0; p < k; p++) ref += a.get(i, p) * b.get(p, j);
                        assertEquals(ref, c.get(i, j), tol, "B transposed " + tb + " at (" + i + ", " + j + ")");
                    }

                Mat pair = Mat.create(arena, DType.FLOAT32, 2 * m, k, false, 0, rnd), out = Mat.create(arena, DType.FLOAT32, m, n, false, 2, null);
                Mat lower = new Mat(pair.data, DType.FLOAT32, pair.offset + m * pair.rowStride, pair.rowStride, pair.colStride, m, k);
                Gemm.PackedA[] both = Gemm.packEach(DType.FLOAT32, m, k, pair.data, new long[] {pair.offset, lower.offset}, pair.rowStride, pair.colStride);
                Gemm.multiply(both[1], n, b.data, b.offset, b.rowStride, b.colStride, out.data, out.offset, out.rowStride, out.colStride);
                assertProduct(lower, b, out, "the second of two packed together, B transposed " + tb);
            }
        }
    }

    static Stream<Arguments> rowCountsAroundInPlaceLimit() {
        return Stream.of(DType.FLOAT32, DType.FLOAT64).flatMap(t -> {
            int limit = Gemm.inPlaceMaxRows(t);
            return Stream.of(1, limit - 1, limit, limit + 1).map(m -> Arguments.of(t, m));
        });
    }

    @ParameterizedTest(name = "{0} m={1}")
    @MethodSource("rowCountsAroundInPlaceLimit")
    void rowMajorBSliceOfWiderMatrixMatchesAroundInPlaceLimit(DType t, int m) {
        // B is the right-hand k x n part of a k x ldb matrix that ends where its segment does, so a vector load
        // past B's last column would fail; n is no multiple of the vector length, and k spans two depth blocks.
        int n = 75, k = 400, ldb = n + 6;
        Random rnd = new Random(m);
        try (Arena arena = Arena.ofShared()) {
            Mat a = Mat.create(arena, t, m, k, false, 0, rnd);
            Mat b = new Mat(filled(arena, t, (long) k * ldb, rnd), t, ldb - n, ldb, 1, k, n);
            Mat c = Mat.create(arena, t, m, n, false, 0, null);
            Gemm.multiply(t, m, n, k, a.data, new long[] {a.offset}, a.rowStride, a.colStride,
                    b.data, new long[] {b.offset}, b.rowStride, b.colStride, c.data, new long[] {c.offset}, c.rowStride, c.colStride);
            assertProduct(a, b, c, "ldb " + ldb);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dtypes")
    void manySmallProductsSharingOneBMatch(DType t) {
        // One matrix per task, each reading the same row-major B in place.
        int batch = 9, m = 32, n = 75, k = 300;
        Random rnd = new Random(5);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment a = filled(arena, t, (long) batch * m * k, rnd), b = filled(arena, t, (long) k * n, rnd);
            MemorySegment c = arena.allocate((long) batch * m * n * t.byteSize());
            long[] ao = new long[batch], bo = new long[batch], co = new long[batch];
            for (int i = 0; i < batch; i++) {
                ao[i] = (long) i * m * k;
                co[i] = (long) i * m * n;
            }
            Gemm.multiply(t, m, n, k, a, ao, k, 1, b, bo, n, 1, c, co, n, 1);
            for (int i = 0; i < batch; i++) {
                assertProduct(new Mat(a, t, ao[i], k, 1, m, k), new Mat(b, t, 0, n, 1, k, n),
                        new Mat(c, t, co[i], n, 1, m, n), "batch " + i + " of " + batch);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void rejectsIntegerTypesByName() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Gemm.multiply(DType.INT32, 1, 1, 1,
                MemorySegment.NULL, new long[] {0}, 1, 1, MemorySegment.NULL, new long[] {0}, 1, 1, MemorySegment.NULL, new long[] {0}, 1, 1));
        assertTrue(e.getMessage().contains("int32"), e.getMessage());
    }

    private static void assertProduct(Mat a, Mat b, Mat c, String what) {
        int m = a.rows, k = a.cols, n = b.cols;
        double tol = (c.dtype == DType.FLOAT32 ? 2e-6 : 1e-14) * Math.max(1, k);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double ref = 0;
                for (int p = 0; p < k; p++) ref += a.get(i, p) * b.get(p, j);
                double got = c.get(i, j);
                if (!(Math.abs(got - ref) <= tol))
                    assertEquals(ref, got, tol, what + " " + m + "x" + n + "x" + k + " at (" + i + ", " + j + ")");
            }
        }
    }

    private static MemorySegment filled(Arena arena, DType t, long n, Random rnd) {
        MemorySegment s = arena.allocate(n * t.byteSize());
        for (long i = 0; i < n; i++) put(s, t, i, rnd.nextDouble() * 2 - 1);
        return s;
    }

    private static Buffer buffer(MemorySegment s) { return s::byteSize; }

    private static void put(MemorySegment s, DType t, long i, double v) {
        if (t == DType.FLOAT32) s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) v);
        else s.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, v);
    }

    private static double read(MemorySegment s, DType t, long i) {
        return t == DType.FLOAT32 ? s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i) : s.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
    }
}
