package io.tarflow4j.sampling;

import static io.tarflow4j.tensor.Ops.s;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.Batch;
import io.tarflow4j.data.BatchLoader;
import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.io.ImageGrid;
import io.tarflow4j.io.Png;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.AdamW;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.tensor.Tensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * On a briefly trained Fashion-MNIST model (fmnist-small architecture, Gaussian noise 0.1,
 * {@code STEPS} steps of batch 64): a calibrated GS-Jacobi strategy gives samples whose
 * bits/dim under the model and pixels match the sequential sampler's. Keeps the model in
 * target/sampling-model.safetensors and the two grids beside it for a look.
 */
@Tag("slow")
class TrainedModelSamplingTest {
    static final int STEPS = Integer.getInteger("tarflow.test.steps", 150);

    @Test
    void calibratedJacobiMatchesSequential() throws Exception {
        Path dir = Path.of("target");
        Files.createDirectories(dir);
        Path ckpt = dir.resolve("sampling-model.safetensors");
        TarFlowConfig config = TarFlowConfig.of(1, 28, 4, 64, 4, 2, true, 10);
        Runtime.seed(3);
        TarFlow model = new TarFlow(config);
        ImageDataset train = Datasets.open("fashion-mnist", DataOptions.defaults());
        long t0 = System.nanoTime();
        try (BatchLoader loader =
                        BatchLoader.builder(train).batchSize(64).seed(1).build();
                AdamW opt = new AdamW(new ArrayList<>(model.parameters().values()), 2e-3, 0.9, 0.95, 1e-8, 1e-4)) {
            for (int step = 0; step < STEPS; step++) {
                Batch b = loader.next();
                try (NativeScope scope = NativeScope.open()) {
                    opt.setLearningRate(2e-3 * Math.min(1.0, (step + 1) / 50.0));
                    Tensor x = Tensors.fromFloats(b.images(), b.n(), 1, 28, 28);
                    x = x.add(torch.randn_like(x).mul(s(0.1)));
                    Tensor y = Tensors.labels(b.labels());
                    Tensor loss = TarFlow.loss(model.forward(x, y));
                    opt.zeroGrad();
                    loss.backward();
                    opt.step();
                    if (step % 50 == 0 || step == STEPS - 1) {
                        System.out.printf(
                                "step %d loss %.4f (%.0f s)%n",
                                step, Tensors.item(loss), (System.nanoTime() - t0) / 1e9);
                    }
                }
            }
        }
        ModelFile.save(ckpt, model, Map.of(ModelFile.NOISE, "gaussian:0.1"));

        // calibrate on 64 test images
        ImageDataset test = Datasets.open("fashion-mnist-test", DataOptions.defaults());
        float[] pixels = new float[64 * 784];
        int[] labels = new int[64];
        for (int i = 0; i < 64; i++) {
            test.copyImage(i * 97, pixels, i * 784, false);
            labels[i] = test.label(i * 97);
        }
        Calibration.Result cal;
        try (NativeScope scope = NativeScope.open()) {
            cal = Calibration.run(model, Tensors.fromFloats(pixels, 64, 1, 28, 28), Tensors.labels(labels), 1e-3);
        }
        System.out.println(cal.strategy().toJson());
        cal.strategy().write(dir.resolve("sampling-model.strategy.json"));

        // calibration may choose the sequential order for a block (on a CPU it usually does); the
        // fastest accurate Jacobi candidate of every block is checked as well, so that the Jacobi
        // iteration itself is exercised on a trained model whatever was chosen
        List<BlockStrategy> jacobiOnly = new java.util.ArrayList<>();
        for (Calibration.BlockReport r : cal.blocks()) {
            jacobiOnly.add(r.fastestJacobi() != null ? r.fastestJacobi() : BlockStrategy.exact(49));
        }
        Sampler sampler = new Sampler(model);
        List<Integer> classes = List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        Map<String, JacobiStrategy> strategies = new java.util.LinkedHashMap<>();
        strategies.put("calibrated", cal.strategy());
        strategies.put("fastest-jacobi", new JacobiStrategy(jacobiOnly, null));
        for (Map.Entry<String, JacobiStrategy> strategy : strategies.entrySet()) {
            for (double cfg : new double[] {0, 1}) {
                SamplingOptions.Builder b = SamplingOptions.builder()
                        .count(40)
                        .classes(classes)
                        .guidance(cfg)
                        .seed(9);
                SampleResult seq = sampler.sample(b.build());
                SampleResult jac = sampler.sample(b.sampler(SamplerType.JACOBI)
                        .strategy(strategy.getValue())
                        .build());
                double bpdSeq = bitsPerDim(model, seq);
                double bpdJac = bitsPerDim(model, jac);
                double maxDiff = 0;
                for (int i = 0; i < seq.images().length; i++) {
                    maxDiff = Math.max(maxDiff, Math.abs(seq.images()[i] - jac.images()[i]));
                }
                System.out.printf(
                        "%s, cfg %.1f: sequential %.2f s bpd %.4f | jacobi %.2f s bpd %.4f %s | max pixel diff %.2e%n",
                        strategy.getKey(),
                        cfg,
                        seq.seconds(),
                        bpdSeq,
                        jac.seconds(),
                        bpdJac,
                        jac.stats().describe(),
                        maxDiff);
                String name = "sampling-model-" + strategy.getKey() + "-cfg" + (int) cfg;
                Png.writeGrid(dir.resolve(name + "-seq.png"), seq.images(), 40, 1, 28, 28, new ImageGrid(10, 4, 2));
                Png.writeGrid(dir.resolve(name + "-jacobi.png"), jac.images(), 40, 1, 28, 28, new ImageGrid(10, 4, 2));
                assertTrue(Math.abs(bpdSeq - bpdJac) < 0.01, strategy.getKey() + ": " + bpdSeq + " vs " + bpdJac);
                assertTrue(maxDiff < 2.0 / 255, strategy.getKey() + ": max pixel difference " + maxDiff);
            }
        }
    }

    /** Mean negative log-likelihood of the samples under the model (labels as sampled), in bits/dim. */
    private static double bitsPerDim(TarFlow model, SampleResult r) {
        try (GradMode g = GradMode.off();
                NativeScope scope = NativeScope.open()) {
            Tensor x = Tensors.fromFloats(r.images(), r.count(), 1, 28, 28);
            Tensor nll = io.tarflow4j.evaluation.BitsPerDim.nllPerDim(
                    model, model.forward(x, Tensors.labels(r.labels())), io.tarflow4j.evaluation.Prior.LEARNED);
            return Tensors.item(nll.mean()) / Math.log(2);
        }
    }
}
