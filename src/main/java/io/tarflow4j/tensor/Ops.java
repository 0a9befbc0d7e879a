package io.tarflow4j.tensor;

import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The functional operations the model is written in, with libtorch's optional arguments filled
 * in, so that model code reads like the math: {@code linear(x, w, b)}, {@code layerNorm(...)},
 * {@code attention(q, k, v, causal)}.
 */
public final class Ops {
    private Ops() {}

    /** A libtorch scalar (for {@code t.mul(s(2.0))} and the like). */
    public static Scalar s(double v) {
        return new Scalar(v);
    }

    /** {@code x W^T + b}. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        return torch.linear(x, weight, new TensorOptional(bias));
    }

    /** Layer normalisation over the last dimension. */
    public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        return torch.layer_norm(
                x, new long[] {x.size(-1)}, new TensorOptional(weight), new TensorOptional(bias), eps, false);
    }

    /** The exact (erf) GELU, as {@code torch.nn.GELU()}. */
    public static Tensor gelu(Tensor x) {
        return torch.gelu(x, "none");
    }

    /** The exact GELU written over x (for temporaries that nothing else reads, without autograd). */
    public static Tensor geluInPlace(Tensor x) {
        return torch.gelu_(x, "none");
    }

    /**
     * Scaled dot-product attention {@code softmax(q k^T / sqrt(d)) v} on (B, H, T, d) tensors,
     * with the causal (lower-triangular) mask when {@code causal}.
     */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, boolean causal) {
        return attention(q, k, v, new TensorOptional(), causal);
    }

    /** Attention with a boolean mask (true = may attend), broadcast over batch and heads. */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask) {
        return attention(q, k, v, new TensorOptional(mask), false);
    }

    /**
     * Under CPU bf16 autocast, attention runs in float32: libtorch's bf16 CPU attention does its
     * small products with a scalar reference GEMM (the largest share of an autocast training
     * step in a profile, BENCHMARKS.md), while its float32 attention uses the BLAS; attention is a small share of the work.
     */
    private static Tensor attention(Tensor q, Tensor k, Tensor v, TensorOptional mask, boolean causal) {
        if (Autocast.enabled() && q.device().is_cpu()) {
            try (Autocast full = Autocast.float32()) {
                return torch.scaled_dot_product_attention(
                        q.to(torch.ScalarType.Float),
                        k.to(torch.ScalarType.Float),
                        v.to(torch.ScalarType.Float),
                        mask,
                        0.0,
                        causal,
                        new DoubleOptional(),
                        false);
            }
        }
        return torch.scaled_dot_product_attention(q, k, v, mask, 0.0, causal, new DoubleOptional(), false);
    }

    /**
     * The causal mask of {@code n} queries at absolute positions {@code offset .. offset+n-1}
     * over keys {@code 0 .. offset+n-1}: query j may attend to keys 0..offset+j. On the device of
     * {@code like}.
     */
    public static Tensor causalMask(long n, long offset, Tensor like) {
        Tensor ones = torch.ones(new long[] {n, offset + n}, new TensorOptions(torch.ScalarType.Bool));
        Tensor mask = ones.tril(offset);
        return like.device().is_cpu() ? mask : mask.to(like.device(), torch.ScalarType.Bool);
    }

    /** Mean over the given dimensions (which are removed). */
    public static Tensor mean(Tensor t, long... dims) {
        return t.mean(dims, false, new ScalarTypeOptional());
    }

    /** Concatenation along {@code dim}. */
    public static Tensor cat(long dim, Tensor... parts) {
        return torch.cat(new TensorVector(parts), dim);
    }

    /** A float32 tensor of zeros like {@code t}'s dtype and device. */
    public static Tensor zerosLike(Tensor t, long... shape) {
        return torch.zeros(shape, t.options());
    }

    /** A float32 tensor of zeros on the CPU. */
    public static Tensor zeros(long... shape) {
        return torch.zeros(shape, new TensorOptions(torch.ScalarType.Float));
    }
}
