package dev.kiln.cpu.tiers;

import dev.kiln.Attention;
import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Recurrent;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.random.Generator;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * A fixed set of CPU kernels, forward and backward, each reduced to a hash of its result's bits: the vectorised
 * elementwise functions in both float types, softmax, reductions, GEMM, convolution (direct, strided, through
 * columns and channels last), pooling, layer norm, fused attention, the LSTM cell and a loss. {@link ExecutionTierTest}
 * runs it in an interpreter-only JVM and in one that has compiled it with C2, and the two must agree on every entry.
 * Sizes are small (the interpreter runs vector code lane by lane) but leave ragged tails after the whole vectors.
 *
 * <p>As a program it prints one line per entry, {@code name hash}, after running the set {@code args[0]} times
 * (so that, with low compile thresholds, the last round runs compiled code) and checking that every round agreed.
 */
public final class TierWorkload {
    private TierWorkload() {}

    public static void main(String[] args) {
        int rounds = Integer.parseInt(args[0]);
        Map<String, String> first = run();
        for (int i = 1; i < rounds; i++) {
            Map<String, String> again = run();
            if (!again.equals(first)) {
                for (String k : first.keySet())
                    if (!first.get(k).equals(again.get(k))) System.out.println("round " + i + " changed " + k);
                System.exit(3);
            }
        }
        first.forEach((k, v) -> System.out.println(k + " " + v));
    }

    static Map<String, String> run() {
        Map<String, String> out = new LinkedHashMap<>();
        try (Scope s = Scope.open()) {
            Generator g = new Generator(11);
            for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                Tensor x = Tensor.randn(g, t, null, 3, 67).mul(4);
                Tensor positive = x.abs().add(1e-3);
                Map<String, Function<Tensor, Tensor>> unary = new LinkedHashMap<>();
                unary.put("exp", Tensor::exp);
                unary.put("tanh", Tensor::tanh);
                unary.put("sigmoid", Tensor::sigmoid);
                unary.put("silu", Tensor::silu);
                unary.put("gelu", Tensor::gelu);
                unary.put("geluTanh", v -> v.gelu(true));
                unary.put("softplus", Tensor::softplus);
                unary.put("elu", v -> v.elu(0.7));
                unary.put("erf", Tensor::erf);
                unary.put("sin", Tensor::sin);
                unary.put("cos", Tensor::cos);
                unary.put("rsqrt", v -> v.abs().add(1).rsqrt());
                unary.put("softmax", v -> v.softmax(-1));
                unary.put("logSoftmax", v -> v.logSoftmax(-1));
                unary.put("logsumexp", v -> v.logsumexp(new int[] {1}, false));
                unary.put("sum", v -> v.sum(1));
                unary.put("var", v -> v.var(new int[] {0}, false));
                unary.put("norm", v -> v.norm());
                unary.forEach((name, f) -> out.put(name + "/" + t, gradient(f, x)));
                out.put("log/" + t, gradient(Tensor::log, positive));
                out.put("pow/" + t, gradient(v -> v.pow(1.7), positive));
                out.put("randn/" + t, hash(x));
            }
            Tensor a = Tensor.randn(g, DType.FLOAT32, null, 37, 53), b = Tensor.randn(g, DType.FLOAT32, null, 53, 41);
            out.put("matmul", gradient(v -> v.matmul(b), a));
            Tensor image = Tensor.randn(g, DType.FLOAT32, null, 2, 3, 11, 11);
            Tensor kernel = Tensor.randn(g, DType.FLOAT32, null, 8, 3, 3, 3).mul(0.3);
            out.put("conv2d", gradient(v -> Functional.conv2d(v, kernel, null, 1, 1).relu(), image));
            out.put("conv2dStride2", gradient(v -> Functional.conv2d(v, kernel, null, 2, 1), image));
            Tensor deep = Tensor.randn(g, DType.FLOAT32, null, 2, 16, 9, 9);
            Tensor deepKernel = Tensor.randn(g, DType.FLOAT32, null, 16, 16, 3, 3).mul(0.2);
            out.put("conv2dStride2Deep", gradient(v -> Functional.conv2d(v, deepKernel, null, 2, 1), deep));
            out.put("maxPool2d", gradient(v -> Functional.maxPool2d(v, 2), image));
            Tensor rows = Tensor.randn(g, DType.FLOAT32, null, 5, 40);
            out.put("layerNorm", gradient(v -> Functional.layerNorm(v, new int[] {40}, null, null, 1e-5), rows));
            Tensor q = Tensor.randn(g, DType.FLOAT32, null, 1, 2, 19, 16);
            Tensor k = Tensor.randn(g, DType.FLOAT32, null, 1, 2, 19, 16), val = Tensor.randn(g, DType.FLOAT32, null, 1, 2, 19, 16);
            out.put("attention", gradient(v -> Attention.scaledDotProduct(v, k, val, null, new Attention.Options(Double.NaN, true, 0)), q));
            Tensor seq = Tensor.randn(g, DType.FLOAT32, null, 4, 3, 10);
            Tensor w = Tensor.randn(g, DType.FLOAT32, null, 1, 4 * 24, 10).mul(0.3), r = Tensor.randn(g, DType.FLOAT32, null, 1, 4 * 24, 24).mul(0.3);
            out.put("lstm", gradient(v -> Recurrent.lstm(v, w, r, null, null, null, null, null, Recurrent.Options.defaults()).output(), seq));
            // Whole vectors of hidden units: the sequence kernel, not the step-by-step cell.
            Tensor w32 = Tensor.randn(g, DType.FLOAT32, null, 1, 4 * 32, 10).mul(0.3), r32 = Tensor.randn(g, DType.FLOAT32, null, 1, 4 * 32, 32).mul(0.3);
            out.put("lstmBlocks", gradient(v -> Recurrent.lstm(v, w32, r32, null, null, null, null, null, Recurrent.Options.defaults()).output(), seq));
            Tensor logits = Tensor.randn(g, DType.FLOAT32, null, 6, 33), targets = Tensor.of(new long[] {0, 5, 32, 7, 7, 1}, 6);
            out.put("crossEntropy", gradient(v -> Functional.crossEntropy(v, targets), logits));
        }
        return out;
    }

    /** The hash of f(x) and of the gradient of sum(f(x)^2 / 2) with respect to x. */
    private static String gradient(Function<Tensor, Tensor> f, Tensor x) {
        Tensor leaf = x.detach().requiresGrad(true);
        Tensor y = f.apply(leaf);
        y.square().sum().mul(0.5).backward();
        return hash(y) + ":" + hash(leaf.grad());
    }

    private static String hash(Tensor t) {
        long h = 17;
        for (double v : t.toDoubleArray()) h = h * 31 + Double.doubleToRawLongBits(v);
        return Long.toHexString(h);
    }
}
