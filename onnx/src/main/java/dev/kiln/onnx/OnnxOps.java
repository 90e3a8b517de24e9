package dev.kiln.onnx;

import dev.kiln.DType;
import dev.kiln.Einsum;
import dev.kiln.Tensor;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BinaryOperator;
import java.util.function.UnaryOperator;

/**
 * The map from ONNX op types to Kiln's public API. Each mapping only translates: it reads attributes (with the
 * ONNX default for the node's opset), calls Kiln ops, and arranges their results as the ONNX outputs. Parameters
 * that ONNX passes as tensors (axes, shapes) are read back to the host, as a runtime must. No mapping computes
 * values of its own: what Kiln lacked was added to Kiln. The one kind of arithmetic here is translating index
 * conventions with Kiln ops (Gather's negative indices, MaxPool's whole-tensor flat indices).
 */
final class OnnxOps {
    private OnnxOps() {}

    /** One ONNX op: results by output position (an unrequested optional output may be left null). */
    @FunctionalInterface
    interface Mapping {
        Tensor[] run(OnnxCall call);
    }

    private static final Map<String, Mapping> ALL = new HashMap<>();

    static {
        registerElementwise();
        registerShapes();
        registerReductions();
        registerLinearAlgebra();
        OnnxNnOps.register(ALL);
        OnnxSequenceOps.register(ALL);
        OnnxTensorOps.register(ALL);
        OnnxResize.register(ALL);
        OnnxControlFlowOps.register(ALL);
    }

    /** The mapping of {@code op} in {@code domain} ({@code ai.onnx} or empty for the default), or null when Kiln has none. */
    static Mapping find(String domain, String op) {
        return domain.isEmpty() || domain.equals(OnnxModel.DEFAULT_DOMAIN) ? ALL.get(op) : null;
    }

    private static Tensor[] one(Tensor t) { return new Tensor[] {t}; }

    private static void unary(String op, UnaryOperator<Tensor> f) { ALL.put(op, c -> one(f.apply(c.input(0)))); }

    private static void binary(String op, BinaryOperator<Tensor> f) { ALL.put(op, c -> one(f.apply(c.input(0), c.input(1)))); }

    private static void registerElementwise() {
        unary("Abs", Tensor::abs);
        unary("Neg", Tensor::neg);
        unary("Exp", Tensor::exp);
        unary("Log", Tensor::log);
        unary("Sqrt", Tensor::sqrt);
        unary("Tanh", Tensor::tanh);
        unary("Sigmoid", Tensor::sigmoid);
        unary("Relu", Tensor::relu);
        unary("Softplus", Tensor::softplus);
        unary("Identity", t -> t);
        unary("Not", Tensor::logicalNot);
        unary("Reciprocal", Tensor::reciprocal);
        unary("Floor", Tensor::floor);
        unary("Ceil", Tensor::ceil);
        unary("Round", Tensor::round);
        unary("Erf", Tensor::erf);
        unary("Sign", Tensor::sign);
        unary("Sin", Tensor::sin);
        unary("Cos", Tensor::cos);
        unary("IsNaN", Tensor::isNan);
        binary("Equal", Tensor::eq);
        binary("Less", Tensor::lt);
        binary("LessOrEqual", Tensor::le);
        binary("Greater", Tensor::gt);
        binary("GreaterOrEqual", Tensor::ge);
        binary("And", Tensor::logicalAnd);
        binary("Or", Tensor::logicalOr);
        binary("Xor", Tensor::ne);
        variadic("Max", Tensor::maximum);
        variadic("Min", Tensor::minimum);
        variadic("Sum", Tensor::add);
        ALL.put("Mean", c -> one(fold(c, Tensor::add).div(c.presentInputs().size())));
        ALL.put("HardSigmoid", c -> one(hardSigmoid(c.input(0), c.floatAttr("alpha", 0.2f), c.floatAttr("beta", 0.5f))));
        ALL.put("HardSwish", c -> one(c.input(0).mul(hardSigmoid(c.input(0), 1 / 6.0, 0.5))));
        ALL.put("PRelu", c -> {
            Tensor x = c.input(0);
            return one(Tensor.where(x.lt(0), x.mul(c.input(1)), x));
        });
        binary("Add", Tensor::add);
        binary("Sub", Tensor::sub);
        binary("Mul", Tensor::mul);
        binary("Div", Tensor::div);
        binary("Pow", Tensor::pow);
        ALL.put("LeakyRelu", c -> one(c.input(0).leakyRelu(c.floatAttr("alpha", 0.01f))));
        ALL.put("Elu", c -> one(c.input(0).elu(c.floatAttr("alpha", 1.0f))));
        ALL.put("Gelu", c -> {
            String approximate = c.stringAttr("approximate", "none");
            return switch (approximate) {
                case "none" -> one(c.input(0).gelu(false));
                case "tanh" -> one(c.input(0).gelu(true));
                default -> throw new IllegalArgumentException("Gelu: unknown approximate '" + approximate + "'");
            };
        });
        ALL.put("Clip", c -> {
            // Opset 11+ takes the bounds as optional scalar inputs; before, as attributes.
            double min = Double.NaN, max = Double.NaN;
            if (c.opset() >= 11) {
                if (c.optionalInput(1) != null) min = c.input(1).item();
                if (c.optionalInput(2) != null) max = c.input(2).item();
            } else {
                min = c.floatAttr("min", Float.NEGATIVE_INFINITY);
                max = c.floatAttr("max", Float.POSITIVE_INFINITY);
            }
            return one(c.input(0).clamp(min, max));
        });
        ALL.put("Where", c -> one(Tensor.where(c.input(0), c.input(1), c.input(2))));
        ALL.put("Cast", c -> one(c.input(0).to(dtypeOf(c.intAttr("to", -1), "Cast"))));
        ALL.put("Softmax", c -> one(softmax(c, false)));
        ALL.put("LogSoftmax", c -> one(softmax(c, true)));
    }

    private static void variadic(String op, BinaryOperator<Tensor> f) { ALL.put(op, c -> one(fold(c, f))); }

    private static Tensor fold(OnnxCall c, BinaryOperator<Tensor> f) {
        return c.presentInputs().stream().reduce(f).orElseThrow(() -> new IllegalArgumentException(c.op() + ": needs at least one input"));
    }

    /** max(0, min(1, alpha x + beta)). */
    private static Tensor hardSigmoid(Tensor x, double alpha, double beta) { return x.mul(alpha).add(beta).clamp(0, 1); }

    /** ONNX TensorProto.DataType codes that Kiln has. */
    static DType dtypeOf(long onnxType, String op) {
        return switch ((int) onnxType) {
            case 1 -> DType.FLOAT32;
            // Kiln has no 8- and 16-bit integers: they are held as int32 (values unchanged, not wrapped).
            case 2, 3, 4, 5, 6 -> DType.INT32;
            case 7 -> DType.INT64;
            case 9 -> DType.BOOL;
            case 10 -> DType.FLOAT16;
            case 11 -> DType.FLOAT64;
            case 16 -> DType.BFLOAT16;
            default -> throw new IllegalArgumentException(op + ": ONNX data type " + onnxType + " has no Kiln dtype");
        };
    }

    private static Tensor softmax(OnnxCall c, boolean log) {
        Tensor x = c.input(0);
        if (c.opset() >= 13) {
            int axis = (int) c.intAttr("axis", -1);
            return log ? x.logSoftmax(axis) : x.softmax(axis);
        }
        // Before opset 13 the input is read as a 2-D matrix split at axis (default 1), normalised per row.
        int axis = Math.floorMod((int) c.intAttr("axis", 1), Math.max(1, x.dim()));
        int[] shape = x.shape();
        Tensor rows = x.flatten(axis, -1);
        if (axis > 0) rows = rows.flatten(0, axis - 1);
        else rows = rows.unsqueeze(0);
        return (log ? rows.logSoftmax(1) : rows.softmax(1)).reshape(shape);
    }

    private static void registerShapes() {
        ALL.put("Transpose", c -> {
            Tensor x = c.input(0);
            long[] perm = c.intsAttr("perm", null);
            int[] dims = new int[x.dim()];
            for (int i = 0; i < dims.length; i++) dims[i] = perm == null ? dims.length - 1 - i : (int) perm[i];
            return one(x.permute(dims));
        });
        ALL.put("Reshape", c -> {
            Tensor x = c.input(0);
            int[] target = OnnxCall.ints(OnnxCall.longs(c.input(1)));
            boolean allowZero = c.boolAttr("allowzero", false);
            // ONNX: a 0 copies the input's dimension unless allowzero; -1 is inferred as in Kiln.
            if (!allowZero)
                for (int i = 0; i < target.length; i++) if (target[i] == 0) target[i] = x.shape()[i];
            return one(x.reshape(target));
        });
        ALL.put("Flatten", c -> {
            Tensor x = c.input(0);
            int axis = (int) c.intAttr("axis", 1);
            if (axis < 0) axis += x.dim();
            int outer = 1, inner = 1;
            for (int i = 0; i < x.dim(); i++) {
                if (i < axis) outer *= x.shape()[i];
                else inner *= x.shape()[i];
            }
            return one(x.reshape(outer, inner));
        });
        ALL.put("Concat", c -> one(Tensor.cat(c.presentInputs(), (int) c.intAttr("axis", 0))));
        ALL.put("Squeeze", c -> {
            long[] axes = c.opset() >= 13
                    ? (c.optionalInput(1) == null ? null : OnnxCall.longs(c.input(1)))
                    : c.intsAttr("axes", null);
            return one(axes == null ? c.input(0).squeeze() : c.input(0).squeeze(OnnxCall.ints(axes)));
        });
        ALL.put("Unsqueeze", c -> {
            long[] axes = c.opset() >= 13 ? OnnxCall.longs(c.input(1)) : c.intsAttr("axes", null);
            Tensor x = c.input(0);
            // Axes index the output, so normalise against its rank and insert in ascending order.
            int rank = x.dim() + axes.length;
            int[] sorted = new int[axes.length];
            for (int i = 0; i < axes.length; i++) sorted[i] = (int) Math.floorMod(axes[i], (long) rank);
            Arrays.sort(sorted);
            for (int a : sorted) x = x.unsqueeze(a);
            return one(x);
        });
        ALL.put("Gather", c -> {
            Tensor x = c.input(0), indices = c.input(1);
            int axis = Math.floorMod((int) c.intAttr("axis", 0), x.dim());
            // ONNX counts negative indices from the end; index_select takes them non-negative and 1-D.
            Tensor wrapped = Tensor.where(indices.lt(0), indices.add(x.size(axis)), indices);
            int[] shape = new int[x.dim() - 1 + indices.dim()];
            int k = 0;
            for (int i = 0; i < axis; i++) shape[k++] = x.size(i);
            for (int d : indices.shape()) shape[k++] = d;
            for (int i = axis + 1; i < x.dim(); i++) shape[k++] = x.size(i);
            return one(x.indexSelect(axis, wrapped.reshape(-1)).reshape(shape));
        });
    }

    private static void registerReductions() {
        ALL.put("ReduceSum", c -> reduce(c, 13, (x, axes, keep) -> x.sum(axes, keep)));
        ALL.put("ReduceMean", c -> reduce(c, 18, (x, axes, keep) -> x.mean(axes, keep)));
        ALL.put("ReduceMax", c -> reduce(c, 18, (x, axes, keep) -> x.amax(axes, keep)));
        ALL.put("ReduceMin", c -> reduce(c, 18, (x, axes, keep) -> x.amin(axes, keep)));
        ALL.put("ReduceProd", c -> reduce(c, 18, (x, axes, keep) -> x.prod(axes, keep)));
        ALL.put("ArgMax", c -> one(argReduce(c, true)));
        ALL.put("ArgMin", c -> one(argReduce(c, false)));
    }

    private interface Reduction {
        Tensor apply(Tensor x, int[] axes, boolean keepDim);
    }

    /** ONNX reductions: axes from an input from {@code axesInputSince}, else an attribute; empty means all or none. */
    private static Tensor[] reduce(OnnxCall c, int axesInputSince, Reduction r) {
        Tensor x = c.input(0);
        long[] axes = c.opset() >= axesInputSince
                ? (c.optionalInput(1) == null ? new long[0] : OnnxCall.longs(c.input(1)))
                : c.intsAttr("axes", new long[0]);
        boolean keep = c.boolAttr("keepdims", true);
        boolean noopWhenEmpty = c.opset() >= axesInputSince && c.boolAttr("noop_with_empty_axes", false);
        if (axes.length == 0) {
            if (noopWhenEmpty) return one(x.clone());
            axes = new long[x.dim()];
            for (int i = 0; i < axes.length; i++) axes[i] = i;
        }
        return one(r.apply(x, OnnxCall.ints(axes), keep));
    }

    private static Tensor argReduce(OnnxCall c, boolean max) {
        Tensor x = c.input(0);
        int axis = Math.floorMod((int) c.intAttr("axis", 0), x.dim());
        boolean keep = c.boolAttr("keepdims", true);
        if (c.boolAttr("select_last_index", false)) {
            // The last of equal extremes is the first of the flipped axis, counted from the end.
            Tensor flipped = max ? x.flip(axis).argmax(axis, keep) : x.flip(axis).argmin(axis, keep);
            return flipped.rsub(x.size(axis) - 1);
        }
        return max ? x.argmax(axis, keep) : x.argmin(axis, keep);
    }

    private static void registerLinearAlgebra() {
        binary("MatMul", Tensor::matmul);
        ALL.put("Gemm", c -> {
            Tensor a = c.boolAttr("transA", false) ? c.input(0).t() : c.input(0);
            Tensor b = c.boolAttr("transB", false) ? c.input(1).t() : c.input(1);
            double alpha = c.floatAttr("alpha", 1f), beta = c.floatAttr("beta", 1f);
            Tensor y = a.matmul(b);
            if (alpha != 1) y = y.mul(alpha);
            Tensor bias = c.optionalInput(2);
            if (bias != null) y = y.add(beta == 1 ? bias : bias.mul(beta));
            return one(y);
        });
        ALL.put("Einsum", c -> one(Einsum.einsum(c.stringAttr("equation", null), c.presentInputs().toArray(Tensor[]::new))));
    }
}
