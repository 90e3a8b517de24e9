package dev.kiln.kernel;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.backend.ArgReduceOp;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.Distribution;
import dev.kiln.backend.Pool2dSpec;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;
import dev.kiln.backend.View;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The programs {@link KernelBackend} builds on a GPU-like device (a CUDA device is always one), found by running
 * every entry point for every dtype on a runtime that records what it is asked to compile and launches nothing.
 * The CUDA compile check takes its list from here, so it covers what the backend launches, not a guess; a CUDA
 * runtime that builds ahead of time can take it from here too.
 */
public final class LaunchedPrograms {
    private LaunchedPrograms() {}

    /** One program: a family built with a set of defines, and the entry points launched from it. */
    public record Built(String family, String defines, Set<String> entries) {}

    /** Every program built for a GPU with full-size work-groups and one whose work-groups hold 128 items. */
    public static List<Built> onGpu() {
        Map<String, Built> found = new LinkedHashMap<>();
        for (long maxWorkGroup : new long[] {1024, 128}) {
            Recorder r = new Recorder(maxWorkGroup, found);
            exercise(new KernelBackend<>(r));
        }
        return List.copyOf(found.values());
    }

    /** Prints one program per line: family, a tab, its defines. */
    public static void main(String[] args) {
        for (Built p : onGpu()) System.out.println(p.family() + "\t" + p.defines().trim() + "\t" + String.join(",", p.entries()));
    }

    private static final DType[] COMPUTE = {DType.FLOAT32, DType.FLOAT64, DType.INT32, DType.INT64, DType.BOOL};
    private static final DType[] FLOATING = {DType.FLOAT32, DType.FLOAT64};

    private static void exercise(KernelBackend<Long> be) {
        for (DType t : DType.values()) {
            View dense = be.allocateView(t, 4, 6), strided = transposed(be.allocateView(t, 6, 4));
            be.fill(dense, 1);
            be.copy(strided, dense);
            for (DType to : DType.values()) be.copy(dense, be.allocateView(to, 4, 6));
            be.random(Distribution.UNIFORM, 0, 1, 1, 0, dense);
        }
        for (DType t : COMPUTE) {
            View a = be.allocateView(t, 4, 6), b = be.allocateView(t, 4, 6), out = be.allocateView(t, 4, 6);
            View at = transposed(be.allocateView(t, 6, 4)), flags = be.allocateView(DType.BOOL, 4, 6);
            for (UnaryOp op : UnaryOp.values()) {
                View o = op == UnaryOp.IS_NAN ? flags : out;
                try {
                    be.unary(op, 0.1, a, o);
                    be.unary(op, 0.1, at, o);
                } catch (IllegalArgumentException notOnIntegers) {
                    // the backend refuses this op on integers, so no program for it is ever built
                }
            }
            for (BinaryOp op : BinaryOp.values()) {
                View o = op.writesBool() ? flags : out;
                be.binary(op, a, b, o);
                be.binary(op, at, b, o);
                be.binaryScalar(op, a, 2, true, o);
            }
            be.where(flags, a, b, out);
            View row = be.allocateView(t, 4, 1), col = be.allocateView(t, 1, 6), longRows = be.allocateView(t, 2, 512);
            be.reduce(ReduceOp.SUM, a, new int[] {1}, row);
            be.reduce(ReduceOp.SUM, a, new int[] {0}, col);
            be.reduce(ReduceOp.MAX, longRows, new int[] {1}, be.allocateView(t, 2, 1));
            be.argReduce(ArgReduceOp.ARGMAX, a, 1, be.allocateView(DType.INT64, 4, 1));
            for (DType index : new DType[] {DType.INT32, DType.INT64}) {
                View ix = be.allocateView(index, 4, 6), ix1 = be.allocateView(index, 3);
                be.gather(a, 1, ix, out);
                be.scatterAdd(out, 1, ix, a);
                be.indexSelect(a, 1, ix1, be.allocateView(t, 4, 3));
                be.indexAdd(out, 1, ix1, be.allocateView(t, 4, 3));
                if (t == index) be.checkIndex("gather", ix, 6);
            }
            if (t != DType.BOOL) {
                View x = be.allocateView(t, 1, 2, 5, 5);
                be.maxPool2d(x, Pool2dSpec.of(2, 2, 0), be.allocateView(t, 1, 2, 2, 2), be.allocateView(DType.INT64, 1, 2, 2, 2));
            }
        }
        for (DType t : FLOATING) {
            View x = be.allocateView(t, 4, 300), out = be.allocateView(t, 4, 300);
            View mean = be.allocateView(t, 4), inv = be.allocateView(t, 4), w = be.allocateView(t, 300), bias = be.allocateView(t, 300);
            be.softmax(x, 1, false, out);
            be.softmax(transposed(be.allocateView(t, 300, 4)), 0, true, transposed(be.allocateView(t, 300, 4)));
            be.layerNorm(x, 1, w, bias, 1e-5, out, mean, inv);
            be.layerNormBackward(out, x, 1, w, mean, inv, be.allocateView(t, 4, 300), be.allocateView(t, 300), be.allocateView(t, 300));
            be.matmul(be.allocateView(t, 2, 8, 16), be.allocateView(t, 2, 16, 8), be.allocateView(t, 2, 8, 8));
            Conv2dSpec spec = Conv2dSpec.of(1, 1);
            View input = be.allocateView(t, 2, 3, 8, 8), weight = be.allocateView(t, 4, 3, 3, 3), y = be.allocateView(t, 2, 4, 8, 8);
            be.conv2d(input, weight, spec, y);
            be.conv2dBackwardInput(y, weight, spec, be.allocateView(t, 2, 3, 8, 8));
            be.conv2dBackwardWeight(input, y, spec, be.allocateView(t, 4, 3, 3, 3));
        }
    }

    private static View transposed(View v) {
        int[] s = v.shape();
        long[] st = v.strides();
        return v.withShape(new int[] {s[1], s[0]}, new long[] {st[1], st[0]}, v.offset());
    }

    /** A GPU-like device that records compilations and launches nothing; allocations are serial numbers. */
    private static final class Recorder implements KernelRuntime<Long> {
        private final long maxWorkGroup;
        private final Map<String, Built> found;
        private long next;

        Recorder(long maxWorkGroup, Map<String, Built> found) {
            this.maxWorkGroup = maxWorkGroup;
            this.found = found;
        }

        @Override
        public DeviceInfo device() {
            return new DeviceInfo(new Device("recorder", 0), "recorder", "records the programs built", true, true, "nothing",
                    maxWorkGroup, 1L << 40, 1L << 40);
        }

        @Override public Long allocate(long bytes) { return next++; }

        @Override public void free(Long memory) {}

        @Override public void copyFromHost(MemorySegment src, Long dst, long dstByteOffset) {}

        @Override public void copyToHost(Long src, long srcByteOffset, MemorySegment dst) {}

        @Override public void copy(Long src, long srcByteOffset, Long dst, long dstByteOffset, long bytes) {}

        @Override
        public Program<Long> compile(String family, String source, String defines) {
            Built p = found.computeIfAbsent(family + defines, k -> new Built(family, defines, new LinkedHashSet<>()));
            return name -> {
                p.entries().add(name);
                return new Kernel<>() {
                    @Override public String name() { return name; }

                    @Override public long maxWorkGroupSize() { return maxWorkGroup; }

                    @Override public Args<Long> args() { return new NoArgs(); }
                };
            };
        }

        @Override public void synchronize() {}

        @Override public boolean debugging() { return false; }

        @Override public void close() {}
    }

    private static final class NoArgs implements KernelRuntime.Args<Long> {
        @Override public KernelRuntime.Args<Long> i8(byte v) { return this; }

        @Override public KernelRuntime.Args<Long> i16(short v) { return this; }

        @Override public KernelRuntime.Args<Long> i32(int v) { return this; }

        @Override public KernelRuntime.Args<Long> i64(long v) { return this; }

        @Override public KernelRuntime.Args<Long> f32(float v) { return this; }

        @Override public KernelRuntime.Args<Long> f64(double v) { return this; }

        @Override public KernelRuntime.Args<Long> longs(long[] v) { return this; }

        @Override public KernelRuntime.Args<Long> memory(Long m) { return this; }

        @Override public KernelRuntime.Args<Long> local(long bytes) { return this; }

        @Override public void run(long[] global, long[] local) {}
    }
}
