package dev.kiln.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code kiln devices | train | eval | bench}. */
@Command(name = "kiln", mixinStandardHelpOptions = true, version = "kiln 0.1.0",
        description = "Kiln: tensors, autograd and neural networks for the JVM.",
        subcommands = {DevicesCommand.class, TrainCommand.class, EvalCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() { spec.commandLine().usage(System.out); }

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

    /** The configured command line, for tests that run commands in process. */
    public static CommandLine commandLine() {
        return new CommandLine(new Main()).setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("kiln " + cmd.getCommandName() + ": " + describe(ex));
            if (Boolean.getBoolean("kiln.stacktrace")) ex.printStackTrace(cmd.getErr());
            return 1;
        });
    }
}
