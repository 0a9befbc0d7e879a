package io.tarflow4j.evaluation;

import static io.tarflow4j.tensor.Ops.mean;
import static io.tarflow4j.tensor.Ops.s;

import io.tarflow4j.model.TarFlow;
import io.tarflow4j.tensor.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Bits per dimension: the exact negative log-likelihood of 8-bit images under a TarFlow, and the
 * constants of every likelihood figure in one place.
 *
 * <p>Pixels k in 0..255 are dequantised to {@code x = (k + u) / 256 * 2 - 1} with u in [0, 1), so
 * each pixel value owns a bin of width 1/128 in [-1, 1]; the probability of the bin is about
 * {@code p(x) / 128} per dimension, hence {@code bpd = (nll_nats_per_dim + ln 128) / ln 2}, the
 * reference's evaluation formula. The negative log-density per dimension is the Gaussian prior's
 * ({@code 0.5 z^2 / var + 0.5 ln 2 pi + 0.5 ln var}, see {@link Prior}) minus the log-determinant.
 * The log-probability of the whole 8-bit image is {@code -bpd * D * ln 2} nats.
 */
public final class BitsPerDim {
    /** ln 2: nats per bit. */
    public static final double LN2 = Math.log(2);
    /** ln 128: the bin width 1/128 of one 8-bit level on [-1, 1]. */
    public static final double LN128 = Math.log(128);
    /** 0.5 ln 2 pi: the Gaussian's normalising constant per dimension. */
    public static final double HALF_LN_2PI = 0.5 * Math.log(2 * Math.PI);

    private BitsPerDim() {}

    /** {@code (pixels + uniform) / 256 * 2 - 1} as float32. */
    public static Tensor dequantize(Tensor pixels, Tensor uniform) {
        return pixels.to(torch.ScalarType.Float).add(uniform).div(s(128)).sub(s(1));
    }

    /** Bits per dimension of each image (B) of dequantised images (B, C, H, W) under the learned prior. */
    public static Tensor perImage(TarFlow model, Tensor images, Tensor y) {
        return perImage(model, images, y, Prior.LEARNED);
    }

    /** Bits per dimension of each image (B) of dequantised images (B, C, H, W). */
    public static Tensor perImage(TarFlow model, Tensor images, Tensor y, Prior prior) {
        return fromNllPerDim(nllPerDim(model, model.forward(images, y), prior));
    }

    /** Negative log-density per dimension (nats) of each image of a forward pass (B). */
    public static Tensor nllPerDim(TarFlow model, TarFlow.ForwardResult r, Prior prior) {
        if (prior == Prior.STANDARD) {
            return mean(r.z().pow(s(2)), 1, 2).mul(s(0.5)).add(s(HALF_LN_2PI)).sub(r.logdets());
        }
        Tensor var = model.priorVariance();
        Tensor z2 = mean(r.z().pow(s(2)).div(var), 1, 2);
        double halfLogVar = 0.5 * Tensors.item(var.log().mean());
        return z2.mul(s(0.5)).add(s(HALF_LN_2PI + halfLogVar)).sub(r.logdets());
    }

    /** Converts nats per dimension to bits per dimension of 8-bit data. */
    public static Tensor fromNllPerDim(Tensor nllPerDim) {
        return nllPerDim.add(s(LN128)).div(s(LN2));
    }

    /** The log-probability in nats of a whole 8-bit image of {@code dims} values scored {@code bpd}. */
    public static double logProbability(double bpd, int dims) {
        return -bpd * dims * LN2;
    }

    /** The bits/dim of a whole 8-bit image of {@code dims} values with log-probability {@code logP} nats. */
    public static double fromLogProbability(double logP, int dims) {
        return -logP / (dims * LN2);
    }
}
