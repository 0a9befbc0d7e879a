package io.tarflow4j.model;

import org.bytedeco.pytorch.Tensor;

/**
 * How {@link TarFlow#reverse(Tensor, BlockInverter, java.util.function.Consumer)} undoes one
 * block: the sequential decoder ({@link FlowBlock#reverse}) or a sampler's own solver.
 */
@FunctionalInterface
public interface BlockInverter {
    /**
     * The input of block {@code index} whose output is x (B, T, D), both in model order.
     */
    Tensor invert(int index, FlowBlock block, Tensor x);
}
