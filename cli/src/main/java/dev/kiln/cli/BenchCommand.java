package dev.kiln.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Unmatched;
import picocli.CommandLine.Spec;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Runs the benchmarks module's quick benchmark when it is on the class path (the launcher adds it once built);
 * the benchmarks module depends on the backends, not the other way round, so the cli finds it by name.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Run the quick benchmark table (needs the benchmarks module built).")
final class BenchCommand implements Callable<Integer> {
    /** The benchmarks module's entry point; overridable with -Dkiln.bench.main. */
    static final String QUICK_BENCH_MAIN = "dev.kiln.bench.QuickBench";

    @Spec
    CommandSpec spec;

    /** Everything after {@code bench} (e.g. {@code --quick}) goes to the benchmark's main unchanged. */
    @Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        String name = System.getProperty("kiln.bench.main", QUICK_BENCH_MAIN);
        Class<?> main;
        try {
            main = Class.forName(name);
        } catch (ClassNotFoundException e) {
            spec.commandLine().getErr().println("kiln bench: the benchmarks module is not on the class path (" + name + " not found). "
                    + "Build it with `mvn -q -DskipTests package -pl benchmarks -am` and run ./kiln bench again.");
            return 2;
        }
        Method m = main.getMethod("main", String[].class);
        try {
            m.invoke(null, (Object) args.toArray(String[]::new));
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof Exception ex ? ex : e;
        }
        return 0;
    }
}
