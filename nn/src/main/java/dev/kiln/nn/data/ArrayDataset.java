package dev.kiln.nn.data;

/** A classification dataset over one flat float array of inputs and an int array of labels. */
public final class ArrayDataset implements Dataset {
    private final float[] inputs;
    private final int[] inputShape;
    private final int[] labels;
    private final int exampleSize;

    /**
     * A dataset over the arrays themselves (not copied).
     *
     * @param inputs every example's input values, one after another
     * @param inputShape the shape of one input
     * @param labels the class index of each example
     * @throws IllegalArgumentException if the inputs do not hold one input of the shape per label
     */
    public ArrayDataset(float[] inputs, int[] inputShape, int[] labels) {
        int n = 1;
        for (int d : inputShape) n *= d;
        if ((long) n * labels.length != inputs.length)
            throw new IllegalArgumentException("ArrayDataset: " + inputs.length + " input values for " + labels.length + " labels of shape "
                    + java.util.Arrays.toString(inputShape));
        this.inputs = inputs;
        this.inputShape = inputShape.clone();
        this.labels = labels;
        this.exampleSize = n;
    }

    @Override
    public int size() { return labels.length; }

    @Override
    public Example get(int index) {
        float[] x = new float[exampleSize];
        System.arraycopy(inputs, index * exampleSize, x, 0, exampleSize);
        return Example.classification(x, inputShape, labels[index]);
    }

    /**
     * The label of one example, without building the example.
     *
     * @param index the example's index
     * @return its class index
     */
    public int label(int index) { return labels[index]; }
}
