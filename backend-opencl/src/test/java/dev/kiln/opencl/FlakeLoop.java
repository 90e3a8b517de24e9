package dev.kiln.opencl;

import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import java.util.Arrays;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * Runs test classes over and over in one JVM, as Surefire runs them once, and counts the runs with a failure: the
 * reproduction loop for intermittent failures (backend-opencl/README.md). Hand-run:
 * {@code java -cp <test class path> dev.kiln.opencl.FlakeLoop <runs> <class>...}; each run's failures are printed
 * with the first lines of their message, and a summary line ends the output. The exit status is the number of failed runs
 * (at most 100). With {@code -Dflake.gcEveryMillis=N} a daemon thread calls {@code System.gc()} every N ms, so
 * unreferenced tensors are released by the Cleaner thread at arbitrary points of other threads' kernel launches: the
 * stress under which a release racing a launch shows.
 */
public final class FlakeLoop {
    public static void main(String[] args) throws ClassNotFoundException {
        int runs = Integer.parseInt(args[0]);
        LauncherDiscoveryRequestBuilder builder = LauncherDiscoveryRequestBuilder.request();
        for (String name : Arrays.copyOfRange(args, 1, args.length)) builder.selectors(selectClass(Class.forName(name)));
        LauncherDiscoveryRequest request = builder.build();
        Launcher launcher = LauncherFactory.create();
        long gcEveryMillis = Long.getLong("flake.gcEveryMillis", 0);
        if (gcEveryMillis > 0) {
            Thread.ofPlatform().daemon().name("flake-gc").start(() -> {
                while (true) {
                    System.gc();
                    try {
                        Thread.sleep(gcEveryMillis);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }
        int failedRuns = 0;
        long tests = 0;
        for (int run = 1; run <= runs; run++) {
            SummaryGeneratingListener listener = new SummaryGeneratingListener();
            launcher.execute(request, listener);
            TestExecutionSummary summary = listener.getSummary();
            tests += summary.getTestsSucceededCount() + summary.getTestsFailedCount();
            if (summary.getTotalFailureCount() > 0) {
                failedRuns++;
                System.out.printf("run %d: %d of %d tests failed%n", run, summary.getTotalFailureCount(), summary.getTestsFoundCount());
                for (TestExecutionSummary.Failure f : summary.getFailures())
                    System.out.printf("  %s: %s%n", f.getTestIdentifier().getDisplayName(), String.valueOf(f.getException()).lines().limit(12)
                            .reduce((a, b) -> a + "\n    " + b).orElse(""));
            }
            if (summary.getTestsSkippedCount() > 0 || summary.getTestsAbortedCount() > 0)
                System.out.printf("run %d: %d skipped, %d aborted%n", run, summary.getTestsSkippedCount(), summary.getTestsAbortedCount());
            if (run % 10 == 0) System.out.printf("after %d runs: %d failed%n", run, failedRuns);
        }
        System.out.printf("FlakeLoop: %d of %d runs failed (%d tests run)%n", failedRuns, runs, tests);
        System.exit(Math.min(failedRuns, 100));
    }
}
