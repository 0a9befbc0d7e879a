package io.tarflow4j.model;

import io.tarflow4j.tensor.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * Classifier-free guidance for sampling, as in the reference.
 *
 * <p>With weight w &gt; 0 every decoding step runs a guided branch (the class label, attention
 * temperature 1) and an unguided branch (the mean class embedding, attention temperature
 * {@code attnTemp}) and mixes their affine parameters: {@code p = p_g + w (p_g - p_u)}. For an
 * unconditional model the two branches differ only by the attention temperature (the paper's
 * unconditional guidance).
 *
 * @param weight guidance weight w; 0 turns guidance off
 * @param target which affine parameters to guide
 * @param attnTemp attention temperature of the unguided branch (1 = none)
 * @param annealed weight {@code (i+1)/(T-1) * w} at decoding step i instead of a constant w
 */
public record Guidance(double weight, Target target, double attnTemp, boolean annealed) {

    /** Which affine parameters guidance mixes. */
    public enum Target {
        /** the log-scale only (the reference's {@code guide_what='a'}) */
        SCALE,
        /** the shift only ({@code 'b'}) */
        SHIFT,
        /** both ({@code 'ab'}, the default) */
        BOTH;

        boolean scale() {
            return this != SHIFT;
        }

        boolean shift() {
            return this != SCALE;
        }
    }

    /** No guidance. */
    public static final Guidance NONE = new Guidance(0, Target.BOTH, 1, false);

    /** Validates the settings. */
    public Guidance {
        if (!(weight >= 0) || Double.isInfinite(weight)) {
            throw new IllegalArgumentException("guidance weight must be finite and >= 0, got " + weight);
        }
        if (!(attnTemp > 0) || Double.isInfinite(attnTemp)) {
            throw new IllegalArgumentException("attention temperature must be > 0, got " + attnTemp);
        }
        if (target == null) {
            throw new IllegalArgumentException("guidance target must be scale, shift or both");
        }
    }

    /** Constant-weight guidance of both affine parameters. */
    public static Guidance of(double weight, double attnTemp) {
        return new Guidance(weight, Target.BOTH, attnTemp, false);
    }

    /** Whether sampling runs the second (unguided) branch. */
    public boolean active() {
        return weight > 0;
    }

    /** The weight at decoding step {@code i} of a sequence of {@code tokens} tokens. */
    public double weightAt(int i, int tokens) {
        return annealed ? (i + 1.0) / (tokens - 1) * weight : weight;
    }

    /**
     * The guidance weight of every output token of a sequence, (1, T, 1) like {@code like}: token
     * j is produced at decoding step j-1, so it gets {@link #weightAt}{@code (j-1, T)}; token 0
     * (never transformed) gets 0.
     */
    public Tensor tokenWeights(int tokens, Tensor like) {
        float[] w = new float[tokens];
        for (int j = 1; j < tokens; j++) {
            w[j] = (float) weightAt(j - 1, tokens);
        }
        return Tensors.fromFloats(w, 1, tokens, 1).to(like.device(), like.scalar_type());
    }

    /**
     * Mixes the affine parameters of the two branches, rows {@code 0..B-1} guided and
     * {@code B..2B-1} unguided (see {@link Branches}), on the guided target:
     * {@code guided + w * (guided - unguided)}.
     *
     * @param w the weights of the tokens {@code both} holds, (1, n, 1) (from {@link #tokenWeights})
     * @return the mixed parameters of B rows
     */
    public Affine mix(Affine both, Tensor w) {
        TensorVector scale = both.logScale().chunk(2, 0);
        TensorVector shift = both.shift().chunk(2, 0);
        Tensor logScale = target.scale() ? mix(scale.get(0), scale.get(1), w) : scale.get(0);
        Tensor sh = target.shift() ? mix(shift.get(0), shift.get(1), w) : shift.get(0);
        return new Affine(logScale, sh);
    }

    /** The guidance formula on one value, for decoders that work in arrays ({@link ArrayDecoder}). */
    static float mix(float guided, float unguided, float w) {
        return guided + (guided - unguided) * w;
    }

    /** The guidance formula: {@code guided + w * (guided - unguided)}. */
    private static Tensor mix(Tensor guided, Tensor unguided, Tensor w) {
        return guided.add(guided.sub(unguided).mul(w));
    }
}
