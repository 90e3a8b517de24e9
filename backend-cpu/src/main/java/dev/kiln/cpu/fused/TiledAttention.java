package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.AttentionSpec;
import dev.kiln.backend.View;
import dev.kiln.cpu.simd.FloatMath;
import dev.kiln.cpu.simd.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.function.Function;

import static dev.kiln.cpu.simd.NativeSegments.typed;

/**
 * Scaled dot-product attention in float32 without the (Sq x Sk) score matrix (the FlashAttention scheme, on the
 * CPU's caches instead of a GPU's shared memory). One task packs a head's queries (times the scale), keys and values
 * into arrays once; then for each tile of {@link #QUERY_TILE} queries it walks the keys in tiles of
 * {@link #KEY_TILE}, holding that tile's scores in L1: bias and causal masking are applied there, the softmax is
 * kept online (a running row maximum and sum, the output rescaled when the maximum grows), and keys a causal tile
 * cannot see are never visited. The backward pass recomputes each score tile from the row log-sum-exp the forward
 * pass kept, so it too holds only tiles, and accumulates the key and value gradients of a head in the same task
 * (no atomics, no reduction across threads).
 *
 * <p>Every product is one register-blocked micro-kernel, {@code C += A B} with A read as broadcast scalars and B
 * and C as rows of vectors; matrices are packed (and transposed where a product needs it) so that each product
 * has that form.
 */
public final class TiledAttention {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    /** Query rows whose score tile, output rows and statistics stay in L1 together. */
    private static final int QUERY_TILE = 32;
    /** Keys per score tile: a 32 x 64 tile is 8 KiB. */
    private static final int KEY_TILE = 64;
    /** Multiply-adds below which one thread does all heads (about the cost of waking a worker, several times over). */
    private static final long PARALLEL_WORK = 1L << 18;
    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

    private TiledAttention() {}

    /** Whether every view is float32 (the vectorised kernel); other dtypes take the composed default. */
    public static boolean handles(View... views) {
        for (View v : views) if (v != null && v.dtype() != DType.FLOAT32) return false;
        return true;
    }

    /** See {@link dev.kiln.backend.Backend#attention}. */
    public static void forward(Function<View, MemorySegment> memory, View q, View k, View v, View bias, AttentionSpec spec,
                               View out, View logSumExp) {
        Geometry g = new Geometry(q, k, v);
        int heads = g.batch * g.heads, queryTiles = Math.ceilDiv(g.queries, QUERY_TILE);
        // Enough tasks to keep every thread busy; a head split into query chunks packs its keys once per chunk.
        int chunks = Math.min(queryTiles, Math.max(1, Math.ceilDiv(2 * WorkerPool.shared().parallelism(), heads)));
        int tilesPerChunk = Math.ceilDiv(queryTiles, chunks);
        int tasks = g.work() < PARALLEL_WORK ? 1 : heads * chunks;
        Operands in = new Operands(memory, q, k, v, bias);
        MemorySegment outs = typed(memory.apply(out)), lses = memory.apply(logSumExp);
        WorkerPool.shared().run(tasks, task -> {
            for (int t = task; t < heads * chunks; t += tasks) {
                int head = t / chunks, firstTile = t % chunks * tilesPerChunk;
                int i0 = firstTile * QUERY_TILE, i1 = Math.min(g.queries, (firstTile + tilesPerChunk) * QUERY_TILE);
                if (i0 < i1) forwardHead(g, in, spec, head, i0, i1, out, outs, logSumExp, lses, WORKSPACE.get());
            }
        });
    }

    /** See {@link dev.kiln.backend.Backend#attentionBackward}. */
    public static void backward(Function<View, MemorySegment> memory, View gradOut, View q, View k, View v, View bias,
                                AttentionSpec spec, View out, View logSumExp, View gradQ, View gradK, View gradV) {
        Geometry g = new Geometry(q, k, v);
        int heads = g.batch * g.heads;
        int tasks = g.work() < PARALLEL_WORK ? 1 : heads;
        Operands in = new Operands(memory, q, k, v, bias);
        MemorySegment gos = memory.apply(gradOut), outs = memory.apply(out), lses = memory.apply(logSumExp);
        WorkerPool.shared().run(tasks, task -> {
            for (int head = task; head < heads; head += tasks)
                backwardHead(g, in, spec, head, gradOut, gos, out, outs, logSumExp, lses, gradQ, gradK, gradV, memory, WORKSPACE.get());
        });
    }

    // ---- one head ------------------------------------------------------------------------------------------

    private static void forwardHead(Geometry g, Operands in, AttentionSpec spec, int head, int i0, int i1,
                                    View out, MemorySegment outs, View logSumExp, MemorySegment lses, Workspace w) {
        int keyEnd = spec.visibleKeys(i1 - 1, g.keys);
        w.reserve(g, Math.max(keyEnd, 1), false);
        packQueries(g, in, spec, head, i0, i1, w);
        pack(in.ks, in.base(in.k, head), in.k.strides()[2], in.k.strides()[3], keyEnd, g.dim, w.kt, 1, w.keyStride, 1);
        pack(in.vs, in.base(in.v, head), in.v.strides()[2], in.v.strides()[3], keyEnd, g.valueDim, w.v, g.valuePadded, 1, 1);
        float[] s = w.scores, acc = w.acc, m = w.rowMax, mNew = w.newRowMax, alpha = w.rescaling, sums = w.rowSums;
        for (int r0 = i0; r0 < i1; r0 += QUERY_TILE) {
            int rows = Math.min(QUERY_TILE, i1 - r0), tileEnd = spec.visibleKeys(r0 + rows - 1, g.keys);
            Arrays.fill(acc, 0, rows * g.valuePadded, 0);
            Arrays.fill(m, Float.NEGATIVE_INFINITY);
            Arrays.fill(sums, 0, rows * L, 0);
            for (int k0 = 0; k0 < tileEnd; k0 += KEY_TILE) {
                int cols = Math.min(KEY_TILE, tileEnd - k0);
                scores(g, in, spec, head, w, r0 - i0, r0, rows, k0, cols);
                int width = roundUp(cols);
                for (int r = 0; r < rows; r++) mNew[r] = Math.max(m[r], rowMax(s, r * KEY_TILE, width));
                rescale(m, mNew, alpha);
                for (int r = 0; r < rows; r++) {
                    int at = r * KEY_TILE;
                    if (m[r] == Float.NEGATIVE_INFINITY) {
                        Arrays.fill(s, at, at + width, 0);
                        continue;
                    }
                    expInPlace(s, at, width, m[r], sums, r * L, alpha[r]);
                    if (alpha[r] != 1) scale(acc, r * g.valuePadded, g.valuePadded, alpha[r]);
                }
                mulAdd(s, 0, KEY_TILE, w.v, k0 * g.valuePadded, g.valuePadded, acc, 0, g.valuePadded, rows, cols, g.valuePadded);
            }
            long[] os = out.strides(), ls = logSumExp.strides();
            long outBase = out.offset() + g.headOffset(os, head), lseBase = logSumExp.offset() + g.headOffset(ls, head);
            for (int r = 0; r < rows; r++) {
                // The row's sum, its lanes added in lane order: reduceLanes(ADD) adds them in an order that differs
                // between the interpreter and C2, so the bits depended on when the JIT got here.
                float l = 0;
                for (int i = 0; i < L; i++) l += sums[r * L + i];
                boolean blind = l == 0;
                float inv = blind ? 0 : 1 / l;
                long o = outBase + (r0 + r) * os[2];
                int c = 0;
                for (; os[3] == 1 && c <= g.valueDim - L; c += L)
                    FloatVector.fromArray(S, acc, r * g.valuePadded + c).mul(inv).intoMemorySegment(outs, (o + c) * Float.BYTES, ORDER);
                for (; c < g.valueDim; c++) outs.setAtIndex(F32, o + c * os[3], acc[r * g.valuePadded + c] * inv);
                lses.setAtIndex(F32, lseBase + (r0 + r) * ls[2], blind ? Float.POSITIVE_INFINITY : m[r] + (float) Math.log(l));
            }
        }
    }

    private static void backwardHead(Geometry g, Operands in, AttentionSpec spec, int head, View gradOut, MemorySegment gos,
                                     View out, MemorySegment outs, View logSumExp, MemorySegment lses,
                                     View gradQ, View gradK, View gradV, Function<View, MemorySegment> memory, Workspace w) {
        int keyEnd = spec.visibleKeys(g.queries - 1, g.keys);
        w.reserve(g, g.keys, true);
        int dp = g.dimPadded, vp = g.valuePadded;
        packQueries(g, in, spec, head, 0, g.queries, w);
        long kb = in.base(in.k, head), vb = in.base(in.v, head);
        long[] kst = in.k.strides(), vst = in.v.strides();
        pack(in.ks, kb, kst[2], kst[3], keyEnd, g.dim, w.kt, 1, w.keyStride, 1);
        pack(in.ks, kb, kst[2], kst[3], keyEnd, g.dim, w.k, dp, 1, 1);
        pack(in.vs, vb, vst[2], vst[3], keyEnd, g.valueDim, w.vt, 1, w.keyStride, 1);
        long[] gst = gradOut.strides();
        pack(gos, gradOut.offset() + g.headOffset(gst, head), gst[2], gst[3], g.queries, g.valueDim, w.gradOut, vp, 1, 1);
        long[] ost = out.strides(), lst = logSumExp.strides();
        long ob = out.offset() + g.headOffset(ost, head), lb = logSumExp.offset() + g.headOffset(lst, head);
        for (int i = 0; i < g.queries; i++) {
            float dot = 0;
            for (int c = 0; c < g.valueDim; c++) dot += w.gradOut[i * vp + c] * outs.getAtIndex(F32, ob + i * ost[2] + c * ost[3]);
            w.rowDot[i] = dot;
            w.lse[i] = lses.getAtIndex(F32, lb + i * lst[2]);
        }
        Arrays.fill(w.gradQ, 0, g.queries * dp, 0);
        Arrays.fill(w.gradK, 0, g.keys * dp, 0);
        Arrays.fill(w.gradV, 0, g.keys * vp, 0);
        float[] p = w.scores, dS = w.dScores, t = w.transposed;
        for (int r0 = 0; r0 < g.queries; r0 += QUERY_TILE) {
            int rows = Math.min(QUERY_TILE, g.queries - r0), tileEnd = spec.visibleKeys(r0 + rows - 1, g.keys);
            for (int k0 = 0; k0 < tileEnd; k0 += KEY_TILE) {
                int cols = Math.min(KEY_TILE, tileEnd - k0), width = roundUp(cols);
                scores(g, in, spec, head, w, r0, r0, rows, k0, cols);
                for (int r = 0; r < rows; r++) expInPlace(p, r * KEY_TILE, width, w.lse[r0 + r], null, 0, 1);
                // dV += P^T dO
                transpose(p, rows, cols, t);
                mulAdd(t, 0, QUERY_TILE, w.gradOut, r0 * vp, vp, w.gradV, k0 * vp, vp, cols, rows, vp);
                // dS = P * (dO V^T - rowDot)
                Arrays.fill(dS, 0, rows * KEY_TILE, 0);
                mulAdd(w.gradOut, r0 * vp, vp, w.vt, k0, w.keyStride, dS, 0, KEY_TILE, rows, g.valueDim, width);
                for (int r = 0; r < rows; r++) softmaxGradient(p, dS, r * KEY_TILE, width, w.rowDot[r0 + r]);
                // dQ += dS K (times the scale below); dK += dS^T (scale Q)
                mulAdd(dS, 0, KEY_TILE, w.k, k0 * dp, dp, w.gradQ, r0 * dp, dp, rows, cols, dp);
                transpose(dS, rows, cols, t);
                mulAdd(t, 0, QUERY_TILE, w.queries, r0 * dp, dp, w.gradK, k0 * dp, dp, cols, rows, dp);
            }
        }
        if (gradQ != null) unpack(w.gradQ, dp, (float) spec.scale(), g, head, g.queries, g.dim, gradQ, memory.apply(gradQ));
        if (gradK != null) unpack(w.gradK, dp, 1, g, head, g.keys, g.dim, gradK, memory.apply(gradK));
        if (gradV != null) unpack(w.gradV, vp, 1, g, head, g.keys, g.valueDim, gradV, memory.apply(gradV));
    }

    /**
     * Scores of queries {@code i0 .. i0+rows} (packed from row {@code packedRow}) against keys {@code k0 .. k0+cols}
     * into the score tile, rows {@link #KEY_TILE} apart: the product, the bias, and -inf on hidden keys and on the
     * padding up to a whole vector.
     */
    private static void scores(Geometry g, Operands in, AttentionSpec spec, int head, Workspace w, int packedRow, int i0, int rows, int k0, int cols) {
        float[] s = w.scores;
        int width = roundUp(cols);
        Arrays.fill(s, 0, rows * KEY_TILE, 0);
        mulAdd(w.queries, packedRow * g.dimPadded, g.dimPadded, w.kt, k0, w.keyStride, s, 0, KEY_TILE, rows, g.dim, width);
        long[] bst = in.bias == null ? null : in.bias.strides();
        long bb = in.bias == null ? 0 : in.base(in.bias, head);
        for (int r = 0; r < rows; r++) {
            int at = r * KEY_TILE, visible = Math.clamp(spec.visibleKeys(i0 + r, g.keys) - k0, 0, cols);
            if (bst != null) {
                long rowAt = bb + (i0 + r) * bst[2] + k0 * bst[3];
                for (int j = 0; j < visible; j++) s[at + j] += in.biases.getAtIndex(F32, rowAt + j * bst[3]);
            }
            Arrays.fill(s, at + visible, at + width, Float.NEGATIVE_INFINITY);
        }
    }

    /** Queries i0..i1 of a head, times the scale, as rows of the padded head size. */
    private static void packQueries(Geometry g, Operands in, AttentionSpec spec, int head, int i0, int i1, Workspace w) {
        long[] st = in.q.strides();
        pack(in.qs, in.base(in.q, head) + i0 * st[2], st[2], st[3], i1 - i0, g.dim, w.queries, g.dimPadded, 1, (float) spec.scale());
    }

    // ---- vector loops ----------------------------------------------------------------------------------------

    /**
     * {@code C[m x n] += A[m x k] B[k x n]}, rows of A {@code lda} apart, of B {@code ldb}, of C {@code ldc};
     * n a multiple of the vector length. Blocks of 4 rows by 2 vectors keep eight accumulators in registers.
     */
    static void mulAdd(float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, int m, int k, int n) {
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            int j = 0;
            for (; j + 2 * L <= n; j += 2 * L) block4x2(a, aOff + i * lda, lda, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc, k);
            for (; j < n; j += L) {
                for (int r = 0; r < 4; r++) row1x1(a, aOff + (i + r) * lda, b, bOff + j, ldb, c, cOff + (i + r) * ldc + j, k);
            }
        }
        for (; i < m; i++) {
            for (int j = 0; j < n; j += L) row1x1(a, aOff + i * lda, b, bOff + j, ldb, c, cOff + i * ldc + j, k);
        }
    }

    private static void block4x2(float[] a, int a0, int lda, float[] b, int b0, int ldb, float[] c, int c0, int ldc, int k) {
        FloatVector c00 = FloatVector.fromArray(S, c, c0), c01 = FloatVector.fromArray(S, c, c0 + L);
        FloatVector c10 = FloatVector.fromArray(S, c, c0 + ldc), c11 = FloatVector.fromArray(S, c, c0 + ldc + L);
        FloatVector c20 = FloatVector.fromArray(S, c, c0 + 2 * ldc), c21 = FloatVector.fromArray(S, c, c0 + 2 * ldc + L);
        FloatVector c30 = FloatVector.fromArray(S, c, c0 + 3 * ldc), c31 = FloatVector.fromArray(S, c, c0 + 3 * ldc + L);
        for (int p = 0; p < k; p++) {
            int bp = b0 + p * ldb;
            FloatVector b0v = FloatVector.fromArray(S, b, bp), b1v = FloatVector.fromArray(S, b, bp + L);
            FloatVector x = FloatVector.broadcast(S, a[a0 + p]);
            c00 = x.fma(b0v, c00);
            c01 = x.fma(b1v, c01);
            x = FloatVector.broadcast(S, a[a0 + lda + p]);
            c10 = x.fma(b0v, c10);
            c11 = x.fma(b1v, c11);
            x = FloatVector.broadcast(S, a[a0 + 2 * lda + p]);
            c20 = x.fma(b0v, c20);
            c21 = x.fma(b1v, c21);
            x = FloatVector.broadcast(S, a[a0 + 3 * lda + p]);
            c30 = x.fma(b0v, c30);
            c31 = x.fma(b1v, c31);
        }
        c00.intoArray(c, c0);
        c01.intoArray(c, c0 + L);
        c10.intoArray(c, c0 + ldc);
        c11.intoArray(c, c0 + ldc + L);
        c20.intoArray(c, c0 + 2 * ldc);
        c21.intoArray(c, c0 + 2 * ldc + L);
        c30.intoArray(c, c0 + 3 * ldc);
        c31.intoArray(c, c0 + 3 * ldc + L);
    }

    private static void row1x1(float[] a, int a0, float[] b, int b0, int ldb, float[] c, int c0, int k) {
        FloatVector acc = FloatVector.fromArray(S, c, c0);
        for (int p = 0; p < k; p++) acc = FloatVector.broadcast(S, a[a0 + p]).fma(FloatVector.fromArray(S, b, b0 + p * ldb), acc);
        acc.intoArray(c, c0);
    }

    private static float rowMax(float[] s, int at, int width) {
        FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < width; j += L) m = m.max(FloatVector.fromArray(S, s, at + j));
        return m.reduceLanes(VectorOperators.MAX);
    }

    /**
     * {@code s = exp(s - shift)} over {@code width} entries; with {@code sums}, the row's vector of partial sums there
     * (from {@code sumAt}) becomes {@code sums * alpha} plus the new entries, lane by lane. The forward pass adds a
     * row's lanes once per query tile: added per key tile, with the running maximum's factor taken by a scalar
     * {@code Math.exp}, the softmax's bookkeeping took 3.5 times as long as its exponentials.
     */
    private static void expInPlace(float[] s, int at, int width, float shift, float[] sums, int sumAt, float alpha) {
        FloatVector sh = FloatVector.broadcast(S, shift), sum = FloatVector.zero(S);
        for (int j = 0; j < width; j += L) {
            FloatVector e = FloatMath.exp(FloatVector.fromArray(S, s, at + j).sub(sh));
            e.intoArray(s, at + j);
            sum = sum.add(e);
        }
        if (sums != null) FloatVector.fromArray(S, sums, sumAt).mul(alpha).add(sum).intoArray(sums, sumAt);
    }

    /**
     * The running maxima of a query tile's rows move from m to mNew: {@code alpha = e^(m - mNew)}, the factor for what
     * the rows hold so far, for every row at once (NaN for a row still without a visible key, which is skipped).
     */
    private static void rescale(float[] m, float[] mNew, float[] alpha) {
        for (int r = 0; r < QUERY_TILE; r += L) {
            FloatVector next = FloatVector.fromArray(S, mNew, r);
            FloatMath.exp(FloatVector.fromArray(S, m, r).sub(next)).intoArray(alpha, r);
            next.intoArray(m, r);
        }
    }

    private static void scale(float[] x, int at, int width, float f) {
        FloatVector fv = FloatVector.broadcast(S, f);
        for (int j = 0; j < width; j += L) FloatVector.fromArray(S, x, at + j).mul(fv).intoArray(x, at + j);
    }

    /** {@code dS = P * (dP - rowDot)} on one row, in the dP array. */
    private static void softmaxGradient(float[] p, float[] dS, int at, int width, float rowDot) {
        FloatVector d = FloatVector.broadcast(S, rowDot);
        for (int j = 0; j < width; j += L)
            FloatVector.fromArray(S, p, at + j).mul(FloatVector.fromArray(S, dS, at + j).sub(d)).intoArray(dS, at + j);
    }

    /** A rows x cols tile (rows {@link #KEY_TILE} apart) into cols x rows (rows {@link #QUERY_TILE} apart). */
    private static void transpose(float[] tile, int rows, int cols, float[] t) {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * QUERY_TILE + r] = tile[r * KEY_TILE + c];
    }

    // ---- packing ---------------------------------------------------------------------------------------------

    /**
     * {@code dst[r * dstRow + c * dstCol] = src[base + r * rowStride + c * colStride] * factor} for a rows x cols
     * block; rows that are dense on both sides move as block copies.
     */
    private static void pack(MemorySegment src, long base, long rowStride, long colStride, int rows, int cols,
                             float[] dst, int dstRow, int dstCol, float factor) {
        for (int r = 0; r < rows; r++) {
            long from = base + r * rowStride;
            int to = r * dstRow;
            if (colStride == 1 && dstCol == 1) {
                MemorySegment.copy(src, F32, from * Float.BYTES, dst, to, cols);
                if (factor != 1) for (int c = 0; c < cols; c++) dst[to + c] *= factor;
            } else {
                for (int c = 0; c < cols; c++) dst[to + c * dstCol] = src.getAtIndex(F32, from + c * colStride) * factor;
            }
        }
    }

    /** A head's gradient from its padded rows into the view, times {@code factor}. */
    private static void unpack(float[] src, int srcRow, float factor, Geometry g, int head, int rows, int cols, View dst, MemorySegment ds) {
        long[] st = dst.strides();
        long base = dst.offset() + g.headOffset(st, head);
        for (int r = 0; r < rows; r++) {
            long to = base + r * st[2];
            if (st[3] == 1 && factor == 1) {
                MemorySegment.copy(src, r * srcRow, ds, F32, to * Float.BYTES, cols);
            } else {
                for (int c = 0; c < cols; c++) ds.setAtIndex(F32, to + c * st[3], src[r * srcRow + c] * factor);
            }
        }
    }

    private static int roundUp(int n) { return Math.ceilDiv(n, L) * L; }

    // ---- shapes and buffers ----------------------------------------------------------------------------------

    private record Geometry(int batch, int heads, int queries, int keys, int dim, int valueDim, int dimPadded, int valuePadded) {
        Geometry(View q, View k, View v) {
            this(q.shape()[0], q.shape()[1], q.shape()[2], k.shape()[2], q.shape()[3], v.shape()[3],
                    roundUp(q.shape()[3]), roundUp(v.shape()[3]));
        }

        /** Element offset of head {@code head} (batch-major) in a view with these strides. */
        long headOffset(long[] strides, int head) {
            return (head / heads) * strides[0] + (head % heads) * strides[1];
        }

        long work() { return (long) batch * heads * queries * keys * (dim + valueDim); }
    }

    private record Operands(View q, MemorySegment qs, View k, MemorySegment ks, View v, MemorySegment vs, View bias, MemorySegment biases,
                            Geometry g) {
        Operands(Function<View, MemorySegment> memory, View q, View k, View v, View bias) {
            this(q, memory.apply(q), k, memory.apply(k), v, memory.apply(v), bias, bias == null ? null : memory.apply(bias), new Geometry(q, k, v));
        }

        long base(View x, int head) { return x.offset() + g.headOffset(x.strides(), head); }
    }

    /** One thread's packed operands and tiles, grown to the largest head it has seen. */
    private static final class Workspace {
        float[] queries = new float[0], kt = new float[0], k = new float[0], v = new float[0], vt = new float[0], gradOut = new float[0];
        float[] gradQ = new float[0], gradK = new float[0], gradV = new float[0];
        float[] acc = new float[0], rowDot = new float[0], lse = new float[0];
        /** A query tile's running row maxima, their next values, and the factors between them. */
        final float[] rowMax = new float[QUERY_TILE], newRowMax = new float[QUERY_TILE], rescaling = new float[QUERY_TILE];
        /** A query tile's row sums by lanes, L per row. */
        final float[] rowSums = new float[QUERY_TILE * L];
        final float[] scores = new float[QUERY_TILE * KEY_TILE], dScores = new float[QUERY_TILE * KEY_TILE], transposed = new float[KEY_TILE * QUERY_TILE];
        int keyStride;

        /**
         * Room for one head of {@code keys} keys (rounded up to whole tiles, so a tile's vectors never run past the
         * end), with the backward pass's arrays when {@code backward}. The packed operands are zeroed: products read
         * their padding, where a stale infinity would turn a product with a zero probability into NaN.
         */
        void reserve(Geometry g, int keys, boolean backward) {
            keyStride = Math.ceilDiv(keys, KEY_TILE) * KEY_TILE;
            int dp = g.dimPadded, vp = g.valuePadded, qRows = Math.ceilDiv(g.queries, QUERY_TILE) * QUERY_TILE;
            queries = zeroed(queries, qRows * dp);
            kt = zeroed(kt, g.dim * keyStride);
            if (backward) {
                k = zeroed(k, keyStride * dp);
                vt = zeroed(vt, g.valueDim * keyStride);
                gradOut = zeroed(gradOut, qRows * vp);
                gradQ = grow(gradQ, qRows * dp);
                gradK = grow(gradK, keyStride * dp);
                gradV = grow(gradV, keyStride * vp);
                rowDot = grow(rowDot, g.queries);
                lse = grow(lse, g.queries);
            } else {
                v = zeroed(v, keyStride * vp);
                acc = grow(acc, QUERY_TILE * vp);
            }
        }

        private static float[] grow(float[] a, int n) { return a.length >= n ? a : new float[n]; }

        private static float[] zeroed(float[] a, int n) {
            float[] r = grow(a, n);
            Arrays.fill(r, 0, n, 0);
            return r;
        }
    }
}
