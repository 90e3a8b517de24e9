package dev.kiln.backend;

import dev.kiln.DType;

import java.util.Arrays;

/**
 * The LSTM cell composed from elementwise primitives: one kernel per activation and per product, as the
 * step-by-step tensor ops it replaces were, but without their tensors and autograd records.
 */
final class RecurrentDefaults {
    private RecurrentDefaults() {}

    static void lstmSequence(Backend be, View input, View inputWeightT, View bias, View h0, View c0, View recurrentT, boolean reverse,
                             View gates, View cells, View tanhCells, View hidden) {
        int steps = input.shape()[0], batch = input.shape()[1], gh = recurrentT.shape()[1];
        DType dtype = input.dtype();
        if (inputWeightT != null) {
            // Every step's input projection in one product, then the backend's own sequence over it.
            View projected = be.allocateView(dtype, steps, batch, gh);
            try {
                View rows = rows(input);
                if (rows != null) be.matmul(rows, inputWeightT, rows(projected));
                else be.matmul(input, inputWeightT.withShape(new int[] {steps, input.shape()[2], gh},
                        new long[] {0, inputWeightT.strides()[0], inputWeightT.strides()[1]}, inputWeightT.offset()), projected);
                be.lstmSequence(projected, null, bias, h0, c0, recurrentT, reverse, gates, cells, tanhCells, hidden);
            } finally {
                be.release(projected.buffer());
            }
            return;
        }
        // The recurrence weight made dense once, so each step's product reads it in place; the bias as a (B, 4H) view
        // repeating its one row.
        View r = be.allocateView(dtype, recurrentT.shape()), product = be.allocateView(dtype, batch, gh);
        View biasRows = bias == null ? null : bias.withShape(product.shape(), new long[] {0, bias.strides()[0]}, bias.offset());
        try {
            be.copy(recurrentT, r);
            View h = h0, c = c0;
            for (int k = 0; k < steps; k++) {
                int t = reverse ? steps - 1 - k : k;
                be.matmul(h, r, product);
                if (biasRows != null) be.binary(BinaryOp.ADD, product, biasRows, product);
                be.lstmCell(step(input, t), product, c, step(gates, t), step(cells, t), step(tanhCells, t), step(hidden, t));
                h = step(hidden, t);
                c = step(cells, t);
            }
        } finally {
            be.release(r.buffer());
            be.release(product.buffer());
        }
    }

    /** A (T, B, n) view as the (T * B, n) matrix of its rows, where its strides allow; else null. */
    private static View rows(View v) {
        long[] st = v.strides();
        int[] shape = v.shape();
        if (shape[1] > 1 && st[0] != shape[1] * st[1] && shape[0] > 1) return null;
        return v.withShape(new int[] {shape[0] * shape[1], shape[2]}, new long[] {shape[1] > 1 ? st[1] : st[0], st[2]}, v.offset());
    }

    static void lstmSequenceBackward(Backend be, View gradOutput, View gradCell, View gates, View c0, View cells, View tanhCells,
                                     View recurrentT, boolean reverse, View gradGates, View gradH0, View gradC0) {
        int steps = gradOutput.shape()[0], batch = c0.shape()[0], h = c0.shape()[1];
        DType dtype = c0.dtype();
        long[] st = recurrentT.strides();
        // The recurrence weight (4H, H) made dense once, so each step's product reads it in place.
        View r = be.allocateView(dtype, 4 * h, h);
        View dh = be.allocateView(dtype, batch, h), dy = be.allocateView(dtype, batch, h);
        View[] dc = {be.allocateView(dtype, batch, h), be.allocateView(dtype, batch, h)};
        try {
            be.copy(recurrentT.withShape(new int[] {4 * h, h}, new long[] {st[1], st[0]}, recurrentT.offset()), r);
            be.fill(dh, 0);
            be.copy(gradCell, dc[0]);
            for (int k = 0; k < steps; k++) {
                int t = reverse ? k : steps - 1 - k, before = reverse ? t + 1 : t - 1;
                be.binary(BinaryOp.ADD, step(gradOutput, t), dh, dy);
                View prevC = k == steps - 1 ? c0 : step(cells, before), dGates = step(gradGates, t);
                be.lstmCellBackward(dy, dc[k % 2], step(gates, t), prevC, step(tanhCells, t), dGates, dc[(k + 1) % 2]);
                be.matmul(dGates, r, dh);
            }
            be.copy(dh, gradH0);
            be.copy(dc[steps % 2], gradC0);
        } finally {
            for (View v : new View[] {r, dh, dy, dc[0], dc[1]}) be.release(v.buffer());
        }
    }

    /** Entry t of a sequence along its first axis. */
    private static View step(View sequence, int t) {
        int r = sequence.rank();
        long[] st = sequence.strides();
        return sequence.withShape(Arrays.copyOfRange(sequence.shape(), 1, r), Arrays.copyOfRange(st, 1, r),
                sequence.offset() + t * st[0]);
    }

    static void lstmCell(Backend be, View input, View recurrent, View cell, View gates, View cellOut, View tanhCell, View hiddenOut) {
        int h = cell.shape()[1];
        View product = be.allocateView(cell.dtype(), cell.shape());
        try {
            be.binary(BinaryOp.ADD, input, recurrent, gates);
            View ioF = gate(gates, 0, 3 * h);
            be.unary(UnaryOp.SIGMOID, 0, ioF, ioF);
            View candidate = gate(gates, 3 * h, h);
            be.unary(UnaryOp.TANH, 0, candidate, candidate);
            be.binary(BinaryOp.MUL, gate(gates, 2 * h, h), cell, cellOut);
            be.binary(BinaryOp.MUL, gate(gates, 0, h), candidate, product);
            be.binary(BinaryOp.ADD, cellOut, product, cellOut);
            be.unary(UnaryOp.TANH, 0, cellOut, tanhCell);
            be.binary(BinaryOp.MUL, gate(gates, h, h), tanhCell, hiddenOut);
        } finally {
            be.release(product.buffer());
        }
    }

    static void lstmCellBackward(Backend be, View gradHidden, View gradCell, View gates, View cell, View tanhCell, View gradGates, View gradCellIn) {
        int h = cell.shape()[1];
        View i = gate(gates, 0, h), o = gate(gates, h, h), f = gate(gates, 2 * h, h), candidate = gate(gates, 3 * h, h);
        View dc = be.allocateView(cell.dtype(), cell.shape());
        View t = be.allocateView(cell.dtype(), cell.shape());
        try {
            // dc = gradCell + gradHidden * o * (1 - tanhCell^2)
            derivative(be, tanhCell, true, t);
            be.binary(BinaryOp.MUL, t, o, t);
            be.binary(BinaryOp.MUL, t, gradHidden, t);
            be.binary(BinaryOp.ADD, gradCell, t, dc);
            product(be, dc, candidate, i, false, gate(gradGates, 0, h), t);
            product(be, gradHidden, tanhCell, o, false, gate(gradGates, h, h), t);
            product(be, dc, cell, f, false, gate(gradGates, 2 * h, h), t);
            product(be, dc, i, candidate, true, gate(gradGates, 3 * h, h), t);
            be.binary(BinaryOp.MUL, dc, f, gradCellIn);
        } finally {
            be.release(dc.buffer());
            be.release(t.buffer());
        }
    }

    /** {@code out = a * b * act'}, where act' is the derivative of the sigmoid or tanh whose value is {@code y}. */
    private static void product(Backend be, View a, View b, View y, boolean tanh, View out, View scratch) {
        derivative(be, y, tanh, scratch);
        be.binary(BinaryOp.MUL, scratch, a, scratch);
        be.binary(BinaryOp.MUL, scratch, b, out);
    }

    /** {@code 1 - y^2} (tanh) or {@code y (1 - y)} (sigmoid), from the activation's value y. */
    private static void derivative(Backend be, View y, boolean tanh, View out) {
        if (tanh) {
            be.unary(UnaryOp.SQUARE, 0, y, out);
            be.binaryScalar(BinaryOp.SUB, out, 1, true, out);
        } else {
            be.binaryScalar(BinaryOp.SUB, y, 1, true, out);
            be.binary(BinaryOp.MUL, out, y, out);
        }
    }

    /** Columns {@code from .. from + width} of a (B, 4H) view. */
    private static View gate(View gates, int from, int width) {
        long[] st = gates.strides();
        return gates.withShape(new int[] {gates.shape()[0], width}, st.clone(), gates.offset() + from * st[1]);
    }
}
