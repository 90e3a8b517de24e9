package dev.kiln;

/**
 * Element types. float16 and bfloat16 are storage types: they can be created, copied and cast, and ops on them
 * compute in float32 (matrix products and convolutions accumulate in float32 and round once, on a backend's own
 * half path where it has one); {@link Autocast} runs a model's products in them.
 */
public enum DType {
    /** 32-bit IEEE float, the default. */
    FLOAT32(4, true),
    /** 64-bit IEEE float. */
    FLOAT64(8, true),
    /** 32-bit signed integer. */
    INT32(4, false),
    /** 64-bit signed integer: indices and counts. */
    INT64(8, false),
    /** Boolean, one byte per element. */
    BOOL(1, false),
    /** 16-bit IEEE half float (a storage type, see the class comment). */
    FLOAT16(2, true),
    /** bfloat16, float32's top 16 bits (a storage type, see the class comment). */
    BFLOAT16(2, true);

    private final int byteSize;
    private final boolean floating;

    DType(int byteSize, boolean floating) {
        this.byteSize = byteSize;
        this.floating = floating;
    }

    /**
     * {@return the bytes per element}
     */
    public int byteSize() { return byteSize; }

    /**
     * {@return whether this is a floating-point type}
     */
    public boolean isFloatingPoint() { return floating; }

    /**
     * Whether kernels compute in this type (as opposed to it being a storage-only type).
     *
     * @return true for all but float16 and bfloat16
     */
    public boolean isComputeType() { return this != FLOAT16 && this != BFLOAT16; }

    /**
     * The type of {@code a op b}, following PyTorch's promotion lattice: {@code bool < int32 < int64 < float32 < float64}.
     * Half types promote to float32.
     *
     * @param a one operand's type
     * @param b the other's
     * @return the result type
     */
    public static DType promote(DType a, DType b) {
        if (a == b) return a.isComputeType() ? a : FLOAT32;
        return rank(a) >= rank(b) ? computeOf(a) : computeOf(b);
    }

    private static DType computeOf(DType t) { return t.isComputeType() ? t : FLOAT32; }

    private static int rank(DType t) {
        return switch (t) {
            case BOOL -> 0;
            case INT32 -> 1;
            case INT64 -> 2;
            case FLOAT16, BFLOAT16 -> 3;
            case FLOAT32 -> 4;
            case FLOAT64 -> 5;
        };
    }

    /**
     * The floating type an integer or bool tensor becomes for ops such as mean, exp or division.
     *
     * @return this type if it is a floating compute type, float64 for float64, else float32
     */
    public DType toFloating() { return floating && isComputeType() ? this : (this == FLOAT64 ? FLOAT64 : FLOAT32); }

    @Override
    public String toString() { return name().toLowerCase(java.util.Locale.ROOT); }
}
