package dev.kiln.autograd;

import dev.kiln.Tensor;

/**
 * The backward rule of one op: given the gradient of its output, the gradients of its inputs, one per input in
 * the order they were recorded (null for an input that takes none, such as an index tensor). The engine owns
 * and closes the returned tensors, so a rule returns new tensors or views, never a forward tensor itself. Written with
 * tensor ops, so it runs on every backend.
 */
@FunctionalInterface
public interface BackwardFn {
    /**
     * {@return the gradients of the op's inputs, in recording order, null where an input takes none}
     *
     * @param gradOutput the gradient of the op's output
     */
    Tensor[] apply(Tensor gradOutput);
}
