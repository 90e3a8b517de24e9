package dev.kiln.cpu;

import dev.kiln.backend.BackendProvider;

import java.util.List;

/** The pure-Java backend: always available, the reference every other backend is tested against. */
public final class CpuProvider implements BackendProvider {
    /** Below any GPU, above an OpenCL CPU device (see the OpenCL provider for why). */
    static final int PRIORITY = 100;
    static final String VECTOR_MODULE = "jdk.incubator.vector";

    /** Creates the provider; {@link java.util.ServiceLoader} does this. */
    public CpuProvider() {}

    @Override
    public String type() { return "cpu"; }

    @Override
    public List<Candidate> probe() {
        String description;
        try {
            description = CpuBackend.describeMachine();
        } catch (NoClassDefFoundError e) {
            // The JVM was started without the incubating Vector API, which every CPU kernel uses: the first class
            // of it that the backend touches is missing.
            if (e.getMessage() == null || !e.getMessage().startsWith(VECTOR_MODULE.replace('.', '/'))) throw e;
            return List.of(Candidate.unavailable("cpu:0", "the JVM was started without the Vector API: add the JVM flag --add-modules "
                    + VECTOR_MODULE + " (" + e + ")"));
        }
        return List.of(Candidate.available("cpu:0", description, PRIORITY, CpuBackend::new));
    }
}
