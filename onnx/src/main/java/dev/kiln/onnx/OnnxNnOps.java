package dev.kiln.onnx;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Reduction;
import dev.kiln.Tensor;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.Pool2dSpec;

import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/**
 * Mappings of ONNX's neural-network ops onto {@link Functional}: convolutions, pooling, normalisation, dropout and
 * the classification losses. ONNX describes padding per edge ([top, left, bottom, right]) or by auto_pad; where
 * the edges differ, the mapping pads explicitly with {@link Functional#pad2d} and runs the op unpadded.
 */
final class OnnxNnOps {
    private OnnxNnOps() {}

    static void register(Map<String, OnnxOps.Mapping> ops) {
        ops.put("Conv", OnnxNnOps::conv);
        ops.put("ConvTranspose", OnnxNnOps::convTranspose);
        ops.put("MaxPool", OnnxNnOps::maxPool);
        ops.put("AveragePool", OnnxNnOps::averagePool);
        ops.put("GlobalAveragePool", c -> {
            Tensor x = c.input(0);
            return new Tensor[] {lower(x, Functional.globalAvgPool2d(lift(c, x)))};
        });
        ops.put("BatchNormalization", OnnxNnOps::batchNorm);
        ops.put("LayerNormalization", OnnxNnOps::layerNorm);
        ops.put("Dropout", OnnxNnOps::dropout);
        ops.put("SoftmaxCrossEntropyLoss", c -> {
            Tensor loss = Functional.crossEntropy(c.input(0), c.input(1), c.optionalInput(2), ignoreIndex(c), reduction(c), 0);
            return new Tensor[] {loss, c.wantsOutput(1) ? c.input(0).logSoftmax(1) : null};
        });
        ops.put("NegativeLogLikelihoodLoss", c -> new Tensor[] {
                Functional.nllLoss(c.input(0), c.input(1), c.optionalInput(2), ignoreIndex(c), reduction(c))});
    }

    /** The input as (N, C, H, W): a 1-D op's (N, C, L) input gets a height of 1. */
    private static Tensor lift(OnnxCall c, Tensor x) {
        if (x.dim() == 3) return x.unsqueeze(2);
        if (x.dim() != 4) throw new IllegalArgumentException(c.op() + ": Kiln maps 1-D and 2-D spatial ops (N, C, L) or (N, C, H, W); got input " + Arrays.toString(x.shape()));
        return x;
    }

    /** A result of a lifted op back in the rank of the op's input. */
    private static Tensor lower(Tensor input, Tensor y) { return input.dim() == 3 ? y.squeeze(2) : y; }

    // ---- window geometry -------------------------------------------------------------------------------------

    /** Kernel, strides, dilations and the four pads [top, left, bottom, right] of a 2-D windowed op. */
    private record Window(int[] kernel, int[] strides, int[] dilations, int[] pads) {
        boolean symmetric() { return pads[0] == pads[2] && pads[1] == pads[3]; }

        Conv2dSpec convSpec(int groups, boolean padded) {
            return new Conv2dSpec(strides[0], strides[1], padded ? pads[0] : 0, padded ? pads[1] : 0, dilations[0], dilations[1], groups);
        }

        Pool2dSpec poolSpec(boolean ceil, boolean padded) {
            return new Pool2dSpec(kernel[0], kernel[1], strides[0], strides[1], padded ? pads[0] : 0, padded ? pads[1] : 0, dilations[0], dilations[1], ceil);
        }
    }

    private static int[] ints(OnnxCall c, String name, int[] def) {
        long[] v = c.intsAttr(name, null);
        return v == null ? def : OnnxCall.ints(v);
    }

    /**
     * A per-axis attribute of a possibly 1-D op, in 2-D form: a 1-D op's one axis becomes the width, with
     * {@code heightValue} for the height ([k] to [1, k]; pads [b, e] to [0, b, 0, e]).
     */
    private static int[] spatialInts(OnnxCall c, String name, int[] def, boolean oneD, int heightValue) {
        int[] v = ints(c, name, null);
        if (v == null || !oneD) return v == null ? def : v;
        if (v.length == 1) return new int[] {heightValue, v[0]};
        if (v.length == 2) return new int[] {heightValue, v[0], heightValue, v[1]};
        return v;
    }

    /** Reads kernel_shape (or the weight's), strides, dilations, pads and auto_pad for input size (h, w). */
    private static Window window(OnnxCall c, int[] kernelFromWeight, int h, int w, boolean oneD) {
        int[] kernel = spatialInts(c, "kernel_shape", kernelFromWeight, oneD, 1);
        if (kernel == null || kernel.length != 2) throw new IllegalArgumentException(c.op() + ": needs a 1-D or 2-D kernel_shape");
        int[] strides = spatialInts(c, "strides", new int[] {1, 1}, oneD, 1), dilations = spatialInts(c, "dilations", new int[] {1, 1}, oneD, 1);
        int[] pads = spatialInts(c, "pads", new int[] {0, 0, 0, 0}, oneD, 0);
        String autoPad = c.stringAttr("auto_pad", "NOTSET");
        int[] in = {h, w};
        switch (autoPad) {
            case "NOTSET" -> { }
            case "VALID" -> pads = new int[4];
            case "SAME_UPPER", "SAME_LOWER" -> {
                pads = new int[4];
                for (int i = 0; i < 2; i++) {
                    int out = Math.ceilDiv(in[i], strides[i]);
                    int total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - in[i]);
                    int small = total / 2;
                    pads[i] = autoPad.equals("SAME_UPPER") ? small : total - small;
                    pads[i + 2] = total - pads[i];
                }
            }
            default -> throw new IllegalArgumentException(c.op() + ": unknown auto_pad '" + autoPad + "'");
        }
        return new Window(kernel, strides, dilations, pads);
    }

    private static Tensor padEdges(Tensor x, int[] pads, double value) {
        return Functional.pad2d(x, pads[1], pads[3], pads[0], pads[2], value);
    }

    // ---- convolution ---------------------------------------------------------------------------------------

    private static Tensor[] conv(OnnxCall c) {
        Tensor input = c.input(0), x = lift(c, input), weight = input.dim() == 3 ? c.input(1).unsqueeze(2) : c.input(1);
        Window win = window(c, new int[] {weight.size(2), weight.size(3)}, x.size(2), x.size(3), input.dim() == 3);
        int groups = (int) c.intAttr("group", 1);
        boolean direct = win.symmetric();
        Tensor in = direct ? x : padEdges(x, win.pads, 0);
        return new Tensor[] {lower(input, Functional.conv2d(in, weight, c.optionalInput(2), win.convSpec(groups, direct)))};
    }

    /**
     * ONNX sizes a transposed convolution by pads or by output_shape (and auto_pad). The mapping runs Kiln's
     * transposed convolution unpadded, with output padding for rows the result needs beyond the full output, and
     * cuts the pads from the edges.
     */
    private static Tensor[] convTranspose(OnnxCall c) {
        Tensor x = c.input(0), weight = c.input(1);
        if (x.dim() != 4) throw new IllegalArgumentException(c.op() + ": Kiln maps 2-D transposed convolution (N, C, H, W); got input " + Arrays.toString(x.shape()));
        int[] kernel = ints(c, "kernel_shape", new int[] {weight.size(2), weight.size(3)});
        int[] strides = ints(c, "strides", new int[] {1, 1}), dilations = ints(c, "dilations", new int[] {1, 1});
        int[] outputPadding = ints(c, "output_padding", new int[] {0, 0});
        int[] pads = ints(c, "pads", new int[] {0, 0, 0, 0});
        int[] outputShape = ints(c, "output_shape", null);
        String autoPad = c.stringAttr("auto_pad", "NOTSET");
        int groups = (int) c.intAttr("group", 1);
        int[] in = {x.size(2), x.size(3)};
        int[] full = new int[2];
        for (int i = 0; i < 2; i++) full[i] = strides[i] * (in[i] - 1) + outputPadding[i] + (kernel[i] - 1) * dilations[i] + 1;
        if (outputShape == null && (autoPad.equals("SAME_UPPER") || autoPad.equals("SAME_LOWER")))
            outputShape = new int[] {in[0] * strides[0], in[1] * strides[1]};
        if (outputShape != null) {
            int[] target = Arrays.copyOfRange(outputShape, outputShape.length - 2, outputShape.length);
            for (int i = 0; i < 2; i++) {
                int total = full[i] - target[i];
                // Floor division, as ONNX's reference computes it: a negative total leaves the start unpadded.
                int half = Math.floorDiv(total, 2);
                // ONNX puts the odd pad at the end for SAME_UPPER, at the start otherwise.
                pads[i] = autoPad.equals("SAME_UPPER") ? half : total - half;
                pads[i + 2] = total - pads[i];
            }
        } else if (autoPad.equals("VALID")) {
            pads = new int[4];
        }
        int[] extra = new int[2];
        for (int i = 0; i < 2; i++) {
            if (pads[i] < 0) throw new IllegalArgumentException("ConvTranspose: output larger than the full result at the leading edge is not mapped");
            if (pads[i + 2] < 0) {
                extra[i] = -pads[i + 2];
                pads[i + 2] = 0;
            }
        }
        Conv2dSpec spec = new Conv2dSpec(strides[0], strides[1], 0, 0, dilations[0], dilations[1], groups);
        Tensor y = Functional.convTranspose2d(x, weight, c.optionalInput(2), spec, outputPadding[0] + extra[0], outputPadding[1] + extra[1]);
        y = y.narrow(2, pads[0], y.size(2) - pads[0] - pads[2]).narrow(3, pads[1], y.size(3) - pads[1] - pads[3]);
        return new Tensor[] {y};
    }

    // ---- pooling -------------------------------------------------------------------------------------------

    /** Kiln's pooling pads symmetrically, by less than the dilated window; other pads are applied explicitly. */
    private static boolean poolPadsDirectly(Window win) {
        for (int i = 0; i < 2; i++)
            if (win.pads[i] != win.pads[i + 2] || win.pads[i] >= win.dilations[i] * (win.kernel[i] - 1) + 1) return false;
        return true;
    }

    private static Tensor[] maxPool(OnnxCall c) {
        Tensor input = c.input(0), x = lift(c, input);
        Window win = window(c, null, x.size(2), x.size(3), input.dim() == 3);
        boolean ceil = c.boolAttr("ceil_mode", false);
        long storageOrder = c.intAttr("storage_order", 0);
        boolean direct = poolPadsDirectly(win);
        if (!direct && c.wantsOutput(1))
            throw new IllegalArgumentException("MaxPool: indices with pads " + Arrays.toString(win.pads) + " are not mapped (explicit padding shifts them)");
        Tensor in = direct ? x : padEdges(x, win.pads, Double.NEGATIVE_INFINITY);
        Tensor.ValuesIndices r = Functional.maxPool2dWithIndices(in, win.poolSpec(ceil, direct));
        return new Tensor[] {lower(input, r.values()), c.wantsOutput(1) ? lower(input, onnxIndices(r.indices(), x, storageOrder)) : null};
    }

    /**
     * Kiln's max-pool indices count within each (H, W) plane, row-major; ONNX's count over the whole tensor, with the
     * plane row-major (storage_order 0) or column-major (1).
     */
    private static Tensor onnxIndices(Tensor planeIndex, Tensor x, long storageOrder) {
        int n = x.size(0), ch = x.size(1), h = x.size(2), w = x.size(3);
        Tensor within = planeIndex;
        if (storageOrder == 1) {
            // In int64 (the division is exact, as col is taken off first): no float64 on the device.
            Tensor col = planeIndex.remainder(w);
            Tensor row = planeIndex.sub(col).div(w).to(DType.INT64);
            within = col.mul(h).add(row);
        }
        Tensor planeStart = Tensor.arange(0, (double) n * ch, 1, DType.INT64, x.device()).mul(h * w).reshape(n, ch, 1, 1);
        return within.add(planeStart);
    }

    private static Tensor[] averagePool(OnnxCall c) {
        Tensor input = c.input(0), x = lift(c, input);
        Window win = window(c, null, x.size(2), x.size(3), input.dim() == 3);
        boolean ceil = c.boolAttr("ceil_mode", false);
        boolean countPad = c.boolAttr("count_include_pad", false);
        if (poolPadsDirectly(win)) return new Tensor[] {lower(input, Functional.avgPool2d(x, win.poolSpec(ceil, true), countPad))};
        Pool2dSpec spec = win.poolSpec(ceil, false);
        Tensor y = Functional.avgPool2d(padEdges(x, win.pads, 0), spec, true);
        if (!countPad) {
            // Pads Kiln cannot apply itself: the mean over the padded window, rescaled by the share of it that is
            // input (the same pooling of a mask of ones), is the mean over the input elements alone.
            Tensor ones = Tensor.ones(x.dtype(), x.device(), 1, 1, x.size(2), x.size(3));
            y = y.div(Functional.avgPool2d(padEdges(ones, win.pads, 0), spec, true));
        }
        return new Tensor[] {lower(input, y)};
    }

    // ---- normalisation and dropout -------------------------------------------------------------------------

    private static Tensor[] batchNorm(OnnxCall c) {
        Tensor x = c.input(0), scale = c.input(1), bias = c.input(2), mean = c.input(3), var = c.input(4);
        double eps = c.floatAttr("epsilon", 1e-5f), momentum = c.floatAttr("momentum", 0.9f);
        boolean training = c.opset() >= 14 && c.boolAttr("training_mode", false);
        if (!training) return new Tensor[] {Functional.batchNorm(x, mean, var, scale, bias, false, 0, eps)};
        // ONNX's momentum weighs the old running value (PyTorch's the new), its running variance is the biased
        // batch variance, and the running tensors are outputs rather than updated in place.
        Tensor runningMean = mean.clone(), runningVar = var.clone();
        Tensor y = Functional.batchNorm(x, runningMean, runningVar, scale, bias, true, 1 - momentum, eps, false);
        return new Tensor[] {y, runningMean, runningVar};
    }

    private static Tensor[] layerNorm(OnnxCall c) {
        Tensor x = c.input(0);
        int axis = Math.floorMod((int) c.intAttr("axis", -1), x.dim());
        long stash = c.intAttr("stash_type", 1);
        if (stash != 1 && OnnxOps.dtypeOf(stash, "LayerNormalization") != x.dtype())
            throw new IllegalArgumentException("LayerNormalization: stash_type " + stash + " differs from the input type; Kiln computes in the input's type");
        double eps = c.floatAttr("epsilon", 1e-5f);
        int[] normalized = Arrays.copyOfRange(x.shape(), axis, x.dim());
        Functional.NormalizedWithStatistics r = Functional.layerNormWithStatistics(x, normalized, c.input(1), c.optionalInput(2), eps);
        return new Tensor[] {r.output(), r.mean(), r.invStd()};
    }

    private static Tensor[] dropout(OnnxCall c) {
        Tensor x = c.input(0);
        double ratio;
        boolean training;
        if (c.opset() >= 12) {
            ratio = c.optionalInput(1) == null ? 0.5 : c.input(1).item();
            training = c.optionalInput(2) != null && c.input(2).item() != 0;
        } else {
            ratio = c.floatAttr("ratio", 0.5f);
            training = c.opset() < 7 && !c.boolAttr("is_test", false);
        }
        // ONNX's seed cannot reproduce ONNX's generator, but it does make Kiln's draws repeatable.
        long seed = c.intAttr("seed", 0);
        if (training && c.hasAttr("seed")) Kiln.manualSeed(seed);
        Tensor y = Functional.dropout(x, ratio, training);
        Tensor mask = null;
        if (c.wantsOutput(1)) {
            if (training && ratio > 0)
                throw new IllegalArgumentException("Dropout: Kiln's dropout does not return the mask it drew (training, ratio " + ratio + ")");
            // Outside training, or with ratio 0, Kiln's dropout keeps every element.
            mask = Tensor.ones(DType.BOOL, x.device(), x.shape());
        }
        return new Tensor[] {y, mask};
    }

    // ---- losses ---------------------------------------------------------------------------------------------

    private static Reduction reduction(OnnxCall c) {
        return Reduction.valueOf(c.stringAttr("reduction", "mean").toUpperCase(Locale.ROOT));
    }

    /** ONNX has no ignore_index unless given; Kiln's default (-100) is never a valid class. */
    private static int ignoreIndex(OnnxCall c) { return (int) c.intAttr("ignore_index", Functional.IGNORE_INDEX); }
}
