package dev.kiln.nn.zoo;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.Activation;
import dev.kiln.nn.CapsuleLayer;
import dev.kiln.nn.Conv2d;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.Sequential;
import dev.kiln.nn.data.Batch;
import dev.kiln.nn.data.Mnist;

/**
 * Sabour, Frosst and Hinton's CapsNet (2017), narrowed for a CPU: a 9x9 convolution of 32 channels, primary
 * capsules from a strided 9x9 convolution (8 types of 8-D capsules on a 6x6 grid, 288 capsules), ten 16-D digit
 * capsules by three rounds of dynamic routing ({@link CapsuleLayer}), the capsule lengths as class scores. The loss
 * is their margin loss (m+ 0.9, m- 0.1, lambda 0.5) plus 0.0005 times the squared error of a reconstruction
 * decoded (512-1024-784) from the true class's capsule, the others masked. Trained by {@link MnistClassifier}'s
 * recipe (digits shifted by up to 2 pixels, as in the paper), Adam with a one-cycle schedule peaking at 2e-3.
 */
final class CapsNet {
    private static final int TYPES = 8;
    private static final int PRIMARY_DIM = 8;
    private static final int GRID = 6;
    private static final int DIGIT_DIM = 16;
    private static final double RECONSTRUCTION_WEIGHT = 0.0005;

    private CapsNet() {}

    /** The zoo entry: {@link MnistClassifier}'s recipe with this network and its loss, 10 epochs peaking at 2e-3. */
    static MnistClassifier model() {
        return new MnistClassifier("capsnet", "capsule layers with dynamic routing, margin loss, reconstruction", "held-out accuracy >= 98.5%", 0.985,
                Network::new, 10, 2e-3, (model, batch) -> loss((Network) model, batch));
    }

    /** The network: {@link #forward} gives the ten capsule lengths, {@link #digitCapsules} the capsules themselves. */
    static final class Network extends Module {
        private final Conv2d features;
        private final Conv2d primary;
        private final CapsuleLayer digits;
        private final Sequential decoder;

        Network() {
            features = registerModule("conv1", new Conv2d(1, 32, 9));
            primary = registerModule("primary", new Conv2d(32, TYPES * PRIMARY_DIM, 9, 2, 0));
            digits = registerModule("digits", new CapsuleLayer(TYPES * GRID * GRID, PRIMARY_DIM, 10, DIGIT_DIM, 3));
            decoder = registerModule("decoder", new Sequential(new Linear(10 * DIGIT_DIM, 512), Activation.relu(), new Linear(512, 1024), Activation.relu(),
                    new Linear(1024, 784), Activation.sigmoid()));
        }

        /** (B, 1, 28, 28) to the digit capsules (B, 10, 16). */
        Tensor digitCapsules(Tensor x) {
            int b = x.size(0);
            try (Scope s = Scope.open()) {
                Tensor grid = primary.forward(features.forward(x).relu());
                // (B, types * dim, 6, 6): channel t * dim + d is component d of the type-t capsule at each grid point.
                Tensor capsules = grid.reshape(b, TYPES, PRIMARY_DIM, GRID, GRID).permute(0, 1, 3, 4, 2).reshape(b, TYPES * GRID * GRID, PRIMARY_DIM);
                return s.keep(digits.forward(CapsuleLayer.squash(capsules)));
            }
        }

        @Override
        public Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                return s.keep(lengths(digitCapsules(x)));
            }
        }

        /** The reconstruction (B, 784) from the capsules of {@code classes}, the others masked out. */
        Tensor reconstruct(Tensor capsules, Tensor classes) {
            try (Scope s = Scope.open()) {
                Tensor mask = classes.oneHot(10).to(capsules.dtype()).unsqueeze(2);
                return s.keep(decoder.forward(capsules.mul(mask).flatten(1, 2)));
            }
        }
    }

    /** Capsule lengths, with a small floor inside the root so that the gradient at a zero capsule is finite. */
    private static Tensor lengths(Tensor capsules) { return capsules.square().sum(new int[] {2}, false).add(1e-9).sqrt(); }

    /** Sabour et al.'s margin loss, summed over classes and averaged over the batch. */
    private static Tensor marginLoss(Tensor lengths, Tensor classes) {
        try (Scope s = Scope.open()) {
            Tensor present = classes.oneHot(10).to(lengths.dtype());
            Tensor missed = lengths.rsub(0.9).relu().square(), spurious = lengths.sub(0.1).relu().square();
            Tensor perClass = present.mul(missed).add(present.rsub(1).mul(spurious).mul(0.5));
            return s.keep(perClass.sum(new int[] {1}, false).mean());
        }
    }

    /** Margin loss plus the weighted squared error of the reconstruction from the true class's capsule, against the digit's pixels in [0, 1]. */
    private static Tensor loss(Network model, Batch batch) {
        try (Scope s = Scope.open()) {
            Tensor x = batch.inputs(), classes = batch.targets();
            Tensor capsules = model.digitCapsules(x);
            Tensor pixels = x.mul(Mnist.STD).add(Mnist.MEAN).clamp(0, 1).reshape(x.size(0), 784);
            Tensor squaredError = model.reconstruct(capsules, classes).sub(pixels).square().sum(new int[] {1}, false).mean();
            return s.keep(marginLoss(lengths(capsules), classes).add(squaredError.mul(RECONSTRUCTION_WEIGHT)));
        }
    }
}
