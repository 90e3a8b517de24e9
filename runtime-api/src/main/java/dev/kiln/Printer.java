package dev.kiln;

import dev.kiln.autograd.GradMode;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/**
 * PyTorch's tensor text, character for character where the two can agree: the same layout (a row per line, nested
 * brackets, blank lines between matrices, rows wrapped at the line width), the same summarising ({@code ...} past
 * the threshold, edge items at each end), the same number formats (integer-valued floats as {@code 1.}, fixed or
 * scientific notation chosen the same way, Python's round-half-even), and the suffixes PyTorch adds (device when
 * not the CPU, dtype when not float32/int64/bool, {@code grad_fn}, {@code requires_grad=True}). Kiln's own names
 * stand in for PyTorch's ({@code dtype=float64}, {@code device='opencl:0'}, {@code grad_fn=<mulBackward>}).
 */
final class Printer {
    private static final String PREFIX = "tensor(";

    private Printer() {}

    static String format(Tensor t) {
        if (t.storage.isFreed()) return "tensor(<closed>, shape=" + Shapes.str(t.shape()) + ", dtype=" + t.dtype() + ")";
        PrintOptions o = Kiln.printOptions();
        List<String> suffixes = new ArrayList<>();
        if (!t.device().type().equals(Device.CPU.type())) suffixes.add("device='" + t.device() + "'");
        String body;
        if (t.numel() == 0) {
            body = "[]";
            if (t.dim() != 1) suffixes.add("size=" + pythonTuple(t.shape()));
            if (t.dtype() != DType.FLOAT32) suffixes.add("dtype=" + t.dtype());
        } else {
            body = body(t, o);
            if (t.dtype() != DType.FLOAT32 && t.dtype() != DType.INT64 && t.dtype() != DType.BOOL) suffixes.add("dtype=" + t.dtype());
        }
        if (t.gradFn() != null) suffixes.add("grad_fn=<" + t.gradFn() + ">");
        else if (t.requiresGrad()) suffixes.add("requires_grad=True");
        return withSuffixes(PREFIX + body, suffixes, o.lineWidth());
    }

    private static String body(Tensor t, PrintOptions o) {
        int[] shape = t.shape();
        boolean summarize = t.numel() > o.threshold();
        if (summarize && o.edgeItems() == 0) return t.dim() == 0 ? "..." : "[...]";
        int edge = o.edgeItems();
        boolean[] cut = new boolean[shape.length];
        int[] printed = shape.clone();
        for (int d = 0; d < shape.length; d++) {
            cut[d] = summarize && shape[d] > 2 * edge;
            if (cut[d]) printed[d] = 2 * edge;
        }
        String[] cells;
        try (GradMode g = GradMode.noGrad(); Scope s = Scope.open()) {
            cells = cells(edges(t, cut, edge), o);
        }
        if (shape.length == 0) return cells[0];
        return nested(new Layout(cells, printed, cut, edge, o.lineWidth()), 0, 0, PREFIX.length());
    }

    /** The entries that will be printed: each summarised dimension reduced to its first and last {@code edge}. */
    private static Tensor edges(Tensor t, boolean[] cut, int edge) {
        Tensor r = t;
        for (int d = 0; d < cut.length; d++) {
            if (!cut[d]) continue;
            int n = r.size(d);
            r = Tensor.cat(List.of(r.narrow(d, 0, edge), r.narrow(d, n - edge, edge)), d);
        }
        return r;
    }

    /** Every printed entry as text, right-aligned to PyTorch's common width. */
    private static String[] cells(Tensor printed, PrintOptions o) {
        DType dt = printed.dtype();
        if (dt.isFloatingPoint()) return new FloatFormat(printed.toDoubleArray(), o).cells();
        String[] cells;
        if (dt == DType.BOOL) {
            boolean[] v = printed.toBooleanArray();
            cells = new String[v.length];
            for (int i = 0; i < v.length; i++) cells[i] = v[i] ? "True" : "False";
        } else {
            long[] v = printed.toLongArray();
            cells = new String[v.length];
            for (int i = 0; i < v.length; i++) cells[i] = Long.toString(v[i]);
        }
        int width = 1;
        for (String c : cells) width = Math.max(width, c.length());
        return pad(cells, width);
    }

    private static String[] pad(String[] cells, int width) {
        for (int i = 0; i < cells.length; i++) cells[i] = " ".repeat(Math.max(0, width - cells[i].length())) + cells[i];
        return cells;
    }

    /** The printed entries (row-major over the reduced shape) and how to lay them out. */
    private record Layout(String[] cells, int[] shape, boolean[] cut, int edge, int lineWidth) {
        int width() { return cells[0].length(); }
    }

    /** PyTorch's {@code _tensor_str_with_formatter}: the sub-tensor at {@code base} from dimension {@code dim}. */
    private static String nested(Layout l, int dim, int base, int indent) {
        int n = l.shape[dim];
        int stride = 1;
        for (int d = dim + 1; d < l.shape.length; d++) stride *= l.shape[d];
        List<String> items = new ArrayList<>(n + 1);
        boolean vector = dim == l.shape.length - 1;
        for (int i = 0; i < n; i++) {
            if (l.cut[dim] && i == l.edge) items.add(vector ? " ..." : "...");
            items.add(vector ? l.cells[base + i] : nested(l, dim + 1, base + i * stride, indent + 1));
        }
        if (!vector) return "[" + String.join("," + "\n".repeat(l.shape.length - dim - 1) + " ".repeat(indent + 1), items) + "]";
        int perLine = Math.max(1, (l.lineWidth - indent) / (l.width() + 2));
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < items.size(); i += perLine) lines.add(String.join(", ", items.subList(i, Math.min(items.size(), i + perLine))));
        return "[" + String.join(",\n" + " ".repeat(indent + 1), lines) + "]";
    }

    /** PyTorch's {@code _add_suffixes}: on the last line while they fit in the line width, else on a new line. */
    private static String withSuffixes(String text, List<String> suffixes, int lineWidth) {
        StringBuilder sb = new StringBuilder(text);
        int lastLineLength = text.length() - text.lastIndexOf('\n') + 1;
        for (String suffix : suffixes) {
            if (lastLineLength + suffix.length() + 2 > lineWidth) {
                sb.append(",\n").append(" ".repeat(PREFIX.length())).append(suffix);
                lastLineLength = PREFIX.length() + suffix.length();
            } else {
                sb.append(", ").append(suffix);
                lastLineLength += suffix.length() + 2;
            }
        }
        return sb.append(')').toString();
    }

    private static String pythonTuple(int[] shape) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) sb.append(i > 0 ? ", " : "").append(shape[i]);
        return sb.append(shape.length == 1 ? ",)" : ")").toString();
    }

    /** PyTorch's {@code _Formatter} for floating-point values. */
    private static final class FloatFormat {
        private final double[] values;
        private final int precision;
        private boolean intMode = true;
        private boolean sciMode;
        private int width = 1;

        FloatFormat(double[] values, PrintOptions o) {
            this.values = values;
            this.precision = o.precision();
            double min = Double.POSITIVE_INFINITY, max = 0;
            int nonzeroFinite = 0;
            for (double v : values) {
                if (v == 0 || !Double.isFinite(v)) continue;
                nonzeroFinite++;
                min = Math.min(min, Math.abs(v));
                max = Math.max(max, Math.abs(v));
                if (v != Math.ceil(v)) intMode = false;
            }
            if (nonzeroFinite > 0) {
                sciMode = max / min > 1000.0 || max > 1.0e8 || (!intMode && min < 1.0e-4);
                for (double v : values) {
                    if (v == 0 || !Double.isFinite(v)) continue;
                    int length = sciMode ? scientific(v).length() : intMode ? fixed(v, 0).length() + 1 : fixed(v, precision).length();
                    width = Math.max(width, length);
                }
            }
            if (o.sciMode() != null) sciMode = o.sciMode();
        }

        String[] cells() {
            String[] cells = new String[values.length];
            for (int i = 0; i < values.length; i++) cells[i] = format(values[i]);
            return pad(cells, width);
        }

        private String format(double v) {
            if (sciMode) return scientific(v);
            if (intMode) return Double.isFinite(v) ? fixed(v, 0) + "." : fixed(v, 0);
            return fixed(v, precision);
        }

        /** Python's {@code '{:.Nf}'}: round half to even on the exact binary value; nan, inf, -inf. */
        private static String fixed(double v, int digits) {
            if (!Double.isFinite(v)) return nonFinite(v);
            return sign(v) + new BigDecimal(Math.abs(v)).setScale(digits, RoundingMode.HALF_EVEN).toPlainString();
        }

        /** Python's {@code '{:.Ne}'}: mantissa with N decimals, exponent signed and at least two digits. */
        private String scientific(double v) {
            if (!Double.isFinite(v)) return nonFinite(v);
            int exponent = 0;
            BigDecimal mantissa = BigDecimal.ZERO.setScale(precision);
            if (v != 0) {
                BigDecimal rounded = new BigDecimal(Math.abs(v)).round(new MathContext(precision + 1, RoundingMode.HALF_EVEN));
                exponent = rounded.precision() - rounded.scale() - 1;
                mantissa = rounded.movePointLeft(exponent).setScale(precision, RoundingMode.UNNECESSARY);
            }
            return sign(v) + mantissa.toPlainString() + "e" + (exponent < 0 ? "-" : "+") + (Math.abs(exponent) < 10 ? "0" : "") + Math.abs(exponent);
        }

        private static String sign(double v) { return v < 0 || (v == 0 && 1 / v < 0) ? "-" : ""; }

        private static String nonFinite(double v) { return Double.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf"; }
    }
}
