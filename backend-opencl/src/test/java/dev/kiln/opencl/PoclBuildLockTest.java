package dev.kiln.opencl;

import org.junit.jupiter.api.Test;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The cross-process build lock: held during a build, released after it even when the build fails. (That it keeps
 * concurrent processes from breaking each other's builds is measured in the README: 4 JVMs at once on one cache.)
 */
class PoclBuildLockTest {

    /** Whether this JVM could take the lock file now (a lock still held by this JVM makes tryLock throw). */
    private static boolean lockIsFree() throws Exception {
        try (FileChannel ch = FileChannel.open(PoclBuildLock.cacheFolder().resolve("kiln-build.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE)) {
            try (FileLock l = ch.tryLock()) {
                return l != null;
            } catch (java.nio.channels.OverlappingFileLockException e) {
                return false;
            }
        }
    }

    @Test
    void theLockIsHeldDuringABuildAndReleasedAfterOneThatFails() throws Exception {
        assertFalse(PoclBuildLock.around(() -> {
            try {
                return lockIsFree();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }), "held during the build");
        assertThrows(IllegalStateException.class, () -> PoclBuildLock.around(() -> {
            throw new IllegalStateException("the build failed");
        }));
        assertTrue(lockIsFree(), "released after a failed build");
    }
}
