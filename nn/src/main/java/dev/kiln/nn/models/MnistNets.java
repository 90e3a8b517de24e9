package dev.kiln.nn.models;

import dev.kiln.nn.Activation;
import dev.kiln.nn.Conv2d;
import dev.kiln.nn.Flatten;
import dev.kiln.nn.Linear;
import dev.kiln.nn.MaxPool2d;
import dev.kiln.nn.Sequential;

/** Small classifiers for (N, 1, 28, 28) digit images, sized for a CPU in minutes. */
public final class MnistNets {
    private MnistNets() {}

    /**
     * A LeNet-style CNN: two 5x5 convolutions (8 and 16 channels) with ReLU and 2x2 max pooling, then a
     * 64-unit hidden layer; about 0.4 MFLOP per image forward, 23k parameters.
     */
    public static Sequential cnn() {
        return new Sequential(
                new Conv2d(1, 8, 5), Activation.relu(), new MaxPool2d(2),
                new Conv2d(8, 16, 5), Activation.relu(), new MaxPool2d(2),
                new Flatten(),
                new Linear(16 * 4 * 4, 64), Activation.relu(),
                new Linear(64, 10));
    }

    /** A 784-128-10 perceptron: fast, around 95% on the bundled sample. */
    public static Sequential mlp() {
        return new Sequential(new Flatten(), new Linear(784, 128), Activation.relu(), new Linear(128, 10));
    }
}
