package dev.kiln.nn.zoo;

import dev.kiln.nn.models.MnistNets;

import java.util.List;
import java.util.Optional;

/**
 * The model zoo: classic architectures, each trained on real data to a published figure with one call
 * ({@code kiln train <name>}). See {@code docs/models.md} for what each reached, in what time, on what device.
 */
public final class Zoo {
    private static final List<ZooModel> MODELS = List.of(
            new MnistClassifier("lenet", "LeNet-5: convolution, max pooling, fully connected layers", "held-out accuracy >= 98.5% (the shared data's note: a small CNN >= 97.5%)",
                    0.985, MnistNets::lenet5, 20, 0.004),
            new MnistClassifier("resnet-mnist", "residual blocks with batch norm and projection shortcuts", "held-out accuracy >= 99.0%",
                    0.99, MnistNets::resnet, 16, 0.004),
            CharLanguageModel.recurrent("lstm"),
            CharLanguageModel.recurrent("gru"),
            CharLanguageModel.recurrent("rnn"),
            CharLanguageModel.gpt(),
            new GcnCora(),
            new DenoisingAutoencoder(),
            new Gan(),
            CapsNet.model(),
            new Multitask(),
            new GradientHealth(),
            new Seq2SeqReversal(),
            new TransEWordNet(),
            new BertShakespeare(),
            new TransformerXlShakespeare());

    private Zoo() {}

    /** {@return every model, in the order of the docs} */
    public static List<ZooModel> all() { return MODELS; }

    /**
     * Looks a model up by name.
     *
     * @param name the registry name
     * @return the model, or empty if the zoo has none of that name
     */
    public static Optional<ZooModel> find(String name) {
        return MODELS.stream().filter(m -> m.name().equals(name)).findFirst();
    }

    /**
     * The model of a name.
     *
     * @param name the registry name
     * @return the model
     * @throws IllegalArgumentException if the zoo has none of that name (the message lists the names)
     */
    public static ZooModel get(String name) {
        return find(name).orElseThrow(() -> new IllegalArgumentException("model zoo: no model '" + name + "'; the zoo has " + names()));
    }

    /** {@return the registry names, in the order of the docs} */
    public static List<String> names() {
 return MODELS.stream().map(ZooModel::name).toList(); }
}
