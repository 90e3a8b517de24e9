package dev.kiln.nn.data;

import java.util.Arrays;

/**
 * One example: a float input of a fixed shape and a target that is either a class index
 * ({@link #classification}) or a float array of a fixed shape ({@link #regression}).
 */
public record Example(float[] input, int[] inputShape, float[] target, int[] targetShape, boolean classTarget) {

    public Example {
        checkSize("input", input, inputShape);
        checkSize("target", target, targetShape);
    }

    private static void checkSize(String what, float[] data, int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        if (n != data.length)
            throw new IllegalArgumentException("Example: " + what + " of " + data.length + " values does not fill shape " + Arrays.toString(shape));
    }

    public static Example classification(float[] input, int[] inputShape, int label) {
        return new Example(input, inputShape, new float[] {label}, new int[0], true);
    }

    public static Example regression(float[] input, int[] inputShape, float[] target, int[] targetShape) {
        return new Example(input, inputShape, target, targetShape, false);
    }
}
