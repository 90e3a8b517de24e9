package dev.kiln.testkit.reliability;

import dev.kiln.testkit.BackendTest;
import dev.kiln.testkit.TestDevice;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The probes that could crash the process run in a forked JVM: a crash is this test's failure, with the child's log. */
class CrashIsolationTest {

    @BackendTest
    void hostileAllocationsEndInKilnsExceptionsInAChildJvm(TestDevice device) throws Exception {
        device.activate();
        ForkedJvm.Result r = ForkedJvm.run(CrashProbes.class, 300, device.device().toString());
        assertEquals(0, r.exitCode(), () -> "child JVM exited with " + r.exitCode() + "; its log:\n" + r.log());
        assertTrue(r.log().contains("probes passed"), r.log());
    }
}
