package io.tarflow4j.sampling;

import java.util.List;

/**
 * Sampled images and what came with them.
 *
 * @param images the samples (count, C, H, W) in row-major order, values nominally in [-1, 1]
 *     (denoised when asked for)
 * @param labels the class of each sample, or null when sampled without labels
 * @param count number of images
 * @param channels C
 * @param height H
 * @param width W
 * @param trace when asked for: the unpatchified noise, the image after undoing each block (in
 *     sampling order), and the denoised image when denoising; each (count, C, H, W); else empty
 * @param stats passes per block
 * @param seconds wall time of sampling (including denoising)
 */
public record SampleResult(
        float[] images,
        int[] labels,
        int count,
        int channels,
        int height,
        int width,
        List<float[]> trace,
        SamplingStats stats,
        double seconds) {

    /** Copies the trace list. */
    public SampleResult {
        trace = List.copyOf(trace);
    }

    /** Floats per image. */
    public int imageSize() {
        return channels * height * width;
    }
}
