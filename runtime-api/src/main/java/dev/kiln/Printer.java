package dev.kiln;

/** PyTorch-like text for a tensor: values (elided past a few per dimension), dtype, device, grad state. */
final class Printer {
    private static final int EDGE = 3;

    private Printer() {}

    static String format(Tensor t) {
        if (t.storage.isFreed()) return "tensor(<closed>, shape=" + Shapes.str(t.shape()) + ", dtype=" + t.dtype() + ")";
        StringBuilder sb = new StringBuilder("tensor(");
        if (t.numel() > 0 && t.numel() <= 100_000) {
            double[] v = t.toDoubleArray();
            append(sb, v, t.shape(), 0, 0, t.dtype());
        } else {
            sb.append("[...]");
        }
        sb.append(", shape=").append(Shapes.str(t.shape())).append(", dtype=").append(t.dtype()).append(", device=").append(t.device());
        if (t.gradFn() != null) sb.append(", grad_fn=").append(t.gradFn());
        else if (t.requiresGrad()) sb.append(", requires_grad=true");
        return sb.append(')').toString();
    }

    private static void append(StringBuilder sb, double[] v, int[] shape, int dim, int base, DType dt) {
        if (dim == shape.length) {
            sb.append(value(v[base], dt));
            return;
        }
        int n = shape[dim];
        int stride = 1;
        for (int i = dim + 1; i < shape.length; i++) stride *= shape[i];
        sb.append('[');
        for (int i = 0; i < n; i++) {
            if (n > 2 * EDGE && i == EDGE) {
                sb.append("..., ");
                i = n - EDGE;
            }
            append(sb, v, shape, dim + 1, base + i * stride, dt);
            if (i < n - 1) sb.append(", ");
        }
        sb.append(']');
    }

    private static String value(double x, DType dt) {
        if (dt == DType.BOOL) return x != 0 ? "true" : "false";
        if (!dt.isFloatingPoint()) return Long.toString((long) x);
        return String.format(java.util.Locale.ROOT, "%.4f", x);
    }
}
