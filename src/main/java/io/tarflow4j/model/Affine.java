package io.tarflow4j.model;

import static io.tarflow4j.tensor.Ops.s;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The affine map of a flow block for each token: {@code z = (x - shift) * exp(-logScale)} forward
 * and {@code x = z * exp(logScale) + shift} in reverse; its log-determinant is
 * {@code -sum(logScale)}. Both tensors are (B, T, D) (or (B, n, D) for part of a sequence).
 *
 * @param logScale the reference's {@code xa} (zeros for a volume-preserving model)
 * @param shift the reference's {@code xb}
 */
public record Affine(Tensor logScale, Tensor shift) {

    /** Forward: data to latent. */
    public Tensor forward(Tensor x) {
        return x.sub(shift).mul(logScale.neg().exp());
    }

    /** Reverse: latent to data. */
    public Tensor reverse(Tensor z) {
        return torch.addcmul(shift, z, logScale.exp(), s(1.0)); // one fused op for z * e^a + b
    }
}
