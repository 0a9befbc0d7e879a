package io.tarflow4j.sampling;

import java.util.List;

/**
 * Work done by a sampler, per flow block (forward order): how many parallel passes (decoding
 * steps or Jacobi iterations) ran and how many token positions they computed, summed over batches.
 * A sequential block costs T-1 passes of one token each; a Jacobi block fewer, wider passes.
 */
public final class SamplingStats {
    private final long[] passes;
    private final long[] tokenPasses;
    private final int[] maxSegmentPasses;
    private long batches;

    /** Empty counts for a model of {@code numBlocks} blocks. */
    public SamplingStats(int numBlocks) {
        this.passes = new long[numBlocks];
        this.tokenPasses = new long[numBlocks];
        this.maxSegmentPasses = new int[numBlocks];
    }

    void add(int block, long passCount, long tokens) {
        passes[block] += passCount;
        tokenPasses[block] += tokens;
        maxSegmentPasses[block] = (int) Math.max(maxSegmentPasses[block], passCount);
    }

    /**
     * Adds the passes of groups of rows of one batch that ran at the same time: per block, the
     * slowest group's passes and token positions (the batch waits for it).
     */
    void addConcurrent(List<SamplingStats> groups) {
        for (int i = 0; i < passes.length; i++) {
            long p = 0;
            long t = 0;
            for (SamplingStats g : groups) {
                p = Math.max(p, g.passes[i]);
                t = Math.max(t, g.tokenPasses[i]);
                maxSegmentPasses[i] = Math.max(maxSegmentPasses[i], g.maxSegmentPasses[i]);
            }
            passes[i] += p;
            tokenPasses[i] += t;
        }
    }

    /** The most passes any one segment (or sequential block) of block {@code i} needed. */
    public int maxSegmentPasses(int i) {
        return maxSegmentPasses[i];
    }

    void addBatch() {
        batches++;
    }

    /** Passes run for block {@code i}, summed over batches. */
    public long passes(int i) {
        return passes[i];
    }

    /** Token positions computed for block {@code i}, summed over batches. */
    public long tokenPasses(int i) {
        return tokenPasses[i];
    }

    /** Batches sampled. */
    public long batches() {
        return batches;
    }

    /** Number of blocks. */
    public int numBlocks() {
        return passes.length;
    }

    /** Passes per batch for each block, e.g. {@code [48.0, 48.0]}. */
    public String describe() {
        StringBuilder sb = new StringBuilder("passes per batch by block [");
        for (int i = 0; i < passes.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(String.format("%.1f", passes[i] / (double) Math.max(1, batches)));
        }
        return sb.append(']').toString();
    }
}
