package dev.kiln.bench;

import org.openjdk.jmh.annotations.Param;

/** conv2d forward and both backward passes: LeNet-5's two layers and ResNet-18's 64-channel 3x3 (no reference library yet). Rows are defined once, in {@link Rows}; {@code -p device=opencl} times another backend. */
public class ConvBenchmark extends RowBenchmark {
    @Param({"conv_lenet1_forward", "conv_lenet2_forward", "conv_resnet64_b32_forward",
            "conv_lenet1_backward_input", "conv_lenet2_backward_input", "conv_resnet64_b32_backward_input",
            "conv_lenet1_backward_weight", "conv_lenet2_backward_weight", "conv_resnet64_b32_backward_weight"})
    public String name;

    @Override
    protected String row() { return name; }
}
