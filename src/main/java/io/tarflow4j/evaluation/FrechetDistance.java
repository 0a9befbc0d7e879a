package io.tarflow4j.evaluation;

import static io.tarflow4j.tensor.Ops.s;

import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The Frechet distance between two Gaussians fitted to feature vectors (FID when the features
 * are Inception's pool3, FD-FMNIST with the bundled Fashion-MNIST classifier):
 *
 * <pre>d^2 = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2})</pre>
 *
 * <p>Computed in float64 with symmetric eigendecompositions ({@code torch.linalg.eigh}), not the
 * general matrix square root: S1^{1/2} is {@code V diag(sqrt(max(l, 0))) V^T}, and the trace of
 * the second root is the sum of the square roots of the (clamped) eigenvalues of the symmetric
 * PSD matrix {@code S1^{1/2} S2 S1^{1/2}}, which has the same eigenvalues as {@code S1 S2}. No
 * complex parts, no "add eps to the diagonal" retries.
 */
public final class FrechetDistance {
    private FrechetDistance() {}

    /** The squared Frechet distance d^2 between two feature distributions (what FID reports). */
    public static double distance(FeatureStatistics a, FeatureStatistics b) {
        if (a.dimension() != b.dimension()) {
            throw new IllegalArgumentException("feature dimensions differ: " + a.dimension() + " vs " + b.dimension());
        }
        try (GradMode g = GradMode.off();
                NativeScope scope = NativeScope.open()) {
            return distance(a.meanTensor(), a.covarianceTensor(), b.meanTensor(), b.covarianceTensor());
        }
    }

    /** d^2 from float64 means (d) and symmetric covariances (d, d). */
    public static double distance(Tensor mu1, Tensor s1, Tensor mu2, Tensor s2) {
        try (GradMode g = GradMode.off();
                NativeScope scope = NativeScope.open()) {
            Tensor m1 = mu1.to(ScalarType.Double);
            Tensor m2 = mu2.to(ScalarType.Double);
            Tensor c1 = symmetric(s1.to(ScalarType.Double));
            Tensor c2 = symmetric(s2.to(ScalarType.Double));
            double meanTerm = Tensors.item(m1.sub(m2).pow(s(2)).sum());
            Tensor root1 = sqrtPsd(c1);
            Tensor middle = symmetric(root1.matmul(c2).matmul(root1));
            Tensor eig = torch.linalg_eigvalsh(middle);
            double traceRoot = Tensors.item(eig.clamp_min(s(0)).sqrt().sum());
            double d2 = meanTerm + Tensors.item(c1.trace()) + Tensors.item(c2.trace()) - 2 * traceRoot;
            // rounding can leave a tiny negative number for identical distributions
            return Math.max(d2, 0.0);
        }
    }

    /**
     * The symmetric square root of a symmetric positive semi-definite matrix (float64):
     * {@code V diag(sqrt(max(l, 0))) V^T} from {@code torch.linalg.eigh}; small negative
     * eigenvalues from rounding are clamped to 0.
     */
    public static Tensor sqrtPsd(Tensor matrix) {
        Tensor m = symmetric(matrix.to(ScalarType.Double));
        T_TensorTensor_T eig = torch.linalg_eigh(m);
        Tensor values = eig.get0().clamp_min(s(0)).sqrt();
        Tensor vectors = eig.get1();
        return vectors.mul(values.unsqueeze(0)).matmul(vectors.t());
    }

    private static Tensor symmetric(Tensor m) {
        if (m.dim() != 2 || m.size(0) != m.size(1)) {
            throw new IllegalArgumentException(
                    "expected a square matrix, got shape " + java.util.Arrays.toString(Tensors.shape(m)));
        }
        return m.add(m.t()).mul(s(0.5));
    }
}
