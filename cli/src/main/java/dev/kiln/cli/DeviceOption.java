package dev.kiln.cli;

import dev.kiln.Device;
import dev.kiln.Kiln;
import picocli.CommandLine.Option;

/** The {@code --device} option every command that computes takes, as a picocli mixin. */
final class DeviceOption {
    @Option(names = "--device", description = "Device (cpu, opencl, opencl:N, cuda); default: the best available.")
    String device;

    /** Makes the chosen device the default for everything the command creates; without the option the probe's choice stands. */
    void apply() {
        if (device != null) Kiln.setDefaultDevice(Device.parse(device));
    }
}
