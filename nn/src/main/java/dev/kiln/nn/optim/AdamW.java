package dev.kiln.nn.optim;

import dev.kiln.Tensor;

import java.util.List;

/** Adam with decoupled weight decay (default 0.01, as in PyTorch). */
public final class AdamW extends Adam {

    /**
     * AdamW with PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01.
     *
     * @param params the parameters to update (leaf tensors that require grad)
     * @param lr the learning rate
     */
    public AdamW(List<Tensor> params, double lr) { super("AdamW", params, lr, 0.01); }

    @Override
    protected boolean decoupled() { return true; }
}
