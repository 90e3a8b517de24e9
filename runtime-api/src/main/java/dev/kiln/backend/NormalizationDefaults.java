package dev.kiln.backend;

import java.util.ArrayList;
import java.util.List;

/**
 * The default layer-normalisation kernels, written only with a backend's primitives: row statistics are
 * keep-dim reductions over the trailing axes, and every per-row or per-column factor reaches the elements as a
 * broadcast view (stride 0), so nothing but a few x-sized temporaries is allocated.
 */
final class NormalizationDefaults {
    private NormalizationDefaults() {}

    static void layerNorm(Backend be, View x, int normalizedDims, View weight, View bias, double eps, View out, View mean, View invStd) {
        Rows rows = new Rows(x.shape(), normalizedDims);
        View squares = be.allocateView(x.dtype(), x.shape());
        try {
            rows.mean(be, x, mean);
            be.binary(BinaryOp.SUB, x, rows.perRow(mean), out);
            be.unary(UnaryOp.SQUARE, 0, out, squares);
            rows.mean(be, squares, invStd);
            be.binaryScalar(BinaryOp.ADD, invStd, eps, false, invStd);
            be.unary(UnaryOp.RSQRT, 0, invStd, invStd);
            be.binary(BinaryOp.MUL, out, rows.perRow(invStd), out);
            if (weight != null) be.binary(BinaryOp.MUL, out, rows.perColumn(weight), out);
            if (bias != null) be.binary(BinaryOp.ADD, out, rows.perColumn(bias), out);
        } finally {
            be.release(squares.buffer());
        }
    }

    static void layerNormBackward(Backend be, View gradOut, View x, int normalizedDims, View weight, View mean, View invStd,
                                  View gradInput, View gradWeight, View gradBias) {
        Rows rows = new Rows(x.shape(), normalizedDims);
        List<View> temps = new ArrayList<>();
        try {
            if (gradBias != null) rows.sumOverRows(be, gradOut, gradBias);
            if (gradInput == null && gradWeight == null) return;
            View xhat = temp(be, temps, x);
            be.binary(BinaryOp.SUB, x, rows.perRow(mean), xhat);
            be.binary(BinaryOp.MUL, xhat, rows.perRow(invStd), xhat);
            View product = temp(be, temps, x);
            if (gradWeight != null) {
                be.binary(BinaryOp.MUL, gradOut, xhat, product);
                rows.sumOverRows(be, product, gradWeight);
            }
            if (gradInput == null) return;
            View g = gradOut;
            if (weight != null) {
                g = temp(be, temps, x);
                be.binary(BinaryOp.MUL, gradOut, rows.perColumn(weight), g);
            }
            View meanG = temp(be, temps, mean), meanGXhat = temp(be, temps, mean);
            rows.mean(be, g, meanG);
            be.binary(BinaryOp.MUL, g, xhat, product);
            rows.mean(be, product, meanGXhat);
            // gradInput = (g - <g> - xhat * <g xhat>) * invStd
            be.binary(BinaryOp.MUL, xhat, rows.perRow(meanGXhat), product);
            be.binary(BinaryOp.SUB, g, rows.perRow(meanG), gradInput);
            be.binary(BinaryOp.SUB, gradInput, product, gradInput);
            be.binary(BinaryOp.MUL, gradInput, rows.perRow(invStd), gradInput);
        } finally {
            for (View v : temps) be.release(v.buffer());
        }
    }

    private static View temp(Backend be, List<View> temps, View like) {
        View v = be.allocateView(like.dtype(), like.shape());
        temps.add(v);
        return v;
    }

    /** x's shape split into leading (row) axes and the trailing {@code normalizedDims} axes of each row. */
    private record Rows(int[] shape, int normalizedDims) {
        int leading() { return shape.length - normalizedDims; }

        long rowSize() {
            long n = 1;
            for (int i = leading(); i < shape.length; i++) n *= shape[i];
            return n;
        }

        /** {@code stats} = the mean of each row of {@code v}; stats has v's shape with the trailing axes of size 1. */
        void mean(Backend be, View v, View stats) {
            int[] axes = new int[normalizedDims];
            for (int i = 0; i < normalizedDims; i++) axes[i] = leading() + i;
            be.reduce(ReduceOp.SUM, v, axes, stats);
            be.binaryScalar(BinaryOp.DIV, stats, rowSize(), false, stats);
        }

        /** {@code perColumn} (the normalised shape) = the sum over rows of {@code v}. */
        void sumOverRows(Backend be, View v, View perColumn) {
            if (leading() == 0) {
                be.copy(v, perColumn);
                return;
            }
            int[] axes = new int[leading()];
            for (int i = 0; i < axes.length; i++) axes[i] = i;
            int[] keptShape = shape.clone();
            long[] keptStrides = new long[shape.length];
            for (int i = 0; i < leading(); i++) keptShape[i] = 1;
            System.arraycopy(perColumn.strides(), 0, keptStrides, leading(), normalizedDims);
            be.reduce(ReduceOp.SUM, v, axes, perColumn.withShape(keptShape, keptStrides, perColumn.offset()));
        }

        /** A per-row statistic repeated along each row (stride 0 over the trailing axes). */
        View perRow(View stats) {
            long[] strides = stats.strides().clone();
            for (int i = leading(); i < shape.length; i++) strides[i] = 0;
            return stats.withShape(shape.clone(), strides, stats.offset());
        }

        /** A per-column tensor (weight, bias) repeated over the rows (stride 0 over the leading axes). */
        View perColumn(View columns) {
            long[] strides = new long[shape.length];
            System.arraycopy(columns.strides(), 0, strides, leading(), normalizedDims);
            return columns.withShape(shape.clone(), strides, columns.offset());
        }
    }
}
