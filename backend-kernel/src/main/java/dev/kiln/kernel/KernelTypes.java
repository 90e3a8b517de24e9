package dev.kiln.kernel;

import dev.kiln.DType;

/**
 * How each Kiln dtype appears in the kernel sources: its C storage type (OpenCL C names; the prelude maps them in CUDA), its kind (the prelude's KIND_
 * constants) and the name its entry points carry. A program is compiled per family and per type assignment of
 * its slots (T, S, D, IDX); {@link #defines} writes those assignments as build options.
 */
final class KernelTypes {
    private KernelTypes() {}

    static final int KIND_FLOAT = 1, KIND_INT = 2, KIND_BOOL = 3, KIND_HALF = 4, KIND_BF16 = 5;

    static String clType(DType t) {
        return switch (t) {
            case FLOAT32 -> "float";
            case FLOAT64 -> "double";
            case INT32 -> "int";
            case INT64 -> "long";
            case BOOL -> "uchar";
            case FLOAT16 -> "half";
            case BFLOAT16 -> "ushort";
        };
    }

    static int kind(DType t) {
        return switch (t) {
            case FLOAT32, FLOAT64 -> KIND_FLOAT;
            case INT32, INT64 -> KIND_INT;
            case BOOL -> KIND_BOOL;
            case FLOAT16 -> KIND_HALF;
            case BFLOAT16 -> KIND_BF16;
        };
    }

    /** Build options binding slot {@code slot} (T, S or D) to a dtype. */
    static String defines(String slot, DType t) {
        return defines(slot, clType(t), kind(t), t.toString());
    }

    /**
     * Slot T bound to the unsigned integer of a dtype's width: raw moves (copy, fill) that work for every dtype,
     * float64 and the 16-bit floats included.
     */
    static String bitsDefines(DType t) {
        String type = switch (t.byteSize()) {
            case 1 -> "uchar";
            case 2 -> "ushort";
            case 4 -> "uint";
            default -> "ulong";
        };
        return defines("T", type, KIND_INT, "bits" + 8 * t.byteSize());
    }

    static String indexDefines(DType index) {
        return " -DIDX=" + clType(index);
    }

    private static String defines(String slot, String type, int kind, String name) {
        return " -D" + slot + "=" + type + " -D" + slot + "_KIND=" + kind + " -D" + slot + "N=" + name;
    }
}
