package dev.kiln;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Einstein summation ({@code torch.einsum}, {@code numpy.einsum}), composed from differentiable tensor ops so its
 * gradient comes for free. Supports explicit ({@code "ij,jk->ik"}) and implicit ({@code "ij,jk"}, output = labels
 * seen once, alphabetically) forms, {@code ...} for broadcast dimensions, repeated labels within one operand
 * (diagonals) and any number of operands, contracted left to right; each pairwise contraction is one batched
 * matmul. Spaces in the equation are ignored.
 */
public final class Einsum {
    private Einsum() {}

    /** Labels standing for the dimensions under an ellipsis; chosen outside the letters an equation may use. */
    private static final char ELLIPSIS_BASE = '\u0100';

    /** An operand with one label per dimension. */
    private record Term(Tensor t, String labels) {}

    /**
     * Einstein summation, as PyTorch's {@code torch.einsum}.
     *
     * @param equation the subscripts, e.g. {@code "bij,bjk->bik"}; {@code ...} stands for broadcast dimensions
     * @param operands one tensor per input term
     * @return the result, differentiable
     * @throws IllegalArgumentException if the equation is malformed or does not fit the operands' shapes
     */
    public static Tensor einsum(String equation, Tensor... operands) {
        if (equation == null) throw new IllegalArgumentException("einsum: equation is null");
        String eq = equation.replace(" ", "");
        int arrow = eq.indexOf("->");
        String lhs = arrow < 0 ? eq : eq.substring(0, arrow);
        String[] inputs = lhs.split(",", -1);
        if (inputs.length != operands.length)
            throw new IllegalArgumentException("einsum: equation '" + equation + "' names " + inputs.length + " operands but " + operands.length + " were given");
        int ellipsisRank = 0;
        for (int i = 0; i < inputs.length; i++) {
            String s = inputs[i];
            int explicit = s.replace("...", "").length();
            if (s.contains("...")) ellipsisRank = Math.max(ellipsisRank, operands[i].dim() - explicit);
            else if (explicit != operands[i].dim())
                throw new IllegalArgumentException("einsum: operand " + i + " has shape " + Shapes.str(operands[i].shape())
                        + " but its subscripts '" + s + "' name " + explicit + " dimensions");
        }
        List<Term> terms = new ArrayList<>();
        for (int i = 0; i < inputs.length; i++) terms.add(new Term(operands[i], expand(inputs[i], operands[i].dim(), ellipsisRank, equation)));
        String out = arrow < 0 ? implicitOutput(terms, ellipsisRank) : expand(eq.substring(arrow + 2), -1, ellipsisRank, equation);
        try (Scope scope = Scope.open()) {
            Term acc = takeDiagonals(terms.getFirst());
            for (int i = 1; i < terms.size(); i++) {
                String keep = out + String.join("", terms.subList(i + 1, terms.size()).stream().map(Term::labels).toList());
                acc = contract(acc, takeDiagonals(terms.get(i)), keep);
            }
            acc = sumOutExcept(acc, out);
            for (char c : out.toCharArray())
                if (acc.labels.indexOf(c) < 0) throw new IllegalArgumentException("einsum: output label '" + c + "' appears in no operand of '" + equation + "'");
            int[] perm = new int[out.length()];
            for (int i = 0; i < perm.length; i++) perm[i] = acc.labels.indexOf(out.charAt(i));
            return scope.keep(acc.t.permute(perm).contiguous());
        }
    }

    /** Subscripts with "..." replaced by one label per ellipsis dimension (right-aligned, as numpy broadcasts). */
    private static String expand(String subscripts, int rank, int ellipsisRank, String equation) {
        for (char c : subscripts.replace("...", "").toCharArray())
            if (!Character.isLetter(c)) throw new IllegalArgumentException("einsum: bad character '" + c + "' in equation '" + equation + "'");
        int at = subscripts.indexOf("...");
        if (at < 0) return subscripts;
        int n = rank < 0 ? ellipsisRank : rank - (subscripts.length() - 3);
        StringBuilder sb = new StringBuilder(subscripts.substring(0, at));
        for (int k = ellipsisRank - n; k < ellipsisRank; k++) sb.append((char) (ELLIPSIS_BASE + k));
        return sb.append(subscripts.substring(at + 3)).toString();
    }

    private static String implicitOutput(List<Term> terms, int ellipsisRank) {
        Map<Character, Integer> count = new LinkedHashMap<>();
        for (Term t : terms) for (char c : t.labels.toCharArray()) count.merge(c, 1, Integer::sum);
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < ellipsisRank; k++) sb.append((char) (ELLIPSIS_BASE + k));
        count.entrySet().stream().filter(e -> e.getValue() == 1 && e.getKey() < ELLIPSIS_BASE).map(Map.Entry::getKey).sorted().forEach(sb::append);
        return sb.toString();
    }

    /** Repeated labels in one operand select its diagonal: multiply by the identity and sum one of the pair away. */
    private static Term takeDiagonals(Term term) {
        Tensor t = term.t;
        String labels = term.labels;
        for (int q = 0; q < labels.length(); q++) {
            int p = labels.indexOf(labels.charAt(q));
            if (p == q) continue;
            int n = t.size(p);
            if (t.size(q) != n)
                throw new IllegalArgumentException("einsum: label '" + labels.charAt(q) + "' repeats over dimensions of sizes " + n + " and " + t.size(q));
            int[] shape = new int[t.dim()];
            Arrays.fill(shape, 1);
            shape[p] = n;
            shape[q] = n;
            t = t.mul(Tensor.eye(n, t.dtype(), t.device()).reshape(shape)).sum(new int[] {q}, false);
            labels = labels.substring(0, q) + labels.substring(q + 1);
            q--;
        }
        return new Term(t, labels);
    }

    /** Sums away every label of the term that {@code keep} lacks. */
    private static Term sumOutExcept(Term term, String keep) {
        List<Integer> axes = new ArrayList<>();
        StringBuilder rest = new StringBuilder();
        for (int i = 0; i < term.labels.length(); i++) {
            if (keep.indexOf(term.labels.charAt(i)) < 0) axes.add(i);
            else rest.append(term.labels.charAt(i));
        }
        if (axes.isEmpty()) return term;
        return new Term(term.t.sum(axes.stream().mapToInt(Integer::intValue).toArray(), false), rest.toString());
    }

    /**
     * One batched matmul: labels in both terms and in {@code keep} are batch dimensions, labels in both but not kept
     * are contracted, the others stay as rows (left) and columns (right).
     */
    private static Term contract(Term a, Term b, String keep) {
        a = sumOutExcept(a, keep + b.labels);
        b = sumOutExcept(b, keep + a.labels);
        StringBuilder batch = new StringBuilder(), summed = new StringBuilder(), left = new StringBuilder(), right = new StringBuilder();
        for (char c : a.labels.toCharArray()) {
            if (b.labels.indexOf(c) < 0) left.append(c);
            else if (keep.indexOf(c) >= 0) batch.append(c);
            else summed.append(c);
        }
        for (char c : b.labels.toCharArray()) if (a.labels.indexOf(c) < 0) right.append(c);
        int[] batchSizes = new int[batch.length()];
        for (int i = 0; i < batchSizes.length; i++) {
            int sa = a.t.size(a.labels.indexOf(batch.charAt(i))), sb = b.t.size(b.labels.indexOf(batch.charAt(i)));
            if (sa != sb && sa != 1 && sb != 1)
                throw new IllegalArgumentException("einsum: label '" + batch.charAt(i) + "' has sizes " + sa + " and " + sb + ", which do not broadcast");
            batchSizes[i] = Math.max(sa, sb);
        }
        Tensor am = asMatrices(a, batch.toString(), batchSizes, left.toString(), summed.toString());
        Tensor bm = asMatrices(b, batch.toString(), batchSizes, summed.toString(), right.toString());
        int[] outShape = new int[batch.length() + left.length() + right.length()];
        System.arraycopy(batchSizes, 0, outShape, 0, batchSizes.length);
        int k = batchSizes.length;
        for (char c : left.toString().toCharArray()) outShape[k++] = a.t.size(a.labels.indexOf(c));
        for (char c : right.toString().toCharArray()) outShape[k++] = b.t.size(b.labels.indexOf(c));
        return new Term(am.matmul(bm).reshape(outShape), batch.toString() + left + right);
    }

    /** The term permuted to (batch, rows, cols), batch dimensions broadcast, and flattened to a 3-D stack of matrices. */
    private static Tensor asMatrices(Term term, String batch, int[] batchSizes, String rows, String cols) {
        String order = batch + rows + cols;
        int[] perm = new int[order.length()];
        int[] shape = new int[order.length()];
        for (int i = 0; i < perm.length; i++) {
            perm[i] = term.labels.indexOf(order.charAt(i));
            shape[i] = i < batchSizes.length ? batchSizes[i] : term.t.size(perm[i]);
        }
        Tensor t = term.t.permute(perm).expand(shape);
        return t.reshape(product(shape, 0, batch.length()), product(shape, batch.length(), batch.length() + rows.length()),
                product(shape, batch.length() + rows.length(), shape.length));
    }

    private static int product(int[] shape, int from, int to) {
        int p = 1;
        for (int i = from; i < to; i++) p *= shape[i];
        return p;
    }
}
