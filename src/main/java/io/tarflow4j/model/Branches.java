package io.tarflow4j.model;

import static io.tarflow4j.tensor.Ops.cat;
import static io.tarflow4j.tensor.Ops.s;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The per-row conditioning of a batch being inverted through one block. With active guidance
 * the batch is doubled: rows {@code 0..B-1} are the guided branch (the labels, attention
 * temperature 1) and rows {@code B..2B-1} the unguided branch (the mean class embedding,
 * attention temperature {@code attnTemp}); {@link Guidance#mix} combines their affine parameters.
 *
 * @param guided whether there are two branches
 * @param classRows class embedding per row, or null (unconditional model)
 * @param qScale inverse attention temperature per row (rows, 1, 1, 1), or null for 1
 */
public record Branches(boolean guided, Tensor classRows, Tensor qScale) {

    /** The conditioning of {@code b} sequences with labels y (null: mean embedding) in {@code block}. */
    static Branches of(FlowBlock block, Tensor y, long b, Guidance guidance, Tensor like) {
        Tensor classRows = block.classRows(y);
        if (!guidance.active()) {
            return new Branches(false, classRows, null);
        }
        Tensor mean = block.classRows(null);
        Tensor rows = classRows == null
                ? null
                : cat(0, classRows.expand(b, 1, classRows.size(2)), mean.expand(b, 1, mean.size(2)));
        Tensor qScale = null;
        if (guidance.attnTemp() != 1.0) {
            qScale = cat(0, torch.ones(b), torch.full(new long[] {b}, s(1.0 / guidance.attnTemp())))
                    .view(2 * b, 1, 1, 1)
                    .to(like.device(), like.scalar_type());
        }
        return new Branches(true, rows, qScale);
    }

    /** The rows to run: x itself, or x twice when guided. */
    public Tensor rows(Tensor x) {
        return guided ? cat(0, x, x) : x;
    }
}
