package dev.kiln.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code kiln devices | train | eval | bench | run}. */
@Command(name = "kiln", mixinStandardHelpOptions = true, version = "kiln 0.1.0",
        description = "Kiln: tensors, autograd and neural networks for the JVM.",
        subcommands = {DevicesCommand.class, TrainCommand.class, EvalCommand.class, BenchCommand.class, RunCommand.class, CommandLine.HelpCommand.class})
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

    /**
     * The message for the user. File-system errors carry only the path as their message (an unwritable --out
     * printed just the path), so the reason is added: the OS's when it gave one, else the kind of failure.
     */
    static String describe(Exception ex) {
        if (!(ex instanceof java.nio.file.FileSystemException fse)) return ex.getMessage();
        String reason = fse.getReason() != null ? fse.getReason() : switch (fse) {
            case java.nio.file.AccessDeniedException a -> "permission denied";
            case java.nio.file.NoSuchFileException n -> "no such file or directory";
            case java.nio.file.FileAlreadyExistsException f -> "exists and is not a directory";
            case java.nio.file.NotDirectoryException n -> "not a directory";
            default -> fse.getClass().getSimpleName();
        };
        return "cannot write " + fse.getFile() + (fse.getOtherFile() != null ? " -> " + fse.getOtherFile() : "") + ": " + reason;
    }

    /** {@return the configured command line, for tests that run commands in process} */
    public static CommandLine commandLine() {
        return new CommandLine(new Main()).setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("kiln " + cmd.getCommandName() + ": " + describe(ex));
            if (Boolean.getBoolean("kiln.stacktrace")) ex.printStackTrace(cmd.getErr());
            return 1;
        });
    }
}
