package dev.kiln.cpu.fused;

import dev.kiln.Device;
import dev.kiln.backend.ArgReduceOp;
import dev.kiln.backend.Backend;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.Buffer;
import dev.kiln.backend.Distribution;
import dev.kiln.backend.MemoryStats;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;
import dev.kiln.backend.View;

import java.lang.foreign.MemorySegment;

/**
 * The CPU backend's primitives without its fused overrides: the fused entry points run the SPI's composed
 * defaults, the reference the fast kernels are compared with. It shares the wrapped backend's memory, so views
 * of one are views of the other.
 */
record ComposedDefaults(Backend primitives) implements Backend {
    @Override public Device device() { return primitives.device(); }
    @Override public String description() { return "composed defaults over " + primitives.description(); }
    @Override public Buffer allocate(long bytes) { return primitives.allocate(bytes); }
    @Override public void release(Buffer buffer) { primitives.release(buffer); }
    @Override public MemoryStats memoryStats() { return primitives.memoryStats(); }
    @Override public void copyFromHost(MemorySegment src, Buffer dst, long off) { primitives.copyFromHost(src, dst, off); }
    @Override public void copyToHost(Buffer src, long off, MemorySegment dst) { primitives.copyToHost(src, off, dst); }
    @Override public void copy(View src, View dst) { primitives.copy(src, dst); }
    @Override public void fill(View dst, double value) { primitives.fill(dst, value); }
    @Override public void unary(UnaryOp op, double alpha, View x, View out) { primitives.unary(op, alpha, x, out); }
    @Override public void binary(BinaryOp op, View a, View b, View out) { primitives.binary(op, a, b, out); }
    @Override public void binaryScalar(BinaryOp op, View a, double s, boolean first, View out) { primitives.binaryScalar(op, a, s, first, out); }
    @Override public void where(View cond, View a, View b, View out) { primitives.where(cond, a, b, out); }
    @Override public void reduce(ReduceOp op, View x, int[] axes, View out) { primitives.reduce(op, x, axes, out); }
    @Override public void argReduce(ArgReduceOp op, View x, int axis, View out) { primitives.argReduce(op, x, axis, out); }
    @Override public void matmul(View a, View b, View out) { primitives.matmul(a, b, out); }
    @Override public void gather(View src, int axis, View index, View out) { primitives.gather(src, axis, index, out); }
    @Override public void scatterAdd(View dst, int axis, View index, View src) { primitives.scatterAdd(dst, axis, index, src); }
    @Override public void indexSelect(View src, int axis, View index, View out) { primitives.indexSelect(src, axis, index, out); }
    @Override public void indexAdd(View dst, int axis, View index, View src) { primitives.indexAdd(dst, axis, index, src); }
    @Override public void random(Distribution d, double a, double b, long seed, long offset, View out) { primitives.random(d, a, b, seed, offset, out); }
}
