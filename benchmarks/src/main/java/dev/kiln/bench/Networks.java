package dev.kiln.bench;

import dev.kiln.Attention;
import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Functional;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.backend.Backend;
import dev.kiln.nn.LSTM;
import dev.kiln.nn.Module;
import dev.kiln.nn.RNNBase;
import dev.kiln.nn.models.Gpt;
import dev.kiln.nn.models.MnistNets;
import dev.kiln.nn.optim.AdamW;
import dev.kiln.nn.optim.Optimizer;
import dev.kiln.nn.optim.SGD;

import java.util.List;
import java.util.function.Supplier;

/**
 * Kiln's side of the rows that go through the public tensor API and nn rather than the backend SPI: attention,
 * the LSTM, and whole training steps. Inputs are float32 and normally distributed, on the row's device; each run
 * ends with the backend synchronised. {@link PyTorchReference} builds the same workloads in libtorch.
 */
final class Networks {
    private Networks() {}

    /** Inference only (no graph recorded), or forward then backward from a fixed upstream gradient. */
    enum Pass { FORWARD, FORWARD_BACKWARD }

    /** The LeNet-5 step's optimizer setting, on both sides: plain SGD. */
    static final double LENET_LR = 0.01;
    /** The LSTM step's: plain SGD on a mean-squared error against fixed targets. */
    static final double LSTM_LR = 0.01;
    /** The GPT step's AdamW (nanoGPT's Shakespeare settings, but PyTorch's default betas): lr and decoupled weight decay on every parameter. */
    static final double GPT_LR = 1e-3, GPT_WEIGHT_DECAY = 0.1;

    /** Scaled dot-product attention of (batch, heads, seq, headDim) queries, keys and values. */
    static Workload attention(Backend be, String device, Pass pass, int batch, int heads, int seq, int headDim, boolean causal) {
        Device d = Device.parse(device);
        Tensor q = Tensor.randn(DType.FLOAT32, d, batch, heads, seq, headDim), k = Tensor.randn(DType.FLOAT32, d, batch, heads, seq, headDim),
                v = Tensor.randn(DType.FLOAT32, d, batch, heads, seq, headDim), dy = Tensor.randn(DType.FLOAT32, d, batch, heads, seq, headDim);
        Attention.Options options = Attention.Options.defaults().withCausal(causal);
        return gradients(be, pass, List.of(q, k, v), dy, attentionFlops(pass, batch, heads, seq, headDim), () -> Attention.scaledDotProduct(q, k, v, null, options),
                () -> List.of(q, k, v, dy).forEach(Tensor::close));
    }

    /** An LSTM of {@code layers} layers over a time-major (seq, batch, input) sequence; the backward pass reaches the weights. */
    static Workload lstm(Backend be, String device, Pass pass, int layers, int seq, int batch, int input, int hidden) {
        Device d = Device.parse(device);
        LSTM lstm = new LSTM(input, hidden, RNNBase.Options.defaults().withNumLayers(layers));
        lstm.to(d);
        Tensor x = Tensor.randn(DType.FLOAT32, d, seq, batch, input), dy = Tensor.randn(DType.FLOAT32, d, seq, batch, hidden);
        return gradients(be, pass, lstm.parameters(), dy, lstmFlops(pass, layers, seq, batch, input, hidden), () -> lstm.forward(x), () -> {
            lstm.close();
            x.close();
            dy.close();
        });
    }

    /** Two (seq x seq x headDim) products forward, four more backward; causal rows count the full square. */
    static double attentionFlops(Pass pass, int batch, int heads, int seq, int headDim) {
        return 4.0 * batch * heads * seq * seq * headDim * (pass == Pass.FORWARD ? 1 : 3);
    }

    /** The gate products, 2 * batch * 4 hidden * (in + hidden) per step and layer, forward; twice that more backward. */
    static double lstmFlops(Pass pass, int layers, int seq, int batch, int input, int hidden) {
        double f = 0;
        for (int l = 0; l < layers; l++) f += 2.0 * seq * batch * 4 * hidden * ((l == 0 ? input : hidden) + hidden);
        return f * (pass == Pass.FORWARD ? 1 : 3);
    }

    /** One SGD step of {@link MnistNets#lenet5()} on a batch of 28x28 digits with cross-entropy over 10 classes. */
    static Workload lenet5Step(Backend be, String device, int batch) {
        Device d = Device.parse(device);
        Module net = MnistNets.lenet5();
        net.to(d);
        Tensor x = Tensor.randn(DType.FLOAT32, d, batch, 1, 28, 28), y = onDevice(Tensor.randint(0, 10, batch), d);
        return step(be, net, new SGD(net.parameters(), LENET_LR), () -> Functional.crossEntropy(net.forward(x), y), x, y);
    }

    /** One SGD step of an LSTM on a time-major sequence, mean-squared error of its outputs against fixed targets. */
    static Workload lstmStep(Backend be, String device, int layers, int seq, int batch, int input, int hidden) {
        Device d = Device.parse(device);
        LSTM lstm = new LSTM(input, hidden, RNNBase.Options.defaults().withNumLayers(layers));
        lstm.to(d);
        Tensor x = Tensor.randn(DType.FLOAT32, d, seq, batch, input), target = Tensor.randn(DType.FLOAT32, d, seq, batch, hidden);
        return step(be, lstm, new SGD(lstm.parameters(), LSTM_LR), () -> Functional.mseLoss(lstm.forward(x), target), x, target);
    }

    /** One AdamW step of {@link Gpt} on random token ids with next-token targets. */
    static Workload gptStep(Backend be, String device, Gpt.Config config, int batch) {
        Device d = Device.parse(device);
        Gpt gpt = new Gpt(config);
        gpt.to(d);
        Tensor text = onDevice(Tensor.randint(0, config.vocabSize(), batch, config.blockSize() + 1), d);
        Tensor x = text.narrow(1, 0, config.blockSize()).contiguous(), y = text.narrow(1, 1, config.blockSize()).contiguous();
        text.close();
        AdamW adamw = new AdamW(gpt.parameters(), GPT_LR);
        adamw.weightDecay(GPT_WEIGHT_DECAY);
        return step(be, gpt, adamw, () -> gpt.loss(x, y), x, y);
    }

    private static Tensor onDevice(Tensor t, Device d) {
        if (t.device().equals(d)) return t;
        try (t) {
            return t.to(d);
        }
    }

    /** zero_grad, forward and loss, backward, optimizer step: PyTorch's order. */
    private static Workload step(Backend be, Module model, Optimizer optimizer, Supplier<Tensor> loss, Tensor... inputs) {
        be.synchronize();
        return new Workload() {
            @Override
            public void run() {
                try (Scope s = Scope.open()) {
                    optimizer.zeroGrad();
                    loss.get().backward();
                    optimizer.step();
                    be.synchronize();
                }
            }

            @Override
            public void close() {
                optimizer.zeroGrad();
                optimizer.close();
                model.close();
                for (Tensor t : inputs) t.close();
            }
        };
    }

    /**
     * {@code f} without a graph (FORWARD), or followed by backward from {@code dy} into {@code leaves}, whose
     * gradients are then cleared; the leaves are made to require gradients for that. {@code close} frees the inputs.
     */
    private static Workload gradients(Backend be, Pass pass, List<Tensor> leaves, Tensor dy, double flops, Supplier<Tensor> f, Runnable close) {
        boolean backward = pass == Pass.FORWARD_BACKWARD;
        if (backward) leaves.forEach(t -> t.requiresGrad(true));
        be.synchronize();
        return new Workload() {
            @Override
            public void run() {
                try (Scope s = Scope.open()) {
                    if (backward) {
                        f.get().backward(dy);
                        leaves.forEach(t -> t.setGrad(null));
                    } else {
                        try (GradMode g = GradMode.noGrad()) {
                            f.get();
                        }
                    }
                    be.synchronize();
                }
            }

            @Override public double work() { return flops; }

            @Override public String unit() { return "GFLOP/s"; }

            @Override
            public void close() { close.run(); }
        };
    }
}
