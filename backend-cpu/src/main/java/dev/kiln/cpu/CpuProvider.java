package dev.kiln.cpu;

import dev.kiln.backend.BackendProvider;

import java.util.List;

/** The pure-Java backend: always available, the reference every other backend is tested against. */
public final class CpuProvider implements BackendProvider {
    /** Below any GPU, above an OpenCL CPU device (see the OpenCL provider for why). */
    static final int PRIORITY = 100;

    @Override
    public String type() { return "cpu"; }

    @Override
    public List<Candidate> probe() {
        return List.of(Candidate.available("cpu:0", CpuBackend.describeMachine(), PRIORITY, CpuBackend::new));
    }
}
