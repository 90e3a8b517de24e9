package dev.kiln.bench;

import dev.kiln.nn.models.Gpt;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LSTMImpl;
import org.bytedeco.pytorch.LSTMOptions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The libtorch side of {@link Networks}: the same attention, LSTM and training steps, with the same shapes,
 * parameter counts and optimizer settings. Models are functional ops over registered leaf tensors, except the
 * LSTM, which is libtorch's own {@code torch::nn::LSTM}. Each run frees its temporaries through a
 * {@link PointerScope}; autograd and the optimizers are libtorch's.
 */
final class LibTorchNetworks {
    private LibTorchNetworks() {}

    static Workload attention(Networks.Pass pass, int batch, int heads, int seq, int headDim, boolean causal) {
        Tensor q = torch.randn(batch, heads, seq, headDim), k = torch.randn(batch, heads, seq, headDim),
                v = torch.randn(batch, heads, seq, headDim), dy = torch.randn(batch, heads, seq, headDim);
        return gradients(pass, List.of(q, k, v), dy, Networks.attentionFlops(pass, batch, heads, seq, headDim), () -> torch.scaled_dot_product_attention(q, k, v, new TensorOptional(), 0.0, causal,
                new DoubleOptional(), false), () -> List.of(q, k, v, dy).forEach(Tensor::close));
    }

    static Workload lstm(Networks.Pass pass, int layers, int seq, int batch, int input, int hidden) {
        LSTMImpl lstm = lstmModule(layers, input, hidden);
        Tensor x = torch.randn(seq, batch, input), dy = torch.randn(seq, batch, hidden);
        TensorVector params = lstm.parameters();
        List<Tensor> leaves = new ArrayList<>();
        for (long i = 0; i < params.size(); i++) leaves.add(params.get(i));
        return gradients(pass, leaves, dy, Networks.lstmFlops(pass, layers, seq, batch, input, hidden), () -> lstm.forward(x).get0(), () -> {
            params.close();
            lstm.close();
            x.close();
            dy.close();
        });
    }

    static Workload lenet5Step(int batch) {
        Params p = new Params();
        Tensor w1 = p.normal(1 / Math.sqrt(25), 6, 1, 5, 5), b1 = p.zeros(6), w2 = p.normal(1 / Math.sqrt(150), 16, 6, 5, 5), b2 = p.zeros(16),
                w3 = p.normal(1 / Math.sqrt(400), 120, 400), b3 = p.zeros(120), w4 = p.normal(1 / Math.sqrt(120), 84, 120), b4 = p.zeros(84),
                w5 = p.normal(1 / Math.sqrt(84), 10, 84), b5 = p.zeros(10);
        p.checkAgainst("LeNet-5", dev.kiln.nn.models.MnistNets.lenet5());
        Tensor x = torch.randn(batch, 1, 28, 28), y = torch.randint(10, new long[] {batch});
        long[] one = {1, 1}, none = {0, 0}, two = {2, 2};
        Supplier<Tensor> loss = () -> {
            Tensor h = torch.max_pool2d(torch.relu(torch.conv2d(x, w1, new TensorOptional(b1), one, two, one, 1)), 2, 2);
            h = torch.max_pool2d(torch.relu(torch.conv2d(h, w2, new TensorOptional(b2), one, none, one, 1)), 2, 2).flatten(1, -1);
            h = torch.relu(torch.linear(h, w3, new TensorOptional(b3)));
            h = torch.relu(torch.linear(h, w4, new TensorOptional(b4)));
            return torch.cross_entropy_loss(torch.linear(h, w5, new TensorOptional(b5)), y);
        };
        return step(new SGD(p.vector(), new SGDOptions(Networks.LENET_LR)), loss, () -> closeAll(p, x, y));
    }

    static Workload lstmStep(int layers, int seq, int batch, int input, int hidden) {
        LSTMImpl lstm = lstmModule(layers, input, hidden);
        Tensor x = torch.randn(seq, batch, input), target = torch.randn(seq, batch, hidden);
        return step(new SGD(lstm.parameters(), new SGDOptions(Networks.LSTM_LR)), () -> torch.mse_loss(lstm.forward(x).get0(), target),
                () -> closeAll(lstm, x, target));
    }

    /** {@link Gpt} in functional form: the same parameters (with the tied head), initialisation and forward pass. */
    static Workload gptStep(Gpt.Config c, int batch) {
        int e = c.embed(), heads = c.heads(), t = c.blockSize(), vocab = c.vocabSize();
        double residualStd = 0.02 / Math.sqrt(2.0 * c.layers());
        Params p = new Params();
        Tensor wte = p.normal(0.02, vocab, e), wpe = p.normal(0.02, t, e);
        List<Tensor[]> blocks = new ArrayList<>();
        for (int i = 0; i < c.layers(); i++) {
            // ln_1 weight, bias; c_attn weight, bias; c_proj ...; ln_2 ...; c_fc ...; mlp c_proj ...
            blocks.add(new Tensor[] {p.ones(e), p.bias(c, e), p.normal(0.02, 3L * e, e), p.bias(c, 3L * e), p.normal(residualStd, e, e), p.bias(c, e),
                    p.ones(e), p.bias(c, e), p.normal(0.02, 4L * e, e), p.bias(c, 4L * e), p.normal(residualStd, e, 4L * e), p.bias(c, e)});
        }
        Tensor lnFWeight = p.ones(e), lnFBias = p.bias(c, e);
        p.checkAgainst("GPT", new Gpt(c));
        Tensor text = torch.randint(vocab, new long[] {batch, t + 1});
        Tensor x = text.narrow(1, 0, t).contiguous(), y = text.narrow(1, 1, t).contiguous();
        text.close();
        Supplier<Tensor> loss = () -> {
            Tensor h = torch.embedding(wte, x).add(torch.embedding(wpe, torch.arange(new Scalar((long) t))));
            for (Tensor[] b : blocks) {
                TensorVector qkv = torch.linear(layerNorm(h, e, b[0], b[1]), b[2], optional(b[3])).split(e, 2);
                Tensor att = torch.scaled_dot_product_attention(heads(qkv.get(0), heads), heads(qkv.get(1), heads), heads(qkv.get(2), heads),
                        new TensorOptional(), 0.0, true, new DoubleOptional(), false);
                h = h.add(torch.linear(att.transpose(1, 2).reshape(batch, t, e), b[4], optional(b[5])));
                Tensor mlp = torch.gelu(torch.linear(layerNorm(h, e, b[6], b[7]), b[8], optional(b[9])));
                h = h.add(torch.linear(mlp, b[10], optional(b[11])));
            }
            Tensor logits = torch.linear(layerNorm(h, e, lnFWeight, lnFBias), wte);
            return torch.cross_entropy_loss(logits.reshape(-1, vocab), y.reshape(-1));
        };
        AdamWOptions options = new AdamWOptions(Networks.GPT_LR);
        options.weight_decay().put(Networks.GPT_WEIGHT_DECAY);
        return step(new AdamW(p.vector(), options), loss, () -> closeAll(p, x, y));
    }

    /** (B, T, H*D) to (B, H, T, D). */
    private static Tensor heads(Tensor x, int heads) {
        long b = x.size(0), t = x.size(1), e = x.size(2);
        return x.reshape(b, t, heads, e / heads).transpose(1, 2);
    }

    private static Tensor layerNorm(Tensor x, int e, Tensor weight, Tensor bias) {
        return torch.layer_norm(x, new long[] {e}, new TensorOptional(weight), optional(bias), 1e-5, false);
    }

    private static TensorOptional optional(Tensor t) { return t == null ? new TensorOptional() : new TensorOptional(t); }

    private static LSTMImpl lstmModule(int layers, int input, int hidden) {
        LSTMOptions options = new LSTMOptions(input, hidden);
        options.num_layers().put((long) layers);
        return new LSTMImpl(options);
    }

    /**
     * {@code f} under no_grad (FORWARD), or followed by backward from {@code dy}, after which the leaves' gradients
     * are reset, as {@code zero_grad(set_to_none=True)} does.
     */
    private static Workload gradients(Networks.Pass pass, List<Tensor> leaves, Tensor dy, double flops, Supplier<Tensor> f, Runnable close) {
        boolean backward = pass == Networks.Pass.FORWARD_BACKWARD;
        if (backward) leaves.forEach(t -> t.requires_grad_(true));
        return new Workload() {
            @Override
            public void run() {
                try (PointerScope scope = new PointerScope()) {
                    if (backward) {
                        f.get().backward(dy, new BoolOptional(), false, new TensorArrayRefOptional());
                        leaves.forEach(t -> t.mutable_grad().reset());
                    } else {
                        try (NoGradGuard g = new NoGradGuard()) {
                            f.get();
                        }
                    }
                }
            }

            @Override public double work() { return flops; }

            @Override public String unit() { return "GFLOP/s"; }

            @Override
            public void close() { close.run(); }
        };
    }

    private static void closeAll(AutoCloseable... resources) {
        try {
            for (AutoCloseable r : resources) r.close();
        } catch (Exception e) {
            throw new IllegalStateException("freeing the PyTorch reference's tensors", e);
        }
    }

    /** zero_grad, forward and loss, backward, optimizer step; {@code close} frees the model and inputs. */
    private static Workload step(Optimizer optimizer, Supplier<Tensor> loss, Runnable close) {
        return new Workload() {
            @Override
            public void run() {
                try (PointerScope scope = new PointerScope()) {
                    optimizer.zero_grad();
                    loss.get().backward();
                    optimizer.step();
                }
            }

            @Override
            public void close() {
                optimizer.close();
                close.run();
            }
        };
    }

    /** Leaf tensors that require gradients, in creation order. */
    private static final class Params implements AutoCloseable {
        private final List<Tensor> tensors = new ArrayList<>();

        Tensor normal(double std, long... shape) {
            Tensor t = torch.randn(shape);
            t.mul_(new Scalar(std));
            return add(t);
        }

        Tensor ones(long... shape) { return add(torch.ones(shape)); }

        Tensor zeros(long... shape) { return add(torch.zeros(shape)); }

        /** A zero bias when the config has biases, else null. */
        Tensor bias(Gpt.Config c, long size) { return c.bias() ? zeros(size) : null; }

        private Tensor add(Tensor t) {
            t.requires_grad_(true);
            tensors.add(t);
            return t;
        }

        TensorVector vector() { return new TensorVector(tensors.toArray(new Tensor[0])); }

        /** Refuses a model whose parameter count differs from Kiln's {@code model}, which it then frees. */
        void checkAgainst(String what, dev.kiln.nn.Module model) {
            try (model) {
                long count = tensors.stream().mapToLong(Tensor::numel).sum();
                if (count != model.parameterCount())
                    throw new IllegalStateException(what + ": the PyTorch model has " + count + " parameters, Kiln's " + model.parameterCount());
            }
        }

        @Override
        public void close() { tensors.forEach(Tensor::close); }
    }
}
