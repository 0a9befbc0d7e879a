package io.tarflow4j.evaluation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ContextCoderTest {

    @Test
    void decodesWhatItEncodes() {
        Random r = new Random(5);
        int[][] shapes = {{1, 28, 28}, {3, 8, 8}, {1, 1, 1}, {2, 5, 13}};
        for (int[] s : shapes) {
            int n = s[0] * s[1] * s[2];
            byte[] noise = new byte[n];
            r.nextBytes(noise);
            byte[] smooth = new byte[n];
            for (int i = 0; i < n; i++) {
                smooth[i] = (byte) (i % s[2] * 7 + (r.nextInt(5) == 0 ? 255 : 0));
            }
            for (byte[] img : new byte[][] {noise, smooth, new byte[n]}) {
                byte[] code = ContextCoder.encode(img, s[0], s[1], s[2]);
                assertArrayEquals(img, ContextCoder.decode(code, s[0], s[1], s[2]));
            }
        }
        assertThrows(IllegalArgumentException.class, () -> ContextCoder.encode(new byte[10], 1, 3, 3));
        assertThrows(IllegalArgumentException.class, () -> ContextCoder.decode(new byte[2], 1, 28, 28));
    }

    @Test
    void compressesFashionMnistBetterThanPngAndNoiseNotBelowEightBits() throws Exception {
        ImageDataset test = Datasets.open(Datasets.FASHION_MNIST_TEST, DataOptions.defaults());
        long ours = 0;
        long png = 0;
        for (int i = 0; i < 200; i++) {
            byte[] img = test.imageBytes(i);
            byte[] code = ContextCoder.encode(img, 1, 28, 28);
            assertArrayEquals(img, ContextCoder.decode(code, 1, 28, 28));
            ours += code.length;
            BufferedImage b = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
            b.getRaster().setDataElements(0, 0, 28, 28, img);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(b, "png", out);
            png += out.size();
        }
        assertTrue(ours < 0.8 * png, "context coder " + ours + " bytes vs PNG " + png);
        byte[] noise = new byte[784];
        new Random(1).nextBytes(noise);
        double bpd = ContextCoder.bitsPerDim(noise, 1, 28, 28);
        assertTrue(bpd > 7.9 && bpd < 8.6, "uniform noise: " + bpd);
        assertTrue(ContextCoder.bitsPerDim(new byte[784], 1, 28, 28) < 0.2, "a black image costs almost nothing");
    }
}
