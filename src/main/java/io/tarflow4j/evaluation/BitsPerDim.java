package io.tarflow4j.evaluation;

import static io.tarflow4j.tensor.Ops.s;

import io.tarflow4j.model.TarFlow;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Bits per dimension: the exact negative log-likelihood of 8-bit images under a TarFlow.
 *
 * <p>Pixels k in 0..255 are dequantised to {@code x = (k + u) / 256 * 2 - 1} with u uniform in
 * [0, 1), so each pixel value owns a bin of width 1/128 in [-1, 1]; the probability of the bin is
 * about {@code p(x) / 128} per dimension, hence {@code bpd = (nll_nats_per_dim + ln 128) / ln 2},
 * the reference's evaluation formula.
 */
public final class BitsPerDim {
    private static final double LN2 = Math.log(2);
    private static final double LN128 = Math.log(128);

    private BitsPerDim() {}

    /** {@code (pixels + uniform) / 256 * 2 - 1} as float32. */
    public static Tensor dequantize(Tensor pixels, Tensor uniform) {
        return pixels.to(torch.ScalarType.Float).add(uniform).div(s(128)).sub(s(1));
    }

    /** Bits per dimension of each image (B) of dequantised images (B, C, H, W). */
    public static Tensor perImage(TarFlow model, Tensor images, Tensor y) {
        return fromNllPerDim(model.nllPerDim(model.forward(images, y)));
    }

    /** Converts nats per dimension to bits per dimension of 8-bit data. */
    public static Tensor fromNllPerDim(Tensor nllPerDim) {
        return nllPerDim.add(s(LN128)).div(s(LN2));
    }
}
