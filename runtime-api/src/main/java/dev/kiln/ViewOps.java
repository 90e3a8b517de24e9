package dev.kiln;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.lang.ref.Reference;

/** Ops that re-describe storage without copying it (plus copy, cat and stack), with their gradients. */
final class ViewOps {
    private ViewOps() {}

    static Tensor copy(Tensor x) {
        x.checkOpen("copy");
        Tensor out = Tensor.allocate(x.backend(), x.dtype(), x.view.shape());
        if (out.numel() > 0) x.backend().copy(x.view, out.view);
        Reference.reachabilityFence(new Object[] {x, out});
        return Autograd.record("copy", out, x, g -> new Tensor[] {g});
    }

    static Tensor reshape(Tensor x, int... shape) {
        int[] s = Shapes.infer("reshape", shape, x.numel(), x.view.shape());
        long[] strides = viewStrides(x.view.shape(), x.view.strides(), s);
        if (strides == null) {
            try (Tensor dense = copy(x)) {
                return reshape(dense, s);
            }
        }
        return viewWithGrad("reshape", x, s, strides, x.offset());
    }

    static Tensor view(Tensor x, int... shape) {
        int[] s = Shapes.infer("view", shape, x.numel(), x.view.shape());
        long[] strides = viewStrides(x.view.shape(), x.view.strides(), s);
        if (strides == null)
            throw new IllegalArgumentException("view: shape " + Shapes.str(s) + " is not compatible with the strides " + Arrays.toString(x.strides())
                    + " of a tensor of shape " + Shapes.str(x.shape()) + "; use reshape(), which copies when it must");
        return viewWithGrad("view", x, s, strides, x.offset());
    }

    /** A view of x with new geometry whose gradient is the incoming one reshaped back. */
    private static Tensor viewWithGrad(String op, Tensor x, int[] shape, long[] strides, long offset) {
        Tensor out = x.share(shape, strides, offset);
        int[] original = x.view.shape(); // views never modify their shape arrays
        return Autograd.record(op, out, x, g -> new Tensor[] {g.reshape(original)});
    }

    /**
     * Strides that let {@code newShape} view a tensor with {@code shape} and {@code strides}, or null when the
     * layout does not allow it. Dimensions are consumed in runs that are contiguous among themselves, and each run
     * must map onto whole dimensions of the new shape (the same rule as PyTorch's view).
     */
    static long[] viewStrides(int[] shape, long[] strides, int[] newShape) {
        if (Shapes.numel(shape) == 0 || shape.length == 0) return dev.kiln.backend.View.contiguousStrides(newShape);
        long[] out = new long[newShape.length];
        int viewD = newShape.length - 1;
        long chunkBaseStride = strides[strides.length - 1];
        long tensorNumel = 1, viewNumel = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            tensorNumel *= shape[d];
            boolean runEnds = d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensorNumel * chunkBaseStride);
            if (!runEnds) continue;
            while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] == 1)) {
                out[viewD] = viewNumel * chunkBaseStride;
                viewNumel *= newShape[viewD];
                viewD--;
            }
            if (viewNumel != tensorNumel) return null;
            if (d > 0) {
                chunkBaseStride = strides[d - 1];
                tensorNumel = 1;
                viewNumel = 1;
            }
        }
        return viewD == -1 ? out : null;
    }

    static Tensor permute(Tensor x, int... dims) {
        int r = x.dim();
        if (dims.length != r)
            throw new IllegalArgumentException("permute: " + dims.length + " dimensions " + Arrays.toString(dims) + " for a tensor of rank " + r);
        int[] perm = new int[r];
        boolean[] seen = new boolean[r];
        int[] shape = x.shape();
        long[] strides = x.strides();
        int[] ns = new int[r];
        long[] nst = new long[r];
        for (int i = 0; i < r; i++) {
            int d = Shapes.axis("permute", dims[i], r);
            if (seen[d]) throw new IllegalArgumentException("permute: dimension " + d + " repeats in " + Arrays.toString(dims));
            seen[d] = true;
            perm[i] = d;
            ns[i] = shape[d];
            nst[i] = strides[d];
        }
        int[] inverse = new int[r];
        for (int i = 0; i < r; i++) inverse[perm[i]] = i;
        Tensor out = x.share(ns, nst, x.offset());
        return Autograd.record("permute", out, x, g -> new Tensor[] {g.permute(inverse)});
    }

    static Tensor transpose(Tensor x, int d0, int d1) {
        int r = x.dim();
        int a = Shapes.axis("transpose", d0, r), b = Shapes.axis("transpose", d1, r);
        int[] perm = new int[r];
        for (int i = 0; i < r; i++) perm[i] = i;
        perm[a] = b;
        perm[b] = a;
        return permute(x, perm);
    }

    static Tensor slice(Tensor x, int dim, int start, int end, int step) {
        int d = Shapes.axis("slice", dim, x.dim());
        int n = x.shape()[d];
        if (step <= 0) throw new IllegalArgumentException("slice: step must be positive, got " + step);
        int s = start < 0 ? Math.max(0, start + n) : Math.min(start, n);
        int e = end < 0 ? Math.max(0, end + n) : Math.min(end, n);
        int len = Math.max(0, (e - s + step - 1) / step);
        int[] shape = x.shape();
        long[] strides = x.strides();
        shape[d] = len;
        long offset = x.offset() + (long) s * strides[d];
        strides[d] *= step;
        Tensor out = x.share(shape, strides, offset);
        int[] inShape = x.shape();
        DType dt = x.dtype();
        Device dev = x.device();
        return Autograd.record("slice", out, x, g -> {
            Tensor gx = Tensor.zeros(dt, dev, inShape);
            try (Tensor window = slice(gx, d, s, s + len * step, step)) {
                window.copy_(g);
            }
            return new Tensor[] {gx};
        });
    }

    static Tensor narrow(Tensor x, int dim, int start, int length) {
        int d = Shapes.axis("narrow", dim, x.dim());
        int n = x.shape()[d];
        int s = start < 0 ? start + n : start;
        if (s < 0 || length < 0 || s + length > n)
            throw new IllegalArgumentException("narrow: start " + start + " and length " + length + " out of range for dimension " + d
                    + " of size " + n + " (shape " + Shapes.str(x.shape()) + ")");
        return slice(x, d, s, s + length, 1);
    }

    static Tensor select(Tensor x, int dim, int index) {
        int d = Shapes.axis("select", dim, x.dim());
        int n = x.shape()[d];
        int i = index < 0 ? index + n : index;
        if (i < 0 || i >= n)
            throw new IllegalArgumentException("select: index " + index + " out of range for dimension " + d + " of size " + n);
        try (Tensor row = narrow(x, d, i, 1)) {
            return squeeze(row, new int[] {d});
        }
    }

    static Tensor expand(Tensor x, int... shape) {
        int r = shape.length;
        int[] in = x.view.shape();
        long[] st = x.view.strides();
        if (r < in.length)
            throw new IllegalArgumentException("expand: cannot expand shape " + Shapes.str(in) + " to fewer dimensions " + Shapes.str(shape));
        int[] ns = new int[r];
        long[] nst = new long[r];
        for (int i = 0; i < r; i++) {
            int j = i - (r - in.length);
            int want = shape[i];
            if (j < 0) {
                if (want < 0) throw new IllegalArgumentException("expand: -1 not allowed for new leading dimension in " + Shapes.str(shape));
                ns[i] = want;
                nst[i] = 0;
            } else if (want == -1 || want == in[j]) {
                ns[i] = in[j];
                nst[i] = st[j];
            } else if (in[j] == 1) {
                ns[i] = want;
                nst[i] = 0;
            } else {
                throw new IllegalArgumentException("expand: shape " + Shapes.str(in) + " cannot be expanded to " + Shapes.str(shape)
                        + " (dimension " + i + " is " + in[j] + ", not 1)");
            }
        }
        if (Arrays.equals(ns, in)) return viewWithGrad("expand", x, ns, nst, x.offset());
        Tensor out = x.share(ns, nst, x.offset());
        return Autograd.record("expand", out, x, g -> new Tensor[] {sumTo(g, in)});
    }

    /** Sums a broadcast gradient back to {@code shape}. */
    static Tensor sumTo(Tensor g, int[] shape) {
        int[] gs = g.view.shape();
        if (Arrays.equals(gs, shape)) return g;
        int lead = gs.length - shape.length;
        List<Integer> axes = new ArrayList<>();
        for (int i = 0; i < gs.length; i++) {
            if (i < lead || (shape[i - lead] == 1 && gs[i] != 1)) axes.add(i);
        }
        int[] ax = axes.stream().mapToInt(Integer::intValue).toArray();
        try (Tensor s = Reductions.sum(g, ax, true)) {
            return s.reshape(shape);
        }
    }

    static Tensor squeeze(Tensor x, int[] dims) {
        int[] shape = x.shape();
        boolean[] drop = new boolean[shape.length];
        if (dims == null) {
            for (int i = 0; i < shape.length; i++) drop[i] = shape[i] == 1;
        } else {
            for (int d : dims) {
                int a = Shapes.axis("squeeze", d, shape.length);
                drop[a] = shape[a] == 1;
            }
        }
        List<Integer> ns = new ArrayList<>();
        List<Long> nst = new ArrayList<>();
        long[] st = x.strides();
        for (int i = 0; i < shape.length; i++) {
            if (!drop[i]) {
                ns.add(shape[i]);
                nst.add(st[i]);
            }
        }
        return viewWithGrad("squeeze", x, ns.stream().mapToInt(Integer::intValue).toArray(),
                nst.stream().mapToLong(Long::longValue).toArray(), x.offset());
    }

    static Tensor unsqueeze(Tensor x, int dim) {
        int r = x.dim() + 1;
        int d = Shapes.axis("unsqueeze", dim, r);
        int[] shape = x.shape();
        long[] st = x.strides();
        int[] ns = new int[r];
        long[] nst = new long[r];
        for (int i = 0, j = 0; i < r; i++) {
            if (i == d) {
                ns[i] = 1;
                nst[i] = j < shape.length ? st[j] * shape[j] : 1;
            } else {
                ns[i] = shape[j];
                nst[i] = st[j];
                j++;
            }
        }
        return viewWithGrad("unsqueeze", x, ns, nst, x.offset());
    }

    static Tensor flatten(Tensor x, int startDim, int endDim) {
        int r = x.dim();
        if (r == 0) return reshape(x, 1);
        int s = Shapes.axis("flatten", startDim, r), e = Shapes.axis("flatten", endDim, r);
        if (s > e) throw new IllegalArgumentException("flatten: start dimension " + startDim + " comes after end dimension " + endDim);
        int[] shape = x.shape();
        int[] ns = new int[r - (e - s)];
        int j = 0;
        for (int i = 0; i < s; i++) ns[j++] = shape[i];
        long prod = 1;
        for (int i = s; i <= e; i++) prod *= shape[i];
        ns[j++] = Math.toIntExact(prod);
        for (int i = e + 1; i < r; i++) ns[j++] = shape[i];
        return reshape(x, ns);
    }

    static List<Tensor> split(Tensor x, int size, int dim) {
        int d = Shapes.axis("split", dim, x.dim());
        if (size <= 0) throw new IllegalArgumentException("split: split size must be positive, got " + size);
        int n = x.shape()[d];
        List<Tensor> parts = new ArrayList<>();
        for (int s = 0; s < n || (n == 0 && parts.isEmpty()); s += size) parts.add(narrow(x, d, s, Math.min(size, n - s)));
        return parts;
    }

    static List<Tensor> chunk(Tensor x, int chunks, int dim) {
        if (chunks <= 0) throw new IllegalArgumentException("chunk: number of chunks must be positive, got " + chunks);
        int n = x.shape()[Shapes.axis("chunk", dim, x.dim())];
        return split(x, Math.max(1, (n + chunks - 1) / chunks), dim);
    }

    static Tensor cat(List<Tensor> tensors, int dim) {
        if (tensors.isEmpty()) throw new IllegalArgumentException("cat: expected a non-empty list of tensors");
        Tensor first = tensors.getFirst();
        int r = first.dim();
        int d = Shapes.axis("cat", dim, r);
        int[] outShape = first.shape();
        DType dt = first.dtype();
        int total = 0;
        for (Tensor t : tensors) {
            t.checkOpen("cat");
            if (t.dim() != r || !t.device().equals(first.device()))
                throw new IllegalArgumentException("cat: tensors must share rank and device; got " + describe(tensors));
            for (int i = 0; i < r; i++)
                if (i != d && t.shape()[i] != outShape[i])
                    throw new IllegalArgumentException("cat: shapes differ outside dimension " + d + ": " + describe(tensors));
            total += t.shape()[d];
            dt = DType.promote(dt, t.dtype());
        }
        outShape[d] = total;
        Tensor out = Tensor.allocate(first.backend(), dt, outShape);
        int at = 0;
        int[] sizes = new int[tensors.size()];
        for (int k = 0; k < tensors.size(); k++) {
            Tensor t = tensors.get(k);
            sizes[k] = t.shape()[d];
            if (sizes[k] > 0) {
                long[] st = out.view.strides();
                int[] ws = out.shape();
                ws[d] = sizes[k];
                first.backend().copy(t.view, out.view.withShape(ws, st, (long) at * st[d]));
                Reference.reachabilityFence(new Object[] {t, out});
            }
            at += sizes[k];
        }
        Tensor[] inputs = tensors.toArray(Tensor[]::new);
        return Autograd.record("cat", out, inputs, g -> {
            Tensor[] grads = new Tensor[inputs.length];
            int pos = 0;
            for (int k = 0; k < inputs.length; k++) {
                grads[k] = narrow(g, d, pos, sizes[k]);
                pos += sizes[k];
            }
            return grads;
        });
    }

    static Tensor stack(List<Tensor> tensors, int dim) {
        if (tensors.isEmpty()) throw new IllegalArgumentException("stack: expected a non-empty list of tensors");
        int d = Shapes.axis("stack", dim, tensors.getFirst().dim() + 1);
        for (Tensor t : tensors)
            if (!Arrays.equals(t.shape(), tensors.getFirst().shape()))
                throw new IllegalArgumentException("stack: all tensors must have the same shape; got " + describe(tensors));
        List<Tensor> parts = new ArrayList<>();
        for (Tensor t : tensors) parts.add(unsqueeze(t, d));
        try {
            return cat(parts, d);
        } finally {
            for (Tensor p : parts) p.close();
        }
    }

    private static String describe(List<Tensor> ts) {
        StringBuilder sb = new StringBuilder();
        for (Tensor t : ts) sb.append(sb.isEmpty() ? "" : ", ").append(Shapes.str(t.shape())).append(' ').append(t.dtype()).append(' ').append(t.device());
        return sb.toString();
    }
}
