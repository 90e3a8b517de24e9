package dev.kiln;

import java.util.function.Function;

/**
 * Automatic mixed precision for the ops of this thread, as PyTorch's {@code torch.autocast}:
 *
 * <pre>{@code
 * try (Autocast ac = Autocast.enable(DType.BFLOAT16)) {
 *     Tensor loss = Functional.crossEntropy(model.forward(x), y);   // matmuls in bfloat16, the loss in float32
 * }
 * loss.backward();                                                  // outside the scope, as in PyTorch
 * }</pre>
 *
 * <p>Inside the scope, ops follow PyTorch's autocast lists:
 * <ul>
 *   <li><b>lower precision</b>: {@code matmul} (so {@code linear}, {@code einsum} and attention's products) and the
 *   convolutions cast their float32 (or other half type) operands to the scope's half type and return it. The
 *   products accumulate in float32 and round once: a backend that computes half operands itself does that on the
 *   device (CUDA: cuBLAS with float32 compute), any other one gets the operands widened to float32 above the SPI,
 *   which computes the same thing;</li>
 *   <li><b>float32</b>: {@code softmax}, {@code log_softmax}, {@code sum} (so {@code mean}), {@code prod}, layer and
 *   batch norm and the losses widen half inputs to float32 and return float32, where the range and the sums need
 *   it;</li>
 *   <li>everything else runs in its inputs' types, promoting as usual (a half tensor plus a float32 one is float32).</li>
 * </ul>
 * float64 and integer operands are never cast. The casts are recorded by autograd, so each gradient flows back in its
 * tensor's own dtype: a float32 parameter used by a bfloat16 matmul gets a float32 gradient. float16's narrow range
 * can flush small gradients to zero; scale the loss ({@code dev.kiln.nn.optim.GradScaler}) when training in float16.
 *
 * <p>The state is per thread, as in PyTorch; scopes nest, and closing one restores the state it found.
 * Unlike PyTorch, casts of the same weight are not cached within a scope: each use casts again.
 */
public final class Autocast implements AutoCloseable {
    private static final ThreadLocal<DType[]> ACTIVE = ThreadLocal.withInitial(() -> new DType[1]);
    private final DType previous;

    private Autocast(DType dtype) {
        DType[] state = ACTIVE.get();
        previous = state[0];
        state[0] = dtype;
    }

    /**
     * Turns autocast on for this thread until the handle is closed.
     *
     * @param dtype the lower-precision type: {@link DType#BFLOAT16} or {@link DType#FLOAT16}
     * @return the handle that restores the previous state
     * @throws IllegalArgumentException for any other dtype
     */
    public static Autocast enable(DType dtype) {
        if (dtype != DType.BFLOAT16 && dtype != DType.FLOAT16)
            throw new IllegalArgumentException("autocast: the lower-precision dtype must be bfloat16 or float16, got " + dtype);
        return new Autocast(dtype);
    }

    /** {@return a handle that turns autocast off on this thread until it is closed (PyTorch's {@code autocast(enabled=False)})} */
    public static Autocast disable() { return new Autocast(null); }

    /** {@return whether autocast is on in this thread} */
    public static boolean isEnabled() { return ACTIVE.get()[0] != null; }

    /**
     * The lower-precision type of the scope in force.
     *
     * @return bfloat16 or float16, or null when autocast is off in this thread
     */
    public static DType dtype() { return ACTIVE.get()[0]; }

    /** Restores the state that was in force when this handle was made. */
    @Override
    public void close() { ACTIVE.get()[0] = previous; }

    /**
     * A lower-precision op: under autocast, when every floating operand is float32 or a half type and one is not
     * yet the scope's type, {@code op} runs on the operands cast to it; otherwise on the operands as given. Null
     * operands (an absent bias) stay null.
     */
    static Tensor lowerPrecision(Function<Tensor[], Tensor> op, Tensor... operands) {
        DType target = dtype();
        if (target == null || !castsTo(target, operands)) return op.apply(operands);
        try (Scope s = Scope.open()) {
            Tensor[] cast = new Tensor[operands.length];
            for (int i = 0; i < operands.length; i++)
                cast[i] = operands[i] == null || !operands[i].dtype().isFloatingPoint() || operands[i].dtype() == target
                        ? operands[i] : Elementwise.cast(operands[i], target);
            return s.keep(op.apply(cast));
        }
    }

    private static boolean castsTo(DType target, Tensor[] operands) {
        boolean differs = false;
        for (Tensor t : operands) {
            if (t == null || !t.dtype().isFloatingPoint()) continue;
            if (t.dtype() == DType.FLOAT64) return false;
            differs |= t.dtype() != target;
        }
        return differs;
    }

    /** A float32 op: under autocast, {@code op} runs on x widened to float32 when x is a half type; else on x. */
    static Tensor float32(Tensor x, Function<Tensor, Tensor> op) {
        if (!isEnabled() || x.dtype().isComputeType()) return op.apply(x);
        try (Scope s = Scope.open()) {
            return s.keep(op.apply(Elementwise.cast(x, DType.FLOAT32)));
        }
    }
}
