package dev.kiln.nn.optim;

import dev.kiln.Tensor;

import java.util.List;

/** Adam with decoupled weight decay (default 0.01, as in PyTorch). */
public final class AdamW extends Adam {

    public AdamW(List<Tensor> params, double lr) { super("AdamW", params, lr, 0.01); }

    @Override
    protected boolean decoupled() { return true; }
}
