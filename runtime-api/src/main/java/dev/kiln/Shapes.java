package dev.kiln;

import java.util.Arrays;

/** Shape arithmetic and the validation messages ops share. */
final class Shapes {
    private Shapes() {}

    static String str(int[] shape) { return Arrays.toString(shape); }

    /**
     * NumPy broadcasting of two shapes; the message names the op and both shapes. The result may be one of the
     * arguments, so callers must not modify it.
     */
    static int[] broadcast(String op, int[] a, int[] b) {
        if (a == b || Arrays.equals(a, b)) return a;
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            int db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1)
                throw new IllegalArgumentException(op + ": shapes " + str(a) + " and " + str(b) + " cannot be broadcast together (dimension "
                        + i + ": " + da + " vs " + db + ")");
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** Normalises a possibly negative axis against a rank. */
    static int axis(String op, int axis, int rank) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= Math.max(rank, 1) || (rank == 0 && axis != 0 && axis != -1))
            throw new IllegalArgumentException(op + ": dimension " + axis + " is out of range for a tensor of rank " + rank);
        return a;
    }

    /** Normalised, sorted, distinct axes; an empty array means every axis. */
    static int[] axes(String op, int[] axes, int rank) {
        if (axes == null || axes.length == 0) {
            int[] all = new int[rank];
            for (int i = 0; i < rank; i++) all[i] = i;
            return all;
        }
        int[] n = new int[axes.length];
        for (int i = 0; i < axes.length; i++) n[i] = axis(op, axes[i], rank);
        Arrays.sort(n);
        for (int i = 1; i < n.length; i++)
            if (n[i] == n[i - 1]) throw new IllegalArgumentException(op + ": dimension " + n[i] + " appears twice in " + Arrays.toString(axes));
        return n;
    }

    static int[] keepDimShape(int[] shape, int[] axes) {
        int[] s = shape.clone();
        for (int a : axes) s[a] = 1;
        return s;
    }

    static int[] dropAxes(int[] shape, int[] axes) {
        int[] out = new int[shape.length - axes.length];
        int j = 0;
        outer:
        for (int i = 0; i < shape.length; i++) {
            for (int a : axes) if (a == i) continue outer;
            out[j++] = shape[i];
        }
        return out;
    }

    /** Product of the dimensions of a shape already validated by {@link #checkedNumel}. */
    static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /**
     * The element count of a shape that a tensor or view is about to take: every dimension non-negative and the
     * product within a long. The one place where shapes from users are validated, so that no kernel ever sees an
     * element or byte count that wrapped around (a wrapped count once allocated a few bytes for a huge tensor).
     */
    static long checkedNumel(String op, int[] shape) {
        checkShape(op, shape);
        long n = 1;
        for (int d : shape) {
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException(op + ": shape " + str(shape) + " has more than " + Long.MAX_VALUE + " elements");
            }
        }
        return n;
    }

    /** Bytes a dense tensor of {@code shape} occupies (at least 1, so empty tensors still own a buffer). */
    static long checkedBytes(String op, int[] shape, DType dtype) {
        long n = checkedNumel(op, shape);
        try {
            return Math.multiplyExact(Math.max(1, n), (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(op + ": shape " + str(shape) + " of " + dtype + " needs more than " + Long.MAX_VALUE + " bytes");
        }
    }

    static void checkShape(String op, int[] shape) {
        for (int d : shape)
            if (d < 0) throw new IllegalArgumentException(op + ": negative dimension in shape " + str(shape));
    }

    /** A dimension computed from user input (a sum of sizes, a count of steps) that must fit a tensor's int dimension. */
    static int dimension(String op, String what, long size) {
        if (size < 0 || size > Integer.MAX_VALUE)
            throw new IllegalArgumentException(op + ": " + what + " of " + size + " elements does not fit a dimension (at most " + Integer.MAX_VALUE + ")");
        return (int) size;
    }

    /** Resolves one -1 in a requested shape against a number of elements. */
    static int[] infer(String op, int[] requested, long numel, int[] from) {
        int[] s = requested.clone();
        int unknown = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (unknown >= 0) throw new IllegalArgumentException(op + ": only one dimension can be -1 in " + str(requested));
                unknown = i;
            } else if (s[i] < 0) {
                throw new IllegalArgumentException(op + ": invalid dimension " + s[i] + " in " + str(requested));
            } else {
                try {
                    known = Math.multiplyExact(known, s[i]);
                } catch (ArithmeticException e) {
                    throw new IllegalArgumentException(op + ": shape " + str(requested) + " has more than " + Long.MAX_VALUE + " elements");
                }
            }
        }
        if (unknown >= 0) {
            if (known == 0 || numel % known != 0)
                throw new IllegalArgumentException(op + ": shape " + str(requested) + " is invalid for input of shape " + str(from));
            s[unknown] = (int) (numel / known);
        } else if (known != numel) {
            throw new IllegalArgumentException(op + ": shape " + str(requested) + " is invalid for input of shape " + str(from)
                    + " (" + numel + " elements)");
        }
        return s;
    }
}
