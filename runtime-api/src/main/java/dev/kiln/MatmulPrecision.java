package dev.kiln;

import java.util.Locale;

/**
 * How float32 matrix products may be computed, as PyTorch's {@code torch.set_float32_matmul_precision}: exactly in
 * float32 ({@link #HIGHEST}, the default), or on tensor cores with TF32 inputs ({@link #HIGH}) or bfloat16 inputs
 * ({@link #MEDIUM}), accumulating in float32. A backend without such hardware computes in float32, which every
 * setting allows.
 */
public enum MatmulPrecision {
    /** Exact float32 ({@code "highest"}). */
    HIGHEST,
    /** TF32 inputs, float32 accumulation ({@code "high"}). */
    HIGH,
    /** bfloat16 inputs, float32 accumulation ({@code "medium"}). */
    MEDIUM;

    /**
     * Parses PyTorch's spelling.
     *
     * @param name "highest", "high" or "medium", as PyTorch spells them
     * @return the precision named
     * @throws IllegalArgumentException for any other name
     */

    public static MatmulPrecision parse(String name) {
        for (MatmulPrecision p : values()) if (p.name().toLowerCase(Locale.ROOT).equals(name)) return p;
        throw new IllegalArgumentException("float32 matmul precision must be \"highest\", \"high\" or \"medium\", got \"" + name + "\"");
    }
}
