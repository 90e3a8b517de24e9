package dev.kiln.bench;

/** A JMH benchmark's state: one row's workload and its reference, built in setup and freed in teardown. */
final class RowRunner implements AutoCloseable {
    private final Workload ours;
    private final Workload ref;

    RowRunner(String device, String name) {
        Rows row = Rows.find(device, name);
        ours = row.ours().get();
        ref = row.ref() == null ? null : row.ref().get();
    }

    void ours() { ours.run(); }

    void ref() {
        if (ref == null) throw new IllegalStateException("this row has no reference");
        ref.run();
    }

    @Override
    public void close() {
        ours.close();
        if (ref != null) ref.close();
    }
}
