package dev.kiln.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code kiln devices | train | bench}. */
@Command(name = "kiln", mixinStandardHelpOptions = true, version = "kiln 0.1.0",
        description = "Kiln: tensors, autograd and neural networks for the JVM.",
        subcommands = {DevicesCommand.class, TrainCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    /** The top-level command; picocli fills in the options and runs a subcommand. */
    public Main() {}

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Sets {@code kiln.verbose} before any command touches the device probe, which reads it once. */
    @CommandLine.Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "Print Kiln's log: the device chosen and the candidates rejected (as -Dkiln.verbose=true).")
    void verbose(boolean on) {
        if (on) System.setProperty("kiln.verbose", "true");
    }

    @Override
    public void run() { spec.commandLine().usage(System.out); }

    /**
     * Runs the command line and exits with its status.
     *
     * @param args the command line, as {@code kiln} passes it
     */
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** {@return the configured command line, for tests that run commands in process} */
    public static CommandLine commandLine() {
        return new CommandLine(new Main()).setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("kiln " + cmd.getCommandName() + ": " + ex.getMessage());
            if (Boolean.getBoolean("kiln.stacktrace")) ex.printStackTrace(cmd.getErr());
            return 1;
        });
    }
}
