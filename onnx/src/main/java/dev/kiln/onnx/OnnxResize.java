package dev.kiln.onnx;

import dev.kiln.DType;
import dev.kiln.Tensor;

import java.util.Map;

/**
 * Resize (and its predecessor Upsample) in nearest and linear modes with every ONNX coordinate transformation
 * except tf_crop_and_resize. Each resized axis is done on its own (n-linear interpolation is separable): the
 * source coordinate of every output index is computed on the host, as index arithmetic, and the values are picked
 * with {@link Tensor#indexSelect} (nearest) or blended from the two neighbours (linear), so gradients flow to the
 * input.
 */
final class OnnxResize {
    private OnnxResize() {}

    static void register(Map<String, OnnxOps.Mapping> ops) {
        ops.put("Resize", OnnxResize::resize);
        ops.put("Upsample", OnnxResize::resize);
    }

    private static Tensor[] resize(OnnxCall c) {
        Tensor x = c.input(0);
        int rank = x.dim();
        boolean upsample = c.op().equals("Upsample");
        String mode = c.stringAttr("mode", "nearest");
        // Before opset 11 (and in Upsample) the coordinates are asymmetric and nearest rounds down... as ONNX Runtime reads them.
        boolean legacy = upsample || c.opset() < 11;
        String transform = legacy ? "asymmetric" : c.stringAttr("coordinate_transformation_mode", "half_pixel");
        String nearestMode = legacy ? "floor" : c.stringAttr("nearest_mode", "round_prefer_floor");
        if (!legacy) {
            c.floatAttr("cubic_coeff_a", -0.75f);
            if (c.boolAttr("exclude_outside", false) && !mode.equals("cubic"))
                throw new IllegalArgumentException(c.node().describe() + ": exclude_outside applies to cubic mode only");
            c.floatAttr("extrapolation_value", 0f);
        }
        if (c.opset() >= 18) {
            if (c.boolAttr("antialias", false)) throw new IllegalArgumentException(c.node().describe() + ": antialias is not mapped");
            String policy = c.stringAttr("keep_aspect_ratio_policy", "stretch");
            if (!policy.equals("stretch")) throw new IllegalArgumentException(c.node().describe() + ": keep_aspect_ratio_policy " + policy + " is not mapped");
        }
        int[] axes = axes(c, rank);
        double[] scales = new double[rank];
        int[] sizes = x.shape().clone();
        java.util.Arrays.fill(scales, 1);
        float[] given = upsample && c.opset() < 9 ? c.floatsAttr("scales", null) : null;
        Tensor scalesInput = upsample ? (c.opset() >= 9 ? c.input(1) : null) : c.opset() >= 11 ? c.optionalInput(2) : c.input(1);
        Tensor sizesInput = !upsample && c.opset() >= 11 ? c.optionalInput(3) : null;
        if (scalesInput != null && scalesInput.numel() > 0) given = scalesInput.toFloatArray();
        if (sizesInput != null && sizesInput.numel() > 0) {
            long[] s = OnnxCall.longs(sizesInput);
            for (int i = 0; i < axes.length; i++) {
                sizes[axes[i]] = (int) s[i];
                scales[axes[i]] = (double) s[i] / x.size(axes[i]);
            }
        } else if (given != null) {
            for (int i = 0; i < axes.length; i++) {
                scales[axes[i]] = given[i];
                sizes[axes[i]] = (int) Math.floor(x.size(axes[i]) * (double) given[i]);
            }
        } else {
            throw new IllegalArgumentException(c.node().describe() + ": needs scales or sizes");
        }
        Tensor y = x;
        for (int axis = 0; axis < rank; axis++) {
            if (sizes[axis] == x.size(axis) && scales[axis] == 1) continue;
            y = switch (mode) {
                case "nearest" -> nearest(y, axis, sizes[axis], scales[axis], transform, nearestMode, c);
                case "linear", "bilinear", "trilinear" -> linear(y, axis, sizes[axis], scales[axis], transform, c);
                default -> throw new IllegalArgumentException(c.node().describe() + ": mode '" + mode + "' is not mapped (nearest and linear are)");
            };
        }
        return new Tensor[] {y};
    }

    private static int[] axes(OnnxCall c, int rank) {
        long[] a = c.opset() >= 18 ? c.intsAttr("axes", null) : null;
        int[] axes = new int[a == null ? rank : a.length];
        for (int i = 0; i < axes.length; i++) axes[i] = a == null ? i : Math.floorMod((int) a[i], rank);
        return axes;
    }

    /** The input coordinate ONNX's coordinate_transformation_mode maps output index {@code i} to. */
    private static double source(int i, int in, int out, double scale, String transform, OnnxCall c) {
        return switch (transform) {
            case "half_pixel" -> (i + 0.5) / scale - 0.5;
            case "pytorch_half_pixel" -> out > 1 ? (i + 0.5) / scale - 0.5 : 0;
            case "align_corners" -> out == 1 ? 0 : i * (in - 1) / (double) (out - 1);
            case "asymmetric" -> i / scale;
            case "half_pixel_symmetric" -> {
                double adjustment = out / (scale * in);
                double offset = in / 2.0 * (1 - adjustment);
                yield offset + (i + 0.5) / scale - 0.5;
            }
            default -> throw new IllegalArgumentException(c.node().describe() + ": coordinate_transformation_mode '" + transform + "' is not mapped");
        };
    }

    private static Tensor nearest(Tensor x, int axis, int out, double scale, String transform, String rounding, OnnxCall c) {
        int in = x.size(axis);
        double[] index = new double[out];
        for (int i = 0; i < out; i++) {
            double s = source(i, in, out, scale, transform, c);
            double r = switch (rounding) {
                case "round_prefer_floor" -> s == Math.floor(s) + 0.5 ? Math.floor(s) : Math.round(s);
                case "round_prefer_ceil" -> Math.floor(s + 0.5);
                case "floor" -> Math.floor(s);
                case "ceil" -> Math.ceil(s);
                default -> throw new IllegalArgumentException(c.node().describe() + ": nearest_mode '" + rounding + "' is not mapped");
            };
            index[i] = Math.max(0, Math.min(in - 1, r));
        }
        return x.indexSelect(axis, Tensor.of(index, DType.INT64, x.device(), out));
    }

    private static Tensor linear(Tensor x, int axis, int out, double scale, String transform, OnnxCall c) {
        int in = x.size(axis);
        double[] lo = new double[out], hi = new double[out], weight = new double[out];
        for (int i = 0; i < out; i++) {
            double s = Math.max(0, Math.min(in - 1, source(i, in, out, scale, transform, c)));
            int l = (int) Math.floor(s);
            lo[i] = l;
            hi[i] = Math.min(l + 1, in - 1);
            weight[i] = s - l;
        }
        int[] weightShape = new int[x.dim()];
        java.util.Arrays.fill(weightShape, 1);
        weightShape[axis] = out;
        Tensor w = Tensor.of(weight, x.dtype(), x.device(), weightShape);
        Tensor a = x.indexSelect(axis, Tensor.of(lo, DType.INT64, x.device(), out));
        Tensor b = x.indexSelect(axis, Tensor.of(hi, DType.INT64, x.device(), out));
        return a.add(b.sub(a).mul(w));
    }
}
