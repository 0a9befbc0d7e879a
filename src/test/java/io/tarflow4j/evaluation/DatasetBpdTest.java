package io.tarflow4j.evaluation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.io.SafetensorsFile;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.tensor.RawTensors;
import io.tarflow4j.tensor.Tensors;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class DatasetBpdTest {

    static Path fixture(String name) throws Exception {
        return Path.of(DatasetBpdTest.class
                .getResource("/fixtures/" + name + ".safetensors")
                .toURI());
    }

    @Test
    void datasetPathReproducesTheFixtureBitsPerDim() throws Exception {
        for (String name : new String[] {"cond_nvp", "uncond_nvp_tempguide"}) {
            Path file = fixture(name);
            TarFlow model = ModelFile.load(file).model();
            float[] pixels;
            float[] uniform;
            float[] expected;
            try (SafetensorsFile f = Safetensors.read(file)) {
                pixels = Tensors.toFloats(RawTensors.toTensor(f.tensors().get("bpd.pixels")));
                uniform = Tensors.toFloats(RawTensors.toTensor(f.tensors().get("bpd.uniform")));
                expected = Tensors.toFloats(RawTensors.toTensor(f.tensors().get("bpd.value")));
            }
            var c = model.config();
            byte[] bytes = new byte[pixels.length];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) Math.round(pixels[i]);
            }
            ImageDataset data = ImageDataset.unlabelled(bytes, c.inChannels(), c.imageSize(), c.imageSize());
            // batch 2 splits the fixture's images over two batches: the noise must follow image order
            DatasetBpd.Result r =
                    DatasetBpd.evaluate(model, data, DatasetBpd.Options.of(2, Dequantizer.replay(uniform)));
            double mean = 0;
            for (int i = 0; i < expected.length; i++) {
                assertEquals(
                        expected[i],
                        r.perImage()[i],
                        2e-4 * Math.max(1e-2, Math.abs(expected[i])),
                        name + " image " + i);
                mean += expected[i] / expected.length;
            }
            assertEquals(mean, r.mean(), 1e-3);
            assertTrue(r.standardError() > 0);
        }
    }

    @Test
    void seededNoiseIsRepeatableAndDrawsAverage() throws Exception {
        TarFlow model = ModelFile.load(fixture("uncond_nvp_tempguide")).model();
        var c = model.config();
        byte[] bytes = new byte[5 * c.dims()];
        new java.util.Random(3).nextBytes(bytes);
        ImageDataset data = ImageDataset.unlabelled(bytes, c.inChannels(), c.imageSize(), c.imageSize());
        DatasetBpd.Result a = DatasetBpd.evaluate(model, data, DatasetBpd.Options.of(3, Dequantizer.uniform(7)));
        DatasetBpd.Result b = DatasetBpd.evaluate(model, data, DatasetBpd.Options.of(5, Dequantizer.uniform(7)));
        assertEquals(a.mean(), b.mean(), 1e-5, "batching does not change the result");
        DatasetBpd.Result other = DatasetBpd.evaluate(model, data, DatasetBpd.Options.of(5, Dequantizer.uniform(8)));
        assertNotEquals(a.mean(), other.mean());
        long[] seen = {0};
        DatasetBpd.Result two = DatasetBpd.evaluate(
                model,
                data,
                DatasetBpd.Options.of(2, Dequantizer.uniform(7)).withDraws(2).withProgress(n -> seen[0] = n));
        assertEquals(5, seen[0]);
        assertEquals(5, two.images());
        // each draw's noise is a function of the seed, the image and the draw number: replay it image by image
        double[] manual = new double[5];
        Dequantizer seeded = Dequantizer.uniform(7L);
        for (int i = 0; i < 5; i++) {
            byte[] one = java.util.Arrays.copyOfRange(bytes, i * c.dims(), (i + 1) * c.dims());
            float[] px = new float[c.dims()];
            for (int k = 0; k < px.length; k++) {
                px[k] = one[k] & 0xFF;
            }
            for (int d = 0; d < 2; d++) {
                float[] u = new float[c.dims()];
                seeded.fillImage(px, 0, px.length, d, u, 0);
                DatasetBpd.Result r = DatasetBpd.evaluate(
                        model,
                        ImageDataset.unlabelled(one, c.inChannels(), c.imageSize(), c.imageSize()),
                        DatasetBpd.Options.of(1, Dequantizer.replay(u)));
                manual[i] += r.perImage()[0] / 2;
            }
        }
        for (int i = 0; i < 5; i++) {
            assertEquals(manual[i], two.perImage()[i], 1e-5);
        }
    }

    @Test
    void refusesBadArguments() throws Exception {
        TarFlow model = ModelFile.load(fixture("uncond_nvp_tempguide")).model();
        var c = model.config();
        ImageDataset data =
                ImageDataset.unlabelled(new byte[2 * c.dims()], c.inChannels(), c.imageSize(), c.imageSize());
        assertThrows(
                IllegalArgumentException.class,
                () -> DatasetBpd.evaluate(
                        model,
                        data,
                        DatasetBpd.Options.of(2, Dequantizer.uniform(0)).withDraws(0)));
        assertThrows(
                IllegalArgumentException.class,
                () -> DatasetBpd.evaluate(
                        model,
                        data,
                        DatasetBpd.Options.of(2, Dequantizer.center()).withDraws(2)));
        ImageDataset wrong = ImageDataset.unlabelled(new byte[2 * 16 * 16], 1, 16, 16);
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> DatasetBpd.evaluate(model, wrong, DatasetBpd.Options.of(2, Dequantizer.uniform(0))));
        assertTrue(e.getMessage().contains("1x16x16"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Dequantizer.replay(new float[] {0.5f, 1f}));
    }
}
