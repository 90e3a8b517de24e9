package dev.kiln.cli;

import dev.kiln.backend.DeviceProbe;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** Prints the device probe's table: what was found, what was rejected and why. */
@Command(name = "devices", mixinStandardHelpOptions = true, description = "List the devices the probe found and rejected.")
final class DevicesCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().getOut().print(DeviceProbe.table());
        spec.commandLine().getOut().flush();
    }
}
