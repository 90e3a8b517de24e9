package dev.kiln.nn.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * MNIST-style digits from a pair of IDX files, as a classification {@link ArrayDataset} of (1, 28, 28) float
 * images scaled to [0, 1] and standardised with the usual MNIST mean and deviation (0.1307, 0.3081).
 */
public final class Mnist {
    /**
     * The mean pixel value of the MNIST training set, on the [0, 1] scale.
     */
    public static final double MEAN = 0.1307;
    /**
     * The standard deviation of its pixel values.
     */
    public static final double STD = 0.3081;

    /** The resource name of the images of the 10,000-digit sample bundled with kiln-nn (provenance note in the same folder). */
    public static final String SAMPLE_IMAGES = "/dev/kiln/nn/data/mnist/mnist-10k-images-idx3-ubyte.gz";
    /**
     * The resource name of the sample's labels (its images: {@link #SAMPLE_IMAGES}).
     */
    public static final String SAMPLE_LABELS = "/dev/kiln/nn/data/mnist/mnist-10k-labels-idx1-ubyte.gz";

    private Mnist() {}

    /**
     * Loads digits from a pair of IDX files.
     *
     * @param images the IDX file of images (N, 28, 28), .gz allowed
     * @param labels the IDX file of labels (N)
     * @return the dataset
     * @throws IOException if a file cannot be read, is malformed, or the two do not match
     */
    public static ArrayDataset load(Path images, Path labels) throws IOException {
        return of(Idx.read(images), Idx.read(labels), images + " / " + labels);
    }

    /**
     * The bundled 10,000-digit sample.
     *
     * @return the dataset
     * @throws IOException if the bundled resource cannot be read
     */
    public static ArrayDataset sample() throws IOException {
        return of(resource(SAMPLE_IMAGES), resource(SAMPLE_LABELS), "bundled MNIST sample");
    }

    private static Idx.Array resource(String name) throws IOException {
        try (InputStream in = Mnist.class.getResourceAsStream(name)) {
            if (in == null) throw new IOException("MNIST sample resource " + name + " is missing from the class path");
            return Idx.read(new GZIPInputStream(in), name);
        }
    }

    private static ArrayDataset of(Idx.Array images, Idx.Array labels, String what) throws IOException {
        if (images.shape().length != 3 || labels.shape().length != 1)
            throw new IOException(what + ": expected images (N, rows, cols) and labels (N), got " + java.util.Arrays.toString(images.shape())
                    + " and " + java.util.Arrays.toString(labels.shape()));
        if (images.count() != labels.count())
            throw new IOException(what + ": " + images.count() + " images but " + labels.count() + " labels");
        float[] x = new float[images.data().length];
        for (int i = 0; i < x.length; i++) x[i] = (float) (((images.data()[i] & 0xFF) / 255.0 - MEAN) / STD);
        int[] y = new int[labels.count()];
        for (int i = 0; i < y.length; i++) {
            y[i] = labels.data()[i] & 0xFF;
            if (y[i] > 9) throw new IOException(what + ": label " + y[i] + " at " + i + " is not a digit");
        }
        return new ArrayDataset(x, new int[] {1, images.shape()[1], images.shape()[2]}, y);
    }
}
