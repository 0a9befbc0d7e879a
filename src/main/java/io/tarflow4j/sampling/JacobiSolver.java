package io.tarflow4j.sampling;

import static io.tarflow4j.tensor.Ops.s;

import io.tarflow4j.model.Affine;
import io.tarflow4j.model.Branches;
import io.tarflow4j.model.FlowBlock;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.KvCache;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import java.util.function.IntConsumer;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Inverts one flow block by Gauss-Seidel-Jacobi iteration (Liu and Qin, 2025).
 *
 * <p>Sampling must solve {@code x_i = z_i * exp(a_i(x_<i)) + b_i(x_<i)} for the block's
 * (permuted) sequence x. Jacobi iteration guesses the whole sequence, computes every token's
 * affine parameters in one causal pass from the guess and updates all tokens at once; token k is
 * exact after k passes, and in practice most blocks converge in far fewer. Gauss-Seidel splits
 * the sequence into segments solved in order: a finished segment's keys and values stay in the
 * {@link KvCache} and each Jacobi pass re-runs only the current segment against it
 * ({@link FlowBlock#decode} at the segment's start overwrites the same cache slots each pass).
 * Inside a segment the window slides: leading tokens that stopped moving are frozen into the
 * cache and later passes compute only the tokens after them.
 *
 * <p>Guidance doubles the rows and mixes the branches token by token (annealed weights by token
 * index), as the sequential sampler does.
 *
 * <p>A strategy of T-1 segments (one token each) is the sequential sampler: each segment takes one
 * pass from exact predecessors. Such a block is inverted by {@link FlowBlock#reverse}, the same
 * arithmetic with less work per token, so that a calibrated strategy can choose, block by block,
 * between Jacobi and the sequential order (on a CPU the sequential order often wins: a Jacobi
 * pass over a segment costs as much arithmetic as decoding that segment token by token, see
 * docs/sampling.md).
 */
final class JacobiSolver {
    /**
     * Iterates are clamped to +-GUARD and NaN is replaced by 0, so that a diverging early pass
     * (from a poor initial guess) cannot poison other tokens through attention (0 * NaN = NaN).
     * Real values of every block stay orders of magnitude below it.
     */
    static final double GUARD = 1e4;

    private JacobiSolver() {}

    /**
     * Inverts {@code block} for latents z (B, T, D) in model order.
     *
     * @param y labels (B) or null (mean class embedding / unconditional)
     * @param cache a cache of at least B rows (2B when guided); unused with one segment
     * @param stats receives the passes, under index {@code blockIndex}
     * @return the block's input x (B, T, D) in model order
     */
    static Tensor invert(
            FlowBlock block,
            int blockIndex,
            Tensor z,
            Tensor y,
            Guidance guidance,
            BlockStrategy strategy,
            KvCache cache,
            SamplingStats stats,
            IntConsumer tokensDone) {
        long b = z.size(0);
        int tokens = (int) z.size(1);
        int outputs = tokens - 1;
        if (Math.min(strategy.segments(), outputs) == outputs) {
            // one token per segment: one pass each from exact predecessors, which is the
            // sequential sampler's step; its own loop does it with less work per token
            Tensor x = block.reverse(z, y, guidance, cache, tokensDone);
            for (int j = 0; j < outputs; j++) {
                stats.add(blockIndex, 1, 1);
            }
            return x;
        }
        Branches branches = block.branches(y, b, guidance, z);
        Tensor zp = block.permute(z, 1).contiguous();
        Tensor x;
        if (strategy.guess() == InitialGuess.INPUT) {
            x = zp.clone();
        } else {
            x = torch.zeros_like(zp);
            x.narrow(1, 0, 1).copy_(zp.narrow(1, 0, 1));
        }
        Tensor weights = branches.guided() ? guidance.tokenWeights(tokens, z) : null;
        int segments = Math.min(strategy.segments(), outputs);
        int base = outputs / segments;
        int extra = outputs % segments;
        int start = 1;
        for (int g = 0; g < segments; g++) {
            int n = base + (g < extra ? 1 : 0);
            segment(
                    block,
                    blockIndex,
                    zp,
                    x,
                    start,
                    n,
                    branches,
                    guidance,
                    weights,
                    strategy,
                    cache,
                    stats,
                    tokensDone);
            start += n;
        }
        return block.permute(x, 1);
    }

    /**
     * Jacobi over output tokens {@code start .. start+n-1}, from input tokens
     * {@code start-1 .. start+n-2} whose predecessors are in the cache.
     *
     * <p>The window slides: after each pass the leading tokens that changed by at most the
     * tolerance are frozen (their keys and values are in the cache from this pass) and the next
     * pass starts at the first token that still moved. With tolerance 0 a frozen token is exact,
     * and at least one token is frozen per pass, so n passes always suffice.
     */
    private static void segment(
            FlowBlock block,
            int blockIndex,
            Tensor zp,
            Tensor x,
            int start,
            int n,
            Branches branches,
            Guidance guidance,
            Tensor weights,
            BlockStrategy strategy,
            KvCache cache,
            SamplingStats stats,
            IntConsumer tokensDone) {
        int end = start + n;
        int lo = start;
        int maxPasses = Math.min(strategy.maxIterations(), n);
        int passes = 0;
        long tokenPasses = 0;
        while (passes < maxPasses && lo < end) {
            int m = end - lo;
            passes++;
            tokenPasses += m;
            try (NativeScope scope = NativeScope.open()) {
                Tensor in = branches.rows(x.narrow(1, lo - 1, m));
                Affine a = block.decode(in, lo - 1, branches.classRows(), branches.qScale(), cache);
                if (branches.guided()) {
                    a = guidance.mix(a, weights.narrow(1, lo, m));
                }
                Tensor xWin = x.narrow(1, lo, m);
                Tensor next = guard(a.reverse(zp.narrow(1, lo, m)));
                if (passes == maxPasses) {
                    xWin.copy_(next); // last pass: nothing to decide
                    break;
                }
                float[] change = Tensors.toFloats(next.sub(xWin).abs().amax(new long[] {0, 2}, false));
                xWin.copy_(next);
                int moved = 0;
                while (moved < m && change[moved] <= strategy.tolerance()) {
                    moved++;
                }
                // the first token of the window is exact after this pass whatever its change
                lo += Math.max(1, moved);
            }
            if (tokensDone != null) {
                tokensDone.accept(Math.min(lo, end) - 1); // the tokens before lo are final
            }
        }
        if (tokensDone != null) {
            tokensDone.accept(end - 1); // the segment is done
        }
        stats.add(blockIndex, passes, tokenPasses);
    }

    private static Tensor guard(Tensor t) {
        return torch.nan_to_num(t, new DoubleOptional(0.0), new DoubleOptional(GUARD), new DoubleOptional(-GUARD))
                .clamp_(new ScalarOptional(s(-GUARD)), new ScalarOptional(s(GUARD)));
    }
}
