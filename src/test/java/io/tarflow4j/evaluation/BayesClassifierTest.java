package io.tarflow4j.evaluation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.tensor.Tensors;
import java.util.List;
import java.util.Random;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

class BayesClassifierTest {
    static final double[] MEANS = {-0.6, 0.0, 0.6};

    /**
     * A one-block conditional model whose layers are identities and whose shift is the class
     * mean: with all weights zero except {@code class_embed[k, 0, 0] = MEANS[k]} and the shift
     * rows of {@code proj_out} reading channel 0, every token after the first is
     * {@code N(MEANS[y], 1)} given class y.
     */
    static TarFlow classMeanModel() {
        TarFlowConfig config = TarFlowConfig.of(1, 4, 2, 64, 1, 1, true, MEANS.length);
        TarFlow model = new TarFlow(config);
        try (GradMode g = GradMode.off()) {
            model.parameters().values().forEach(Tensor::zero_);
            Tensor embed = model.parameters().get("blocks.0.class_embed");
            for (int k = 0; k < MEANS.length; k++) {
                embed.select(0, k).select(0, 0).select(0, 0).fill_(new org.bytedeco.pytorch.Scalar(MEANS[k]));
            }
            Tensor out = model.parameters().get("blocks.0.proj_out.weight");
            int d = config.tokenDim();
            for (int j = 0; j < d; j++) {
                out.select(0, d + j).select(0, 0).fill_(new org.bytedeco.pytorch.Scalar(1.0));
            }
        }
        return model;
    }

    /** n images per class with pixels around the class mean (+-0.3), labelled. */
    static ImageDataset classData(int perClass, long seed) {
        Random r = new Random(seed);
        int len = 16;
        byte[] px = new byte[MEANS.length * perClass * len];
        int[] labels = new int[MEANS.length * perClass];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = i % MEANS.length;
            for (int j = 0; j < len; j++) {
                double v = MEANS[labels[i]] + 0.3 * (r.nextDouble() * 2 - 1);
                px[i * len + j] = (byte) Math.round((v + 1) * 127.5);
            }
        }
        return ImageDataset.unlabelled(px, 1, 4, 4).withLabels(labels, List.of("dark", "grey", "bright"));
    }

    @Test
    void separatesClassesWithDifferentMeans() {
        Runtime.seed(0);
        TarFlow model = classMeanModel();
        ImageDataset data = classData(10, 1);
        BayesClassifier.Result r = BayesClassifier.evaluate(model, data, 4, Dequantizer.uniform(0), null);
        assertEquals(1.0, r.accuracy(), 1e-12);
        assertEquals(30, r.images());
        assertArrayEquals(new long[] {10, 0, 0}, r.confusion()[0]);
        assertArrayEquals(new long[] {0, 0, 10}, r.confusion()[2]);
        assertArrayEquals(new double[] {1, 1, 1}, r.perClassAccuracy(), 1e-12);
        String table = BayesClassifier.format(r.confusion(), data.classNames());
        assertTrue(table.contains("bright"), table);
    }

    @Test
    void batchedClassesEqualOneForwardPerClass() throws Exception {
        TarFlow model = ModelFile.load(DatasetBpdTest.fixture("cond_nvp")).model();
        var c = model.config();
        float[] x = new float[4 * c.dims()];
        Random r = new Random(2);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextDouble() * 2 - 1);
        }
        Tensor images = Tensors.fromFloats(x, 4, c.inChannels(), c.imageSize(), c.imageSize());
        ClassLikelihoods.Scores scores = ClassLikelihoods.evaluate(model, images);
        try (GradMode g = GradMode.off()) {
            for (int k = 0; k < c.numClasses(); k++) {
                long[] labels = {k, k, k, k};
                float[] direct = Tensors.toFloats(BitsPerDim.perImage(
                        model, images, Tensors.fromLongs(labels, 4).to(ScalarType.Long)));
                for (int i = 0; i < 4; i++) {
                    assertEquals(direct[i], scores.bitsPerDim()[i][k], 1e-4);
                }
            }
        }
        for (int i = 0; i < 4; i++) {
            double total = 0;
            for (int k = 0; k < c.numClasses(); k++) {
                total += Math.exp(scores.logPosterior()[i][k]);
            }
            assertEquals(1.0, total, 1e-9);
            // posterior ratio = likelihood ratio: log p(k|x) - log p(0|x) = log p(x|k) - log p(x|0)
            assertEquals(
                    scores.logLikelihood(i, 1) - scores.logLikelihood(i, 0),
                    scores.logPosterior()[i][1] - scores.logPosterior()[i][0],
                    1e-6);
        }
    }

    @Test
    void refusesUnconditionalModelsAndUnlabelledData() {
        TarFlow uncond = new TarFlow(TarFlowConfig.of(1, 4, 2, 64, 1, 1, true, 0));
        assertThrows(
                IllegalArgumentException.class,
                () -> BayesClassifier.evaluate(uncond, classData(1, 0), 2, Dequantizer.center(), null));
        TarFlow model = classMeanModel();
        ImageDataset unlabelled = ImageDataset.unlabelled(new byte[32], 1, 4, 4);
        assertThrows(
                IllegalArgumentException.class,
                () -> BayesClassifier.evaluate(model, unlabelled, 2, Dequantizer.center(), null));
    }
}
