package dev.kiln.nn;

import dev.kiln.Scope;
import dev.kiln.Tensor;

/**
 * Multi-head scaled dot-product attention over batch-first inputs (B, L, E), as PyTorch's
 * {@code MultiheadAttention(batch_first=True)}: query, key and value projections, {@code heads} heads of size
 * E/heads, softmax(Q K^T / sqrt(d) + mask) V, and an output projection. The mask, when given, is additive and
 * broadcasts to (B, heads, Lq, Lk): use {@link #causalMask} for autoregressive models.
 */
public final class MultiheadAttention extends Module {
    private final int embedDim;
    private final int heads;

    public MultiheadAttention(int embedDim, int heads) {
        if (heads <= 0 || embedDim % heads != 0)
            throw new IllegalArgumentException("MultiheadAttention: embedDim " + embedDim + " must be divisible by heads " + heads);
        this.embedDim = embedDim;
        this.heads = heads;
        registerModule("q_proj", new Linear(embedDim, embedDim));
        registerModule("k_proj", new Linear(embedDim, embedDim));
        registerModule("v_proj", new Linear(embedDim, embedDim));
        registerModule("out_proj", new Linear(embedDim, embedDim));
    }

    /** 0 on and below the diagonal, minus infinity above: position i attends to positions up to i. */
    public static Tensor causalMask(int length) {
        double[] m = new double[length * length];
        for (int i = 0; i < length; i++)
            for (int j = i + 1; j < length; j++) m[i * length + j] = Double.NEGATIVE_INFINITY;
        try (Tensor t = Tensor.of(m, length, length)) {
            return t.to(dev.kiln.DType.FLOAT32);
        }
    }

    private Tensor project(String name, Tensor x) {
        int b = x.size(0), l = x.size(1);
        Tensor y = children().get(name).forward(x);
        return y.reshape(b, l, heads, embedDim / heads).transpose(1, 2);
    }

    /** Self-attention: query, key and value are all {@code x}. */
    @Override
    public Tensor forward(Tensor x) { return forward(x, x, x, null); }

    /** Attention of {@code query} (B, Lq, E) over {@code key}, {@code value} (B, Lk, E); {@code mask} may be null. */
    public Tensor forward(Tensor query, Tensor key, Tensor value, Tensor mask) {
        if (query.dim() != 3 || query.size(2) != embedDim || key.dim() != 3 || value.dim() != 3)
            throw new IllegalArgumentException("MultiheadAttention: expected (B, L, " + embedDim + ") inputs, got query " + java.util.Arrays.toString(query.shape())
                    + ", key " + java.util.Arrays.toString(key.shape()) + ", value " + java.util.Arrays.toString(value.shape()));
        try (Scope s = Scope.open()) {
            int b = query.size(0), lq = query.size(1);
            Tensor q = project("q_proj", query), k = project("k_proj", key), v = project("v_proj", value);
            Tensor scores = q.matmul(k.mT()).div(Math.sqrt((double) embedDim / heads));
            if (mask != null) scores = scores.add(mask.to(scores.dtype()));
            Tensor context = scores.softmax(-1).matmul(v).transpose(1, 2).reshape(b, lq, embedDim);
            return s.keep(children().get("out_proj").forward(context));
        }
    }

    @Override
    protected String describe() { return "MultiheadAttention(" + embedDim + ", heads=" + heads + ")"; }
}
