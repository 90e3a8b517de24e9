package dev.kiln.nn.data;

import java.util.Arrays;

/**
 * One example: a float input of a fixed shape and a target that is either a class index
 * ({@link #classification}) or a float array of a fixed shape ({@link #regression}).
 *
 * @param input the input values, row-major
 * @param inputShape the input's shape
 * @param target the target values: one class index, or values row-major
 * @param targetShape the target's shape, empty for a class index
 * @param classTarget whether the target is a class index
 */
public record Example(float[] input, int[] inputShape, float[] target, int[] targetShape, boolean classTarget) {

    /**
     * Checks that the values fill the shapes.
     *
     * @throws IllegalArgumentException if a value array does not fill its shape
     */
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

    /**
     * An example whose target is a class index.
     *
     * @param input the input values, row-major
     * @param inputShape the input's shape
     * @param label the class index
     * @return the example
     */
    public static Example classification(float[] input, int[] inputShape, int label) {
        return new Example(input, inputShape, new float[] {label}, new int[0], true);
    }

    /**
     * An example whose target is an array of values.
     *
     * @param input the input values, row-major
     * @param inputShape the input's shape
     * @param target the target values, row-major
     * @param targetShape the target's shape
     * @return the example
     */
    public static Example regression(float[] input, int[] inputShape, float[] target, int[] targetShape) {
        return new Example(input, inputShape, target, targetShape, false);
    }
}
