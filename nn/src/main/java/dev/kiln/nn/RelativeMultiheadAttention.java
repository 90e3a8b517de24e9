package dev.kiln.nn;

import dev.kiln.Attention;
import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Transformer-XL attention (Dai et al., 2019): causal multi-head attention over the current segment (B, L, E)
 * and a memory of earlier hidden states (B, M, E), scored with relative positions:
 * {@code a(i, j) = (q_i + u) . k_j + (q_i + v) . W_r R(d)}, where d is how far key j lies before query i,
 * R is the sinusoidal encoding, and u, v are learned per-head biases. Instead of the paper's shift trick,
 * the position term is computed once per distance and gathered into place, which is the same sum. The attention
 * itself is {@link Attention}'s, as for {@link MultiheadAttention}.
 */
public final class RelativeMultiheadAttention extends Module {
    private final int embedDim;
    private final int heads;
    private final int headDim;

    /**
     * Attention of width {@code embedDim} split over {@code heads} heads.
     *
     * @param embedDim the model width, a multiple of heads
     * @param heads the attention heads
     */
    public RelativeMultiheadAttention(int embedDim, int heads) {
        if (heads <= 0 || embedDim % heads != 0)
            throw new IllegalArgumentException("RelativeMultiheadAttention: embedDim " + embedDim + " must be divisible by heads " + heads);
        this.embedDim = embedDim;
        this.heads = heads;
        this.headDim = embedDim / heads;
        registerModule("q_proj", new Linear(embedDim, embedDim, false));
        registerModule("k_proj", new Linear(embedDim, embedDim, false));
        registerModule("v_proj", new Linear(embedDim, embedDim, false));
        registerModule("r_proj", new Linear(embedDim, embedDim, false));
        registerModule("out_proj", new Linear(embedDim, embedDim));
        registerParameter("u_bias", Tensor.zeros(heads, headDim));
        registerParameter("v_bias", Tensor.zeros(heads, headDim));
    }

    /**
     * Sinusoidal encodings of distances 0..n-1, (n, dim), on {@code device} (null for the default): sin on the first
     * half of the features, cos on the second (a last, odd feature is 0). Built on the device from {@code arange}, in
     * {@code dtype} (float32 for the storage-only half types), with frequencies {@code 10000^(-2k/dim)}.
     *
     * @param n the number of distances
     * @param dim the features per distance
     * @param dtype the element type of the result
     * @param device the device, or null for the default
     * @return a new (n, dim) tensor
     */
    public static Tensor sinusoid(int n, int dim, DType dtype, Device device) {
        int half = dim / 2;
        DType compute = dtype.isComputeType() ? dtype : DType.FLOAT32;
        try (Scope s = Scope.open()) {
            Tensor distance = Tensor.arange(0, n, 1, compute, device).unsqueeze(1);
            Tensor frequency = Tensor.arange(0, half, 1, compute, device).mul(-2.0 * Math.log(10000) / dim).exp().unsqueeze(0);
            Tensor angle = distance.mul(frequency);
            List<Tensor> parts = new ArrayList<>(List.of(angle.sin(), angle.cos()));
            if (dim % 2 == 1) parts.add(Tensor.zeros(compute, device, n, 1));
            return s.keep(Tensor.cat(parts, 1).to(dtype));
        }
    }

    /**
     * {@link #sinusoid(int, int, DType, Device)} on the default device.
     *
     * @param n the number of distances
     * @param dim the features per distance
     * @param dtype the element type of the result
     * @return a new (n, dim) tensor
     */
    public static Tensor sinusoid(int n, int dim, DType dtype) {
 return sinusoid(n, dim, dtype, null); }

    @Override
    public Tensor forward(Tensor x) { return forward(x, null); }

    /**
     * {@code x} (B, L, E) attends to {@code memory} (B, M, E; null for none) and to itself causally.
     *
     * @param x the sequence (B, L, E)
     * @param memory earlier steps (B, M, E), or null
     * @return the attended sequence (B, L, E)
     */
    public Tensor forward(Tensor x, Tensor memory) {
        if (x.dim() != 3 || x.size(2) != embedDim || memory != null && (memory.dim() != 3 || memory.size(0) != x.size(0) || memory.size(2) != embedDim))
            throw new IllegalArgumentException("RelativeMultiheadAttention: expected x (B, L, " + embedDim + ") and memory (B, M, " + embedDim + "), got "
                    + java.util.Arrays.toString(x.shape()) + (memory == null ? "" : " and " + java.util.Arrays.toString(memory.shape())));
        int b = x.size(0), len = x.size(1), mem = memory == null ? 0 : memory.size(1), keys = mem + len;
        try (Scope s = Scope.open()) {
            Tensor context = memory == null ? x : Tensor.cat(java.util.List.of(memory, x), 1);
            Tensor q = Attention.splitHeads(children().get("q_proj").forward(x), heads);
            Tensor k = Attention.splitHeads(children().get("k_proj").forward(context), heads);
            Tensor v = Attention.splitHeads(children().get("v_proj").forward(context), heads);
            Tensor r = children().get("r_proj").forward(sinusoid(keys, embedDim, x.dtype(), x.device())).reshape(keys, heads, headDim).transpose(0, 1);
            // The position term (q_i + v) . W_r R(d), per distance d, gathered to each (i, j) and scaled as the
            // content term will be, enters the attention as an additive mask. Distances below 0 (future keys) are
            // masked by causality, so any index does for them.
            Tensor byDistance = q.add(param("v_bias").unsqueeze(1)).matmul(r.mT());
            // distance(i, j) = max(mem + i - j, 0), built on the device.
            Tensor query = Tensor.arange(mem, mem + len, 1, DType.INT64, x.device()).unsqueeze(1);
            Tensor key = Tensor.arange(0, keys, 1, DType.INT64, x.device()).unsqueeze(0);
            Tensor index = query.sub(key).clamp(0, Double.NaN).expand(b, heads, len, keys);
            Tensor position = byDistance.gather(3, index).div(Math.sqrt(headDim));
            // The memory goes in as the cache, so causality offsets each query by the memory length.
            Tensor out = Attention.attention(q.add(param("u_bias").unsqueeze(1)), k.narrow(2, mem, len), v.narrow(2, mem, len), position,
                    mem == 0 ? null : k.narrow(2, 0, mem), mem == 0 ? null : v.narrow(2, 0, mem), Attention.Options.defaults().withCausal(true), null).output();
            return s.keep(children().get("out_proj").forward(Attention.mergeHeads(out)));
        }
    }

    @Override
    protected String describe() { return "RelativeMultiheadAttention(" + embedDim + ", heads=" + heads + ")"; }
}
