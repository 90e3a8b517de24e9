package dev.kiln.nn.models;

import dev.kiln.nn.Activation;
import dev.kiln.nn.AdaptiveAvgPool2d;
import dev.kiln.nn.BatchNorm2d;
import dev.kiln.nn.Conv2d;
import dev.kiln.nn.Flatten;
import dev.kiln.nn.Linear;
import dev.kiln.nn.MaxPool2d;
import dev.kiln.nn.ResidualBlock;
import dev.kiln.nn.Sequential;

/** Small classifiers for (N, 1, 28, 28) digit images, sized for a CPU in minutes. */
public final class MnistNets {
    private MnistNets() {}

    /**
     * An all-convolutional CNN: two 5x5 convolutions with stride 2 (16 and 32 channels, 28x28 to 14x14 to 7x7)
     * with ReLU, then a linear classifier; about 1.4 MFLOP per image forward, 29k parameters. Strided
     * convolutions do the downsampling that pooling layers would, in the same matrix products as the
     * convolutions themselves, which is cheaper on every backend than a separate pooling pass.
     *
     * @return a new, freshly initialised network
     */
    public static Sequential cnn() {
        return new Sequential(
                new Conv2d(1, 16, 5, 2, 2), Activation.relu(),
                new Conv2d(16, 32, 5, 2, 2), Activation.relu(),
                new Flatten(),
                new Linear(32 * 7 * 7, 10));
    }

    /**
     * The classic LeNet-5 layout with max pooling (8 and 16 channels, a 64-unit hidden layer).
     *
     * @return a new, freshly initialised network
     */
    public static Sequential lenet() {
        return new Sequential(
                new Conv2d(1, 8, 5), Activation.relu(), new MaxPool2d(2),
                new Conv2d(8, 16, 5), Activation.relu(), new MaxPool2d(2),
                new Flatten(),
                new Linear(16 * 4 * 4, 64), Activation.relu(),
                new Linear(64, 10));
    }

    /**
     * LeNet-5 as usually rebuilt today (LeCun et al. 1998 with ReLU and max pooling): 6 then 16 channels of 5x5
     * convolutions, each followed by 2x2 max pooling, then 400-120-84-10 fully connected; 61,706 parameters. The
     * first convolution pads by 2, so a 28x28 digit sees the same 32x32 field as the original.
     *
     * @return a new, freshly initialised network
     */
    public static Sequential lenet5() {
        return new Sequential(
                new Conv2d(1, 6, 5, 1, 2), Activation.relu(), new MaxPool2d(2),
                new Conv2d(6, 16, 5), Activation.relu(), new MaxPool2d(2),
                new Flatten(),
                new Linear(16 * 5 * 5, 120), Activation.relu(),
                new Linear(120, 84), Activation.relu(),
                new Linear(84, 10));
    }

    /**
     * A small ResNet for digits: a 3x3 stem of 16 channels with batch norm at 28x28, then two basic residual
     * blocks that halve the resolution and double the channels (32 at 14x14, 64 at 7x7, projection shortcuts),
     * global average pooling and a linear classifier; 73,082 parameters, about 11 MFLOP per image forward.
     *
     * @return a new, freshly initialised network mapping (N, 1, 28, 28) to (N, 10) logits
     */
    public static Sequential resnet() {
        return new Sequential(
                new Conv2d(1, 16, 3, 1, 1, 1, 1, false), new BatchNorm2d(16), Activation.relu(),
                new ResidualBlock(16, 32, 2),
                new ResidualBlock(32, 64, 2),
                new AdaptiveAvgPool2d(1, 1), new Flatten(),
                new Linear(64, 10));
    }

    /** {@return a new 784-128-10 perceptron: fast, around 95% on the bundled sample} */

    public static Sequential mlp() {
        return new Sequential(new Flatten(), new Linear(784, 128), Activation.relu(), new Linear(128, 10));
    }
}
