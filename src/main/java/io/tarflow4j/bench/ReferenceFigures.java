package io.tarflow4j.bench;

/**
 * The paper's PyTorch code measured on this project's kind of machine (2-core AMD EPYC with
 * AVX-512 and bf16; Debian's torch 1.13.1 with OpenBLAS, one intra-op thread), 2026-11-29/30.
 * Source: {@code ../shared/baselines/README.md} (section "Added 2026-11-30") and the performance
 * issue's table (issue 18), which quotes them. mnist-toy is patch 4, width 128, 4 blocks x 4
 * layers on 28x28x1 images.
 */
public final class ReferenceFigures {
    private ReferenceFigures() {}

    /** Training mnist-toy, float32, batch 256, steps 21-40 of a fresh run: images/s. */
    public static final double TRAIN_FLOAT32_IMAGES_PER_S = 72.1;

    /** Training mnist-toy under CPU bf16 autocast (the reference's GPU recipe's precision): images/s. */
    public static final double TRAIN_BF16_IMAGES_PER_S = 115.8;

    /**
     * Sampling one mnist-toy image (batch 1), sequential, no guidance: ms per image (the upper end
     * of the measured 167-194 ms, the figure the 3x target is set against).
     */
    public static final double SAMPLE_BATCH1_MS = 194;

    /**
     * Sampling one block at the AFHQ-256 size (1024 tokens, width 768, 8 layers, 3 classes), batch
     * 1, no guidance, with OpenBLAS's AVX2 kernels ({@code OPENBLAS_CORETYPE=Haswell}): ms.
     */
    public static final double SAMPLE_WIDTH768_BLOCK_AVX2_MS = 71_300;

    /** The same with OpenBLAS's AVX-512 kernels ({@code OPENBLAS_CORETYPE} unset on this CPU): ms. */
    public static final double SAMPLE_WIDTH768_BLOCK_AVX512_MS = 53_000;

    /** Training at or above this share of the precision's matrix-product ceiling meets the target. */
    public static final double TRAIN_CEILING_SHARE_TARGET = 0.75;

    /** Batch-1 sampling at least this many times faster than the reference meets the target. */
    public static final double SAMPLE_SPEEDUP_TARGET = 3;
}
