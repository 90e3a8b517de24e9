package dev.kiln.nn.models;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.Embedding;
import dev.kiln.nn.Init;
import dev.kiln.nn.Module;

/**
 * TransE (Bordes et al., 2013): entities and relations embedded in one space, a triple {@code (h, r, t)} scored by
 * how far the translated head lands from the tail, {@code d(h, r, t) = ||e_h + w_r - e_t||_2} (lower is more
 * plausible). Embeddings start uniform in +-6/sqrt(dim) as in the paper, relations scaled to unit norm once;
 * {@link #normalizeEntities()} puts every entity back on the unit sphere, the paper's constraint, and is meant to
 * be called before each training step.
 */
public final class TransE extends Module {
    private final int entities;
    private final int relations;
    private final int dim;
    private final Embedding entity;
    private final Embedding relation;

    /**
     * A model of {@code entities} and {@code relations} embedded in {@code dim} dimensions.
     *
     * @param entities the number of entities
     * @param relations the number of relations
     * @param dim the embedding width
     */
    public TransE(int entities, int relations, int dim) {
        if (entities <= 0 || relations <= 0 || dim <= 0)
            throw new IllegalArgumentException("TransE: sizes must be positive, got entities=" + entities + " relations=" + relations + " dim=" + dim);
        this.entities = entities;
        this.relations = relations;
        this.dim = dim;
        entity = registerModule("entity", new Embedding(entities, dim));
        relation = registerModule("relation", new Embedding(relations, dim));
        double bound = 6 / Math.sqrt(dim);
        try (GradMode ng = GradMode.noGrad(); Scope s = Scope.open()) {
            entity.weight().copy_(Init.uniform(bound, entities, dim).to(entity.weight().device()));
            Tensor r = Init.uniform(bound, relations, dim).to(relation.weight().device());
            relation.weight().copy_(r.div(r.norm(2, new int[] {1}, true)));
        }
    }

    /** {@return the number of entities} */
    public int entities() { return entities; }

    /** Scales every entity embedding to unit L2 norm, in place and outside autograd. */
    public void normalizeEntities() {
        try (GradMode ng = GradMode.noGrad(); Scope s = Scope.open()) {
            Tensor w = entity.weight();
            w.copy_(w.div(w.norm(2, new int[] {1}, true).clamp(1e-12, Double.NaN)));
        }
    }

    /**
     * The distances of triples, {@code ||e_h + w_r - e_t||_2}.
     *
     * @param head head entity ids, INT64 (N)
     * @param rel relation ids, INT64 (N)
     * @param tail tail entity ids, INT64 (N)
     * @return the distances (N)
     */
    public Tensor distance(Tensor head, Tensor rel, Tensor tail) {
        try (Scope s = Scope.open()) {
            Tensor diff = entity.forward(head).add(relation.forward(rel)).sub(entity.forward(tail));
            // The epsilon keeps the square root's gradient finite should a triple fit exactly.
            return s.keep(diff.square().sum(new int[] {-1}, false).add(1e-9).sqrt());
        }
    }

    @Override
    public Tensor forward(Tensor triples) {
        if (triples.dim() != 2 || triples.size(1) != 3 || triples.dtype().isFloatingPoint())
            throw new IllegalArgumentException("TransE: expected integer triples (N, 3) of head, relation, tail ids, got " + triples.dtype() + " "
                    + java.util.Arrays.toString(triples.shape()));
        try (Scope s = Scope.open()) {
            return s.keep(distance(triples.select(1, 0), triples.select(1, 1), triples.select(1, 2)));
        }
    }

    /**
     * Scores of every entity as the missing end of queries, higher is more plausible: the negated distance. For
     * {@code predictTail}, queries are {@code (known, rel, ?)} and each entity e is scored as the tail
     * ({@code -||e_known + w_r - e||}); otherwise queries are {@code (?, rel, known)} and e is scored as the head
     * ({@code -||e + w_r - e_known||}). Computed as {@code |a|^2 + |e|^2 - 2 a.e} with one matrix product.
     *
     * @param known the known entity of each query, INT64 (Q)
     * @param rel the relation of each query, INT64 (Q)
     * @param predictTail whether the tail is missing (else the head)
     * @return scores (Q, entities)
     */
    public Tensor scoreAll(Tensor known, Tensor rel, boolean predictTail) {
        try (GradMode ng = GradMode.noGrad(); Scope s = Scope.open()) {
            Tensor r = relation.forward(rel), e = entity.forward(known);
            // The point every candidate is measured from: h + r for a missing tail, t - r for a missing head.
            Tensor anchor = predictTail ? e.add(r) : e.sub(r);
            Tensor all = entity.weight();
            Tensor squared = anchor.square().sum(new int[] {1}, true).add(all.square().sum(new int[] {1}, false).unsqueeze(0)).sub(anchor.matmul(all.mT()).mul(2));
            return s.keep(squared.clamp(0, Double.NaN).sqrt().neg());
        }
    }

    @Override
    protected String describe() { return "TransE(entities=" + entities + ", relations=" + relations + ", dim=" + dim + ", L2)"; }
}
