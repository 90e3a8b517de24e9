package dev.kiln.nn.models;

import dev.kiln.Attention;
import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.Embedding;
import dev.kiln.nn.Init;
import dev.kiln.nn.LayerNorm;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.ModuleDict;
import dev.kiln.nn.ModuleList;

import java.util.List;
import java.util.Map;

/**
 * A small GPT in the layout of Karpathy's nanoGPT: token and position embeddings ({@code wte}, {@code wpe}), a
 * stack of pre-norm causal transformer blocks ({@code h.0 ...}: {@code ln_1}, {@code attn.c_attn},
 * {@code attn.c_proj}, {@code ln_2}, {@code mlp.c_fc}, {@code mlp.c_proj}, with exact GELU), a final layer norm
 * ({@code ln_f}) and a language-model head that shares the token embedding's weight (weight tying, so it has no
 * parameter of its own). Weights are initialised as nanoGPT does: N(0, 0.02), the residual projections
 * N(0, 0.02/sqrt(2 layers)), zero biases. There is no dropout (nanoGPT's CPU configuration sets it to 0).
 *
 * <p>Input: token ids (B, T) with T at most the context length, any integer type. Output: logits (B, T, vocab).
 */
public final class Gpt extends Module {

    /**
     * Sizes as nanoGPT's {@code GPTConfig}; {@code bias}: biases in the linear layers and layer norms.
     *
     * @param vocabSize the number of token ids
     * @param blockSize the context length: the most tokens one forward pass takes
     * @param layers the number of transformer blocks
     * @param heads attention heads per block
     * @param embed the model width, a multiple of {@code heads}
     * @param bias whether the linear layers and layer norms have biases
     */
    public record Config(int vocabSize, int blockSize, int layers, int heads, int embed, boolean bias) {
        /**
         * Checks the sizes.
         *
         * @throws IllegalArgumentException if a size is not positive or {@code embed} is not a multiple of {@code heads}
         */
        public Config {
            if (vocabSize <= 0 || blockSize <= 0 || layers <= 0 || heads <= 0 || embed <= 0 || embed % heads != 0)
                throw new IllegalArgumentException("Gpt: sizes must be positive with embed a multiple of heads, got vocab=" + vocabSize
                        + " block=" + blockSize + " layers=" + layers + " heads=" + heads + " embed=" + embed);
        }

        /**
         * nanoGPT's configuration for a CPU (Shakespeare characters): 65 tokens, context 64, 4 layers, 4 heads, width 128, no biases.
         *
         * @return that configuration
         */
        public static Config nanoGptCpu() { return new Config(65, 64, 4, 4, 128, false); }
    }

    private final Config config;
    private final Embedding wte;
    private final Embedding wpe;
    private final ModuleList blocks = new ModuleList();
    private final LayerNorm lnF;

    /**
     * A model of the given sizes, initialised as nanoGPT initialises its weights.
     *
     * @param config the sizes
     */
    public Gpt(Config config) {
        this.config = config;
        int e = config.embed();
        wte = registerModule("wte", new Embedding(config.vocabSize(), e));
        wpe = registerModule("wpe", new Embedding(config.blockSize(), e));
        for (int i = 0; i < config.layers(); i++) blocks.add(new Block(config));
        registerModule("h", blocks);
        lnF = registerModule("ln_f", norm(config));
        initialise();
    }

    /**
     * {@return the sizes this model was built with}
     */
    public Config config() { return config; }

    private static LayerNorm norm(Config c) { return new LayerNorm(new int[] {c.embed()}, 1e-5, true, c.bias()); }

    /** nanoGPT's {@code _init_weights} plus the scaled residual projections. */
    private void initialise() {
        double residualStd = 0.02 / Math.sqrt(2.0 * config.layers());
        try (GradMode g = GradMode.noGrad(); Scope s = Scope.open()) {
            for (Map.Entry<String, Tensor> p : namedParameters().entrySet()) {
                String name = p.getKey();
                Tensor t = p.getValue();
                if (name.startsWith("ln_") || name.contains(".ln_")) continue;
                if (name.endsWith(".bias")) t.zero_();
                else t.copy_(Init.normal(name.endsWith("c_proj.weight") ? residualStd : 0.02, t.shape()).to(t.device()));
            }
        }
    }

    @Override
    public Tensor forward(Tensor tokens) {
        if (tokens.dim() != 2 || tokens.dtype().isFloatingPoint() || tokens.size(1) > config.blockSize())
            throw new IllegalArgumentException("Gpt: expected integer token ids (batch, time) with time <= " + config.blockSize()
                    + ", got " + tokens.dtype() + " " + java.util.Arrays.toString(tokens.shape()));
        try (Scope s = Scope.open()) {
            Tensor positions = Tensor.arange(0, tokens.size(1), 1, DType.INT64, tokens.device());
            Tensor x = wte.forward(tokens).add(wpe.forward(positions));
            for (Module block : blocks) x = block.forward(x);
            return s.keep(Functional.linear(lnF.forward(x), wte.weight(), null));
        }
    }

    /**
     * Mean cross-entropy of the logits for {@code tokens} against {@code targets} (B, T): the next tokens.
     *
     * @param tokens token ids (B, T)
     * @param targets the next token ids (B, T)
     * @return the mean loss, a scalar
     */
    public Tensor loss(Tensor tokens, Tensor targets) {
        try (Scope s = Scope.open()) {
            Tensor logits = forward(tokens);
            return s.keep(Functional.crossEntropy(logits.reshape(-1, config.vocabSize()), targets.reshape(-1)));
        }
    }

    /** One pre-norm block: {@code x + attn(ln_1(x))}, then {@code x + mlp(ln_2(x))}. */
    private static final class Block extends Module {
        private final int heads;
        private final LayerNorm ln1, ln2;
        private final Linear attnIn, attnOut, mlpIn, mlpOut;

        Block(Config c) {
            heads = c.heads();
            int e = c.embed();
            ln1 = registerModule("ln_1", norm(c));
            attnIn = new Linear(e, 3 * e, c.bias());
            attnOut = new Linear(e, e, c.bias());
            registerModule("attn", new ModuleDict().put("c_attn", attnIn).put("c_proj", attnOut));
            ln2 = registerModule("ln_2", norm(c));
            mlpIn = new Linear(e, 4 * e, c.bias());
            mlpOut = new Linear(4 * e, e, c.bias());
            registerModule("mlp", new ModuleDict().put("c_fc", mlpIn).put("c_proj", mlpOut));
        }

        @Override
        public Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                List<Tensor> qkv = attnIn.forward(ln1.forward(x)).chunk(3, -1);
                Tensor y = Attention.scaledDotProduct(Attention.splitHeads(qkv.get(0), heads), Attention.splitHeads(qkv.get(1), heads),
                        Attention.splitHeads(qkv.get(2), heads), null, Attention.Options.defaults().withCausal(true));
                x = x.add(attnOut.forward(Attention.mergeHeads(y)));
                return s.keep(x.add(mlpOut.forward(mlpIn.forward(ln2.forward(x)).gelu())));
            }
        }
    }

    @Override
    protected String describe() { return "Gpt(" + config + ")"; }
}
