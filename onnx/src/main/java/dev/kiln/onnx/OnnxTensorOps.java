package dev.kiln.onnx;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Mappings of ONNX's shape, indexing and tensor-making ops: Shape, Size, Constant, ConstantOfShape, Slice, Split,
 * Expand, Range, Tile, Pad, TopK, CumSum, NonZero. Shapes, sizes and counts that ONNX passes as tensors are read
 * back to the host; the values Shape and Size produce are made on the host, where the graph runner keeps the
 * small integer arithmetic that follows them.
 */
final class OnnxTensorOps {
    private OnnxTensorOps() {}

    static void register(Map<String, OnnxOps.Mapping> ops) {
        ops.put("Shape", c -> {
            int[] shape = c.input(0).shape();
            int rank = shape.length;
            int start = clampAxis(c.intAttr("start", 0), rank), end = clampAxis(c.intAttr("end", rank), rank);
            long[] dims = new long[Math.max(0, end - start)];
            for (int i = 0; i < dims.length; i++) dims[i] = shape[start + i];
            return one(hostLongs(dims, dims.length));
        });
        ops.put("Size", c -> one(hostLongs(new long[] {c.input(0).numel()})));
        ops.put("Constant", OnnxTensorOps::constant);
        ops.put("ConstantOfShape", c -> {
            int[] shape = OnnxCall.ints(OnnxCall.longs(c.input(0)));
            Tensor value = c.tensorAttr("value");
            DType dtype = value == null ? DType.FLOAT32 : value.dtype();
            double v = value == null ? 0 : value.reshape(-1).item();
            return one(Tensor.full(v, dtype, c.device(), shape));
        });
        ops.put("Slice", OnnxTensorOps::slice);
        ops.put("Split", OnnxTensorOps::split);
        ops.put("Expand", c -> {
            Tensor x = c.input(0);
            int[] target = OnnxCall.ints(OnnxCall.longs(c.input(1)));
            return one(x.expand(expandedShape(x.shape(), target)).contiguous());
        });
        ops.put("Range", c -> {
            Tensor start = c.input(0);
            double s = start.item(), limit = c.input(1).item(), delta = c.input(2).item();
            return one(Tensor.arange(s, limit, delta, start.dtype(), c.device()));
        });
        ops.put("Tile", c -> one(c.input(0).repeat(OnnxCall.ints(OnnxCall.longs(c.input(1))))));
        ops.put("Pad", OnnxTensorOps::pad);
        ops.put("TopK", c -> {
            Tensor x = c.input(0);
            int axis = Math.floorMod((int) c.intAttr("axis", -1), x.dim());
            long k = c.opset() >= 10 ? OnnxCall.longs(c.input(1))[0] : c.intAttr("k", -1);
            boolean largest = c.opset() < 11 || c.boolAttr("largest", true);
            // Kiln's topk returns the k elements in order, which is what sorted=1 asks and sorted=0 allows.
            if (c.opset() >= 11) c.boolAttr("sorted", true);
            Tensor.ValuesIndices r = x.topk(Math.toIntExact(k), axis, largest);
            return new Tensor[] {r.values(), r.indices()};
        });
        ops.put("CumSum", c -> {
            Tensor x = c.input(0);
            int axis = Math.floorMod((int) OnnxCall.longs(c.input(1))[0], x.dim());
            boolean reverse = c.boolAttr("reverse", false), exclusive = c.boolAttr("exclusive", false);
            Tensor in = reverse ? x.flip(axis) : x;
            Tensor sum = in.cumsum(axis);
            if (exclusive) sum = sum.sub(in);
            return one(reverse ? sum.flip(axis) : sum);
        });
        ops.put("NonZero", c -> {
            // The result's shape depends on the values, so the mask is read back, as any runtime must.
            Tensor x = c.input(0);
            boolean[] mask = x.ne(0).toBooleanArray();
            int rank = Math.max(1, x.dim());
            int[] shape = x.dim() == 0 ? new int[] {1} : x.shape();
            int count = 0;
            for (boolean m : mask) if (m) count++;
            long[] out = new long[rank * count];
            int k = 0;
            for (int flat = 0; flat < mask.length; flat++) {
                if (!mask[flat]) continue;
                int rest = flat;
                for (int d = rank - 1; d >= 0; d--) {
                    out[d * count + k] = rest % shape[d];
                    rest /= shape[d];
                }
                k++;
            }
            return one(Tensor.of(Arrays.stream(out).asDoubleStream().toArray(), DType.INT64, c.device(), rank, count));
        });
    }

    private static Tensor[] one(Tensor t) { return new Tensor[] {t}; }

    private static int clampAxis(long axis, int rank) {
        long a = axis < 0 ? axis + rank : axis;
        return (int) Math.max(0, Math.min(rank, a));
    }

    /** An int64 tensor on the host (exact: shapes and sizes are far below 2^53). */
    private static Tensor hostLongs(long[] values, int... shape) {
        double[] d = new double[values.length];
        for (int i = 0; i < d.length; i++) d[i] = values[i];
        return Tensor.of(d, DType.INT64, Device.CPU, shape);
    }

    private static Tensor[] constant(OnnxCall c) {
        Tensor t = c.tensorAttr("value");
        if (t != null) return one(t);
        if (c.hasAttr("value_float")) return one(Tensor.scalar(c.floatAttr("value_float", 0), DType.FLOAT32, c.device()));
        if (c.hasAttr("value_int")) return one(hostLongs(new long[] {c.intAttr("value_int", 0)}));
        if (c.hasAttr("value_floats")) {
            float[] v = c.floatsAttr("value_floats", null);
            return one(Tensor.of(v, v.length).to(c.device()));
        }
        if (c.hasAttr("value_ints")) {
            long[] v = c.intsAttr("value_ints", null);
            return one(hostLongs(v, v.length));
        }
        throw new IllegalArgumentException(c.node().describe() + ": Constant needs a value, value_float(s) or value_int(s) attribute"
                + (c.hasAttr("sparse_value") || c.hasAttr("value_string") || c.hasAttr("value_strings") ? " (sparse and string constants are not mapped)" : ""));
    }

    /**
     * Expand's shape as Kiln's expand takes it: ONNX broadcasts both ways, so a 1 in the target keeps the input's
     * size there; Kiln's expand checks that the rest agrees.
     */
    private static int[] expandedShape(int[] input, int[] target) {
        int rank = Math.max(input.length, target.length);
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int t = i < rank - target.length ? 1 : target[i - (rank - target.length)];
            out[i] = t != 1 ? t : i < rank - input.length ? 1 : input[i - (rank - input.length)];
        }
        return out;
    }

    private static Tensor[] slice(OnnxCall c) {
        Tensor x = c.input(0);
        long[] starts, ends, axes, steps;
        if (c.opset() >= 10) {
            starts = OnnxCall.longs(c.input(1));
            ends = OnnxCall.longs(c.input(2));
            axes = c.optionalInput(3) == null ? null : OnnxCall.longs(c.input(3));
            steps = c.optionalInput(4) == null ? null : OnnxCall.longs(c.input(4));
        } else {
            starts = c.intsAttr("starts", null);
            ends = c.intsAttr("ends", null);
            axes = c.intsAttr("axes", null);
            steps = null;
        }
        for (int i = 0; i < starts.length; i++) {
            int axis = Math.floorMod(axes == null ? i : (int) axes[i], x.dim());
            long step = steps == null ? 1 : steps[i];
            if (step == 0) throw new IllegalArgumentException(c.node().describe() + ": slice step 0");
            int n = x.size(axis);
            long start = starts[i] < 0 ? starts[i] + n : starts[i], end = ends[i] < 0 ? ends[i] + n : ends[i];
            if (step > 0) {
                start = Math.max(0, Math.min(n, start));
                end = Math.max(0, Math.min(n, end));
                int len = (int) Math.max(0, Math.ceilDiv(end - start, step));
                x = step == 1 ? x.narrow(axis, (int) start, Math.max(0, (int) (end - start))) : x.slice(axis, (int) start, (int) Math.max(start, end), (int) step);
                if (x.size(axis) != len) throw new IllegalStateException("unreachable: slice length " + x.size(axis) + " vs " + len);
            } else {
                // Walking backwards from start (inclusive) to end (exclusive) is walking the flipped axis forwards.
                start = Math.max(-1, Math.min(n - 1, start));
                end = Math.max(-1, Math.min(n - 1, end));
                long fStart = n - 1 - start, fEnd = n - 1 - end;
                Tensor flipped = x.flip(axis);
                x = fEnd <= fStart ? flipped.narrow(axis, 0, 0) : flipped.slice(axis, (int) fStart, (int) fEnd, (int) -step);
            }
        }
        return one(x);
    }

    private static Tensor[] split(OnnxCall c) {
        Tensor x = c.input(0);
        int axis = Math.floorMod((int) c.intAttr("axis", 0), x.dim());
        long[] sizes = c.opset() >= 13 ? (c.optionalInput(1) == null ? null : OnnxCall.longs(c.input(1))) : c.intsAttr("split", null);
        int parts = c.outputCount();
        if (c.opset() >= 18) {
            long n = c.intAttr("num_outputs", -1);
            if (n > 0) parts = (int) n;
        }
        if (sizes == null) {
            // Equal parts; with num_outputs the last may be smaller (ceil-sized parts).
            int size = Math.ceilDiv(x.size(axis), parts);
            sizes = new long[parts];
            for (int i = 0; i < parts; i++) sizes[i] = Math.max(0, Math.min(size, x.size(axis) - (long) i * size));
        }
        Tensor[] out = new Tensor[sizes.length];
        int at = 0;
        for (int i = 0; i < sizes.length; i++) {
            out[i] = x.narrow(axis, at, (int) sizes[i]);
            at += (int) sizes[i];
        }
        return out;
    }

    /**
     * Pad in every mode (constant, reflect, edge, wrap) on any axes, built from narrow, flip and cat so gradients
     * flow. Negative pads crop.
     */
    private static Tensor[] pad(OnnxCall c) {
        Tensor x = c.input(0);
        String mode = c.stringAttr("mode", "constant");
        long[] pads;
        double value;
        int[] axes;
        if (c.opset() >= 11) {
            pads = OnnxCall.longs(c.input(1));
            Tensor v = c.optionalInput(2);
            value = v == null ? 0 : v.item();
            Tensor a = c.optionalInput(3);
            if (a == null) {
                axes = new int[x.dim()];
                for (int i = 0; i < axes.length; i++) axes[i] = i;
            } else {
                axes = OnnxCall.ints(OnnxCall.longs(a));
            }
        } else {
            pads = c.intsAttr("pads", null);
            value = c.floatAttr("value", 0f);
            axes = new int[x.dim()];
            for (int i = 0; i < axes.length; i++) axes[i] = i;
        }
        if (pads.length != 2 * axes.length)
            throw new IllegalArgumentException(c.node().describe() + ": " + pads.length + " pads for " + axes.length + " axes");
        for (int i = 0; i < axes.length; i++) {
            int axis = Math.floorMod(axes[i], x.dim());
            x = padAxis(c, x, axis, (int) pads[i], (int) pads[i + axes.length], mode, value);
        }
        return one(x);
    }

    private static Tensor padAxis(OnnxCall c, Tensor x, int axis, int before, int after, String mode, double value) {
        if (before < 0) {
            x = x.narrow(axis, -before, x.size(axis) + before);
            before = 0;
        }
        if (after < 0) {
            x = x.narrow(axis, 0, x.size(axis) + after);
            after = 0;
        }
        if (before == 0 && after == 0) return x;
        int n = x.size(axis);
        if (n == 0 && !mode.equals("constant"))
            throw new IllegalArgumentException(c.node().describe() + ": " + mode + " padding of an empty axis");
        List<Tensor> parts = new ArrayList<>();
        parts.add(edge(x, axis, before, true, mode, value, c));
        parts.add(x);
        parts.add(edge(x, axis, after, false, mode, value, c));
        return Tensor.cat(parts.stream().filter(t -> t.size(axis) > 0).toList(), axis);
    }

    /** The {@code width} elements padded before ({@code leading}) or after the axis. */
    private static Tensor edge(Tensor x, int axis, int width, boolean leading, String mode, double value, OnnxCall c) {
        int n = x.size(axis);
        if (width == 0) return x.narrow(axis, 0, 0);
        return switch (mode) {
            case "constant" -> {
                int[] shape = x.shape().clone();
                shape[axis] = width;
                yield Tensor.full(value, x.dtype(), x.device(), shape);
            }
            case "edge" -> {
                int[] shape = x.shape().clone();
                shape[axis] = width;
                yield x.narrow(axis, leading ? 0 : n - 1, 1).expand(shape).contiguous();
            }
            case "reflect" -> {
                if (width > n - 1)
                    throw new IllegalArgumentException(c.node().describe() + ": reflect pad " + width + " needs more than " + n + " elements on axis " + axis);
                yield leading ? x.narrow(axis, 1, width).flip(axis) : x.narrow(axis, n - 1 - width, width).flip(axis);
            }
            case "wrap" -> {
                if (width > n)
                    throw new IllegalArgumentException(c.node().describe() + ": wrap pad " + width + " exceeds the " + n + " elements on axis " + axis);
                yield leading ? x.narrow(axis, n - width, width) : x.narrow(axis, 0, width);
            }
            default -> throw new IllegalArgumentException(c.node().describe() + ": unknown pad mode '" + mode + "'");
        };
    }
}
