package io.tarflow4j.serve;

import java.util.List;

/**
 * Images sampled for one request, as float pixels in [-1, 1] laid out (N, C, H, W).
 *
 * @param images the samples
 * @param count N
 * @param channels C
 * @param size H = W
 * @param trace the sampling trace when asked for: the noise, the image after undoing each block,
 *     and the denoised image (each holding the first {@code traceCount} samples), else empty
 * @param traceCount images in each trace stage
 * @param millis time the model took, in milliseconds
 */
public record SampleResult(
        float[] images, int count, int channels, int size, List<Stage> trace, int traceCount, long millis) {

    /** Copies the trace list. */
    public SampleResult {
        trace = List.copyOf(trace);
    }

    /**
     * One step of the sampling trace.
     *
     * @param name what the images show, e.g. {@code "noise"}, {@code "after block 2 of 4"}
     * @param images {@code traceCount} images (N, C, H, W)
     */
    public record Stage(String name, float[] images) {}
}
