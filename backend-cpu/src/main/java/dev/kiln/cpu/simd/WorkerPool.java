package dev.kiln.cpu.simd;

import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * The CPU backend's one small pool of compute threads, shared by GEMM and the vector kernels.
 *
 * <p>Why not a {@code ForkJoinPool}: waking a parked thread costs tens of microseconds here, which is as long
 * as a whole medium-sized kernel. So idle workers spin for a short while before parking, a caller always
 * works on its own job instead of only waiting, and callers decide (from the work size) whether to split at
 * all. One job runs at a time; a job submitted while another is running (from another thread, or from inside
 * a task) simply runs on its caller's thread.
 *
 * <p>The size is {@code -Dkiln.cpu.threads=N} (default: the available processors), counting the caller.
 */
public final class WorkerPool {

    /** How long an idle worker polls for the next job before parking. */
    private static final long SPIN_NANOS = 100_000;

    private static final WorkerPool SHARED = new WorkerPool(
            Integer.getInteger("kiln.cpu.threads", Runtime.getRuntime().availableProcessors()));

    private final Thread[] workers;
    private final boolean[] parked;
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile Job job;
    private volatile long generation;

    private WorkerPool(int threads) {
        int n = Math.max(0, threads - 1);
        workers = new Thread[n];
        parked = new boolean[n];
        for (int i = 0; i < n; i++) {
            int index = i;
            workers[i] = Thread.ofPlatform().daemon().name("kiln-cpu-worker-" + i).unstarted(() -> workLoop(index));
            workers[i].start();
        }
    }

    public static WorkerPool shared() { return SHARED; }

    /** Threads that can run tasks at once, the caller included. */
    public int parallelism() { return workers.length + 1; }

    /**
     * Runs {@code body.accept(i)} for every i in [0, tasks), spread over the pool and the calling thread, and
     * returns when all have finished. The first exception a task throws is rethrown here.
     */
    public void run(int tasks, IntConsumer body) {
        if (tasks <= 0) return;
        if (tasks == 1 || workers.length == 0 || !busy.compareAndSet(false, true)) {
            for (int i = 0; i < tasks; i++) body.accept(i);
            return;
        }
        Job j = new Job(body, tasks);
        try {
            job = j;
            generation++;
            VarHandle.fullFence();
            for (int i = 0; i < workers.length; i++) {
                if (parked[i]) LockSupport.unpark(workers[i]);
            }
            j.work();
            j.awaitDone();
        } finally {
            job = null;
            busy.set(false);
        }
        if (j.failure != null) {
            if (j.failure instanceof RuntimeException e) throw e;
            if (j.failure instanceof Error e) throw e;
            throw new IllegalStateException(j.failure);
        }
    }

    private void workLoop(int index) {
        long seen = 0;
        while (true) {
            long start = System.nanoTime();
            while (generation == seen) {
                if (System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    parked[index] = true;
                    // Dekker-style handshake with run(): it bumps generation before reading parked.
                    VarHandle.fullFence();
                    if (generation == seen) LockSupport.park(this);
                    parked[index] = false;
                    start = System.nanoTime();
                }
            }
            seen = generation;
            Job j = job;
            if (j != null) j.work();
        }
    }

    private static final class Job {
        final IntConsumer body;
        final int tasks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Job(IntConsumer body, int tasks) {
            this.body = body;
            this.tasks = tasks;
        }

        void work() {
            int t;
            while ((t = next.getAndIncrement()) < tasks) {
                try {
                    if (failure == null) body.accept(t);
                } catch (Throwable e) {
                    if (failure == null) failure = e;
                } finally {
                    done.incrementAndGet();
                }
            }
        }

        void awaitDone() {
            long start = System.nanoTime();
            while (done.get() < tasks) {
                if (System.nanoTime() - start < SPIN_NANOS) Thread.onSpinWait();
                else Thread.yield();
            }
        }
    }

}
