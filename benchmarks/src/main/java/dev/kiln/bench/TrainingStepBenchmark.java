package dev.kiln.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;

/**
 * Whole training steps (zero_grad, forward, loss, backward, optimizer step): LeNet-5 with SGD, a 2-layer LSTM with
 * SGD, nanoGPT's CPU configuration with AdamW; against PyTorch's when built with -Ppytorch (without it, {@code pytorch()}
 * fails: the row has no reference). Rows are defined once,
 * in {@link Rows}; {@code -p device=opencl} times another backend (PyTorch stays on the CPU).
 */
public class TrainingStepBenchmark extends RowBenchmark {
    @Param({"step_lenet5_sgd_b64", "step_lstm2_t64b32h256_mse_sgd", "step_gpt_nanogpt_cpu_adamw_b12"})
    public String name;

    @Override
    protected String row() { return name; }

    @Benchmark
    public void pytorch() { reference(); }
}
