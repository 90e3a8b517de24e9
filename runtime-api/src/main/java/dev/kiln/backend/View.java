package dev.kiln.backend;

import dev.kiln.DType;

import java.util.Arrays;

/**
 * A strided window on a buffer: what every kernel entry point reads and writes. Strides and the offset count
 * elements, not bytes. A stride of 0 repeats an element, which is how broadcasting reaches the kernels.
 *
 * @param buffer the memory
 * @param dtype the element type
 * @param shape the sizes
 * @param strides the element step of each dimension
 * @param offset the first element's index in the buffer
 */
public record View(Buffer buffer, DType dtype, int[] shape, long[] strides, long offset) {

    /**
     * Checks that the shape and strides match.
     *
     * @throws IllegalArgumentException if shape and strides differ in rank
     */
    public View {
        if (shape.length != strides.length)
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " and strides " + Arrays.toString(strides) + " differ in rank");
    }

    /**
     * {@return the number of dimensions}
     */
    public int rank() { return shape.length; }

    /**
     * {@return the number of elements}
     */
    public long numel() { return numel(shape); }

    /**
     * The number of elements of a shape.
     *
     * @param shape the sizes
     * @return their product (1 for a scalar)
     */
    public static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /**
     * The row-major strides of a dense tensor of {@code shape}.
     *
     * @param shape the sizes
     * @return the strides
     */
    public static long[] contiguousStrides(int[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= Math.max(shape[i], 1);
        }
        return s;
    }

    /**
     * Row-major and dense, so element i lives at offset + i. Size-1 dimensions may carry any stride.
     *
     * @return whether it is
     */
    public boolean isContiguous() {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    /**
     * A dense view of a whole buffer, from its start.
     *
     * @param buffer the memory
     * @param dtype the element type
     * @param shape the sizes
     * @return the view
     */
    public static View contiguous(Buffer buffer, DType dtype, int... shape) {
        return new View(buffer, dtype, shape, contiguousStrides(shape), 0);
    }

    /**
     * Another view of the same buffer and dtype.
     *
     * @param newShape the sizes
     * @param newStrides the strides
     * @param newOffset the first element's index
     * @return the view
     */
    public View withShape(int[] newShape, long[] newStrides, long newOffset) {
        return new View(buffer, dtype, newShape, newStrides, newOffset);
    }

    @Override
    public String toString() {
        return "View[" + dtype + " " + Arrays.toString(shape) + " strides " + Arrays.toString(strides) + " +" + offset + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof View v && v.buffer == buffer && v.dtype == dtype && v.offset == offset
                && Arrays.equals(v.shape, shape) && Arrays.equals(v.strides, strides);
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(buffer) * 31 + Arrays.hashCode(shape) * 17 + Long.hashCode(offset);
    }
}
