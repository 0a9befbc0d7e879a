package io.tarflow4j.sampling;

import static io.tarflow4j.tensor.Ops.mean;

import io.tarflow4j.model.Affine;
import io.tarflow4j.model.FlowBlock;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.KvCache;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Chooses a GS-Jacobi strategy for a model from a sample of data, and reports the paper's block
 * metrics (Liu and Qin 2025, as computed by their published code):
 *
 * <ul>
 *   <li><b>CRM</b> (convergence ranking metric) of a block:
 *       {@code ||mean_b(exp(-a) * x)||_2 * ||W_a||_2 + ||W_b||_2}, where x is the block's input,
 *       a its log-scales, {@code W_a}, {@code W_b} the scale and shift halves of its output
 *       projection and {@code ||.||_2} the largest singular value; a bound on how strongly the
 *       block's affine map reacts to changes of earlier tokens. Blocks with a large share need
 *       more Jacobi passes (the paper segments them).</li>
 *   <li><b>IGM</b> (initial guessing metric) of an initial guess: the error after one Jacobi pass
 *       from that guess, {@code ||mean_b(x_1 - x)||_2}; the smaller, the better the guess.</li>
 * </ul>
 *
 * <p>Beyond the metrics, calibration measures: data images are passed forward to get every
 * block's true input x and output z; each block is then inverted from z by Jacobi with every
 * candidate (segments x initial guess) at the given tolerance, and by the sequential order
 * (T-1 segments of one token, exact); candidates whose largest error against x exceeds
 * {@code 10 * tolerance} are rejected, and of the rest the fastest (wall time) wins. A Jacobi
 * candidate's max iterations are the most passes any segment needed, doubled for noise samples
 * that converge more slowly than data, and capped at the segment length. Where a block needs
 * many passes, the sequential order wins: a Jacobi pass over a segment costs the compute of
 * decoding all its tokens, so Jacobi only pays where the per-step overhead it saves exceeds the
 * extra passes.
 */
public final class Calibration {
    /** Segment counts tried for every block. */
    public static final int[] CANDIDATE_SEGMENTS = {1, 2, 4, 8};

    private Calibration() {}

    /**
     * The measurements of one block.
     *
     * @param crm the paper's convergence ranking metric
     * @param crmPercent its share of the sum over blocks, in percent
     * @param igmZeros IGM of the zeros guess
     * @param igmInput IGM of the block-input guess
     * @param chosen the strategy chosen
     * @param passes passes the chosen candidate needed on the data (all segments)
     * @param maxError its largest error against the true block input
     * @param millis its wall time on the data sample
     * @param sequentialMillis wall time of the sequential order (T-1 one-token segments)
     * @param fastestJacobi the fastest accurate candidate with longer segments, or null if none was
     *     accurate enough
     * @param fastestJacobiMillis its wall time (NaN without one)
     */
    public record BlockReport(
            double crm,
            double crmPercent,
            double igmZeros,
            double igmInput,
            BlockStrategy chosen,
            long passes,
            double maxError,
            double millis,
            double sequentialMillis,
            BlockStrategy fastestJacobi,
            double fastestJacobiMillis) {}

    /**
     * The outcome: the strategy and the per-block reports (forward order).
     *
     * @param strategy the strategy, with the metrics recorded per block
     * @param blocks per-block measurements
     */
    public record Result(JacobiStrategy strategy, List<BlockReport> blocks) {}

    /**
     * Calibrates on {@code images} (B, C, H, W) in [-1, 1] with labels y (or null).
     *
     * @param tolerance the Jacobi tolerance of the strategy
     */
    public static Result run(TarFlow model, Tensor images, Tensor y, double tolerance) {
        List<FlowBlock> blocks = model.blocks();
        List<Measurement> measured = new ArrayList<>();
        List<BlockReport> reports = new ArrayList<>();
        List<BlockStrategy> chosen = new ArrayList<>();
        List<Map<String, Double>> metrics = new ArrayList<>();
        try (GradMode g = GradMode.off();
                NativeScope scope = NativeScope.open()) {
            Tensor x = model.patchify(model.place(images));
            int tokens = (int) x.size(1);
            KvCache cache = KvCache.forModel(model, x.size(0));
            for (int i = 0; i < blocks.size(); i++) {
                FlowBlock block = blocks.get(i);
                Tensor z = block.forward(x, y).z();
                measured.add(new Measurement(
                        crm(model, i, block, x, y),
                        igm(block, x, z, y, InitialGuess.ZEROS),
                        igm(block, x, z, y, InitialGuess.INPUT),
                        best(block, i, x, z, y, tokens, tolerance, cache, model)));
                x = z;
            }
            double total = measured.stream().mapToDouble(Measurement::crm).sum();
            for (Measurement b : measured) {
                Choice choice = b.choice();
                Candidate c = choice.chosen;
                double pct = total > 0 ? 100 * b.crm() / total : 0;
                reports.add(new BlockReport(
                        b.crm(),
                        pct,
                        b.igmZeros(),
                        b.igmInput(),
                        c.strategy,
                        c.passes,
                        c.maxError,
                        c.millis,
                        choice.sequential.millis,
                        choice.jacobi == null ? null : choice.jacobi.strategy,
                        choice.jacobi == null ? Double.NaN : choice.jacobi.millis));
                chosen.add(c.strategy);
                Map<String, Double> m = new LinkedHashMap<>();
                m.put("crm", b.crm());
                m.put("crm_percent", pct);
                m.put("igm_zeros", b.igmZeros());
                m.put("igm_input", b.igmInput());
                m.put("passes_on_data", (double) c.passes);
                m.put("max_error_on_data", c.maxError);
                m.put("ms_on_data", c.millis);
                m.put("ms_sequential_on_data", choice.sequential.millis);
                if (choice.jacobi != null) {
                    m.put("ms_fastest_jacobi_on_data", choice.jacobi.millis);
                }
                metrics.add(m);
            }
        }
        return new Result(new JacobiStrategy(chosen, metrics), reports);
    }

    /** {@link #CANDIDATE_SEGMENTS} that fit T-1 outputs, then T-1 itself (the sequential order). */
    static int[] candidateSegments(int tokens) {
        return IntStream.concat(Arrays.stream(CANDIDATE_SEGMENTS).filter(g -> g < tokens - 1), IntStream.of(tokens - 1))
                .filter(g -> g >= 1)
                .toArray();
    }

    private record Candidate(BlockStrategy strategy, long passes, double maxError, double millis) {}

    /** The chosen candidate, the sequential order's, and the fastest accurate Jacobi one (or null). */
    private record Choice(Candidate chosen, Candidate sequential, Candidate jacobi) {}

    /** What one block measured: its CRM, the IGM of both guesses and the chosen candidate. */
    private record Measurement(double crm, double igmZeros, double igmInput, Choice choice) {}

    private static Choice best(
            FlowBlock block,
            int index,
            Tensor x,
            Tensor z,
            Tensor y,
            int tokens,
            double tolerance,
            KvCache cache,
            TarFlow model) {
        Candidate best = null;
        Candidate mostAccurate = null;
        Candidate sequential = null;
        Candidate jacobi = null;
        for (int segments : candidateSegments(tokens)) {
            // one-token segments are the sequential order: the initial guess plays no part
            InitialGuess[] guesses =
                    segments == tokens - 1 ? new InitialGuess[] {InitialGuess.INPUT} : InitialGuess.values();
            for (InitialGuess guess : guesses) {
                try (NativeScope scope = NativeScope.open()) {
                    int longest = (tokens - 1 + segments - 1) / segments;
                    BlockStrategy trial = new BlockStrategy(segments, longest, guess, tolerance);
                    SamplingStats stats = new SamplingStats(model.config().numBlocks());
                    long t0 = System.nanoTime();
                    Tensor inverted = JacobiSolver.invert(block, index, z, y, Guidance.NONE, trial, cache, stats, null);
                    double error = Tensors.maxAbsDiff(inverted, x);
                    double millis = (System.nanoTime() - t0) / 1e6;
                    int maxPerSegment = stats.maxSegmentPasses(index);
                    BlockStrategy s =
                            new BlockStrategy(segments, Math.min(longest, 2 * maxPerSegment), guess, tolerance);
                    Candidate c = new Candidate(s, stats.passes(index), error, millis);
                    if (mostAccurate == null || error < mostAccurate.maxError) {
                        mostAccurate = c;
                    }
                    boolean accurate = error <= 10 * tolerance;
                    if (accurate && (best == null || millis < best.millis)) {
                        best = c;
                    }
                    if (segments == tokens - 1) {
                        sequential = c;
                    } else if (accurate && (jacobi == null || millis < jacobi.millis)) {
                        jacobi = c;
                    }
                }
            }
        }
        return new Choice(best != null ? best : mostAccurate, sequential, jacobi);
    }

    /** The paper's CRM of block i. */
    private static double crm(TarFlow model, int i, FlowBlock block, Tensor x, Tensor y) {
        Tensor xp = block.permute(x, 1);
        Affine a = block.affine(xp, block.classRows(y), null);
        Tensor alphaX = a.logScale().neg().exp().mul(xp);
        double first = spectral(mean(alphaX, 0));
        Tensor w = model.parameters().get("blocks." + i + ".proj_out.weight");
        if (!model.config().nvp()) {
            return spectral(w);
        }
        TensorVector halves = w.chunk(2, 0);
        return first * spectral(halves.get(0)) + spectral(halves.get(1));
    }

    /** The paper's IGM: the error after one Jacobi pass from the guess. */
    private static double igm(FlowBlock block, Tensor x, Tensor z, Tensor y, InitialGuess guess) {
        Tensor xp = block.permute(x, 1);
        Tensor zp = block.permute(z, 1);
        Tensor start = guess == InitialGuess.INPUT
                ? zp
                : torch.cat(new TensorVector(zp.narrow(1, 0, 1), torch.zeros_like(zp.narrow(1, 1, zp.size(1) - 1))), 1);
        Affine a = block.affine(start, block.classRows(y), null);
        return spectral(mean(a.reverse(zp).sub(xp), 0));
    }

    private static double spectral(Tensor m) {
        return Tensors.item(torch.linalg_svdvals(m.detach()).max());
    }
}
