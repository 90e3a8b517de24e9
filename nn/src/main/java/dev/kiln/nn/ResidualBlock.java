package dev.kiln.nn;

import dev.kiln.Scope;
import dev.kiln.Tensor;

/**
 * The basic ResNet block: {@code relu(bn(conv3x3(relu(bn(conv3x3(x))))) + shortcut(x))}, where the shortcut
 * is the identity, or a strided 1x1 convolution with batch norm when the shape changes.
 */
public final class ResidualBlock extends Module {
    private final Sequential body;
    private final Sequential shortcut;

    /**
     * A block from {@code inChannels} to {@code outChannels}, downsampling by {@code stride}.
     *
     * @param inChannels the input channels
     * @param outChannels the output channels
     * @param stride the first convolution's stride (and the shortcut's)
     */
    public ResidualBlock(int inChannels, int outChannels, int stride) {
        body = registerModule("body", new Sequential(
                new Conv2d(inChannels, outChannels, 3, stride, 1, 1, 1, false), new BatchNorm2d(outChannels), Activation.relu(),
                new Conv2d(outChannels, outChannels, 3, 1, 1, 1, 1, false), new BatchNorm2d(outChannels)));
        shortcut = stride != 1 || inChannels != outChannels
                ? registerModule("shortcut", new Sequential(new Conv2d(inChannels, outChannels, 1, stride, 0, 1, 1, false), new BatchNorm2d(outChannels)))
                : null;
    }

    @Override
    public Tensor forward(Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor skip = shortcut == null ? x : shortcut.forward(x);
            return s.keep(body.forward(x).add(skip).relu());
        }
    }
}
