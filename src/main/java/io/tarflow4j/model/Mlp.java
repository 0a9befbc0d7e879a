package io.tarflow4j.model;

import static io.tarflow4j.tensor.Ops.gelu;
import static io.tarflow4j.tensor.Ops.geluInPlace;

import io.tarflow4j.tensor.GradMode;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/** Pre-norm MLP: {@code fc2(gelu(fc1(norm(x))))} with exact GELU. */
final class Mlp {
    final LayerNorm norm;
    final Linear fc1;
    final Linear fc2;

    Mlp(Init init, int width, int expansion) {
        this.norm = new LayerNorm(init, width);
        this.fc1 = new Linear(init, width, width * expansion);
        this.fc2 = new Linear(init, width * expansion, width);
    }

    Tensor apply(Tensor x) {
        Tensor hidden = fc1.apply(norm.apply(x));
        // without autograd GELU overwrites fc1's output: one buffer fewer to allocate and fill
        return fc2.apply(GradMode.enabled() ? gelu(hidden) : geluInPlace(hidden));
    }

    void collect(String prefix, Map<String, Tensor> out) {
        norm.collect(prefix + "norm.", out);
        fc1.collect(prefix + "main.0.", out);
        fc2.collect(prefix + "main.2.", out);
    }
}
