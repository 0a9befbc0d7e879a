package io.tarflow4j.serve;

import static io.tarflow4j.tensor.Ops.s;

import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.sampling.Denoiser;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.tensor.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The one place the server generates samples: prior noise from the request's seed, the sequential
 * KV-cached reverse pass with guidance ({@code TarFlow.reverse}, or {@code reverseSequence} for a
 * trace), then optional score-based denoising. Swap this class's body for the sampling package's
 * samplers (GS-Jacobi) without touching the server.
 *
 * <p>Not thread-safe: it reseeds libtorch's default generator, so it must run on the model
 * worker's single thread. The noise is {@code torch.manual_seed(seed); torch.randn(B, T, D)} on
 * the CPU in float32, as PyTorch draws it, then scaled by the noise temperature.
 */
public final class SampleGenerator {
    /** The most images each trace stage shows. */
    public static final int TRACE_IMAGES = 8;

    private final ServedModel served;

    /** A generator for the served model. */
    public SampleGenerator(ServedModel served) {
        this.served = served;
    }

    /** Samples the request's images. Call on the model worker thread. */
    public SampleResult sample(SampleRequest request) {
        long start = System.nanoTime();
        TarFlow model = served.model();
        TarFlowConfig c = model.config();
        int n = request.batch();
        int traceCount = request.trace() ? Math.min(n, TRACE_IMAGES) : 0;
        List<SampleResult.Stage> trace = new ArrayList<>();
        float[] images;
        try (NativeScope scope = NativeScope.open()) {
            Runtime.seed(request.seed());
            Tensor noise = model.place(torch.randn(n, c.numTokens(), c.tokenDim())
                    .mul(s(request.noiseTemperature())));
            Tensor y = null;
            if (request.classLabel() != null) {
                int[] labels = new int[n];
                Arrays.fill(labels, request.classLabel());
                y = Tensors.labels(labels).to(model.device(), ScalarType.Long);
            }
            Tensor x;
            if (request.trace()) {
                List<Tensor> seq = model.reverseSequence(noise, y, request.guidance());
                for (int i = 0; i < seq.size(); i++) {
                    String name = i == 0 ? "noise" : "after block " + i + " of " + (seq.size() - 1);
                    trace.add(new SampleResult.Stage(name, firstImages(seq.get(i), traceCount)));
                }
                x = seq.get(seq.size() - 1);
            } else {
                x = model.reverse(noise, y, request.guidance());
            }
            if (request.denoise()) {
                x = Denoiser.denoise(model, x, y, served.sigma(), 1.0);
                if (request.trace()) {
                    trace.add(new SampleResult.Stage("denoised", firstImages(x, traceCount)));
                }
            }
            images = Tensors.toFloats(x);
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        return new SampleResult(images, n, c.inChannels(), c.imageSize(), trace, traceCount, millis);
    }

    private static float[] firstImages(Tensor images, int count) {
        return Tensors.toFloats(images.narrow(0, 0, count));
    }
}
