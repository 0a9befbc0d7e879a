package io.tarflow4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    private static ImageDataset test;

    @TempDir
    Path dir;

    @BeforeAll
    static void loadTestSplit() throws IOException {
        test = Datasets.open(Datasets.FASHION_MNIST_TEST, DataOptions.defaults());
    }

    @Test
    void bundledTrainingSplitLoads() throws IOException {
        ImageDataset train = Datasets.open(Datasets.FASHION_MNIST, DataOptions.defaults());
        assertEquals(60_000, train.size());
        assertEquals(1, train.channels());
        assertEquals(28, train.height());
        assertEquals(28, train.width());
        assertEquals(10, train.numClasses());
        assertEquals(9, train.label(0));
        assertEquals("Ankle boot", train.classNames().get(train.label(0)));
        int[] counts = new int[10];
        for (int label : train.labels()) {
            counts[label]++;
        }
        for (int count : counts) {
            assertEquals(6_000, count, "Fashion-MNIST is balanced");
        }
    }

    @Test
    void bundledTestSplitLoads() {
        assertEquals(10_000, test.size());
        assertEquals(28 * 28, test.imageLength());
        assertEquals(Datasets.FASHION_MNIST_CLASSES, test.classNames());
        for (int label : test.labels()) {
            assertTrue(label >= 0 && label < 10);
        }
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (float v : test.image(0)) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertEquals(-1f, min, 0f);
        assertTrue(max > 0.9f && max <= 1f, "image 0 has bright pixels: " + max);
    }

    @Test
    void optionsResizeAndConvertIdxData() throws IOException {
        DataOptions options = DataOptions.defaults().withImageSize(14).withChannels(3);
        ImageDataset small = Datasets.open(Datasets.FASHION_MNIST_TEST, options);
        assertEquals(10_000, small.size());
        assertEquals(3, small.channels());
        assertEquals(14, small.height());
        assertEquals(14, small.width());
        assertArrayEquals(test.labels(), small.labels());
        byte[] image = small.imageBytes(0);
        byte[] full = test.imageBytes(0);
        int sum = 0;
        for (int dy = 0; dy < 2; dy++) {
            for (int dx = 0; dx < 2; dx++) {
                sum += full[(14 + dy) * 28 + 14 + dx] & 0xFF;
            }
        }
        assertEquals(Math.round(sum / 4f), image[7 * 14 + 7] & 0xFF, "2x2 area average");
        assertEquals(image[7 * 14 + 7], image[196 + 7 * 14 + 7], "gray replicated to RGB");

        DataException e = assertThrows(
                DataException.class,
                () -> Datasets.open(Datasets.FASHION_MNIST_TEST, options.withResize(ResizePolicy.REFUSE)));
        assertTrue(
                e.getMessage().contains("t10k-images-idx3-ubyte.gz: images are 28x28, expected 14x14"), e.getMessage());
    }

    @Test
    void dataDirPropertyIsHonoured() throws IOException {
        Path bundled = Datasets.locateFashionMnist();
        String before = System.getProperty(Datasets.DATA_DIR_PROPERTY);
        try {
            System.setProperty(Datasets.DATA_DIR_PROPERTY, bundled.getParent().toString());
            assertEquals(bundled, Datasets.locateFashionMnist());
            System.setProperty(Datasets.DATA_DIR_PROPERTY, bundled.toString());
            assertEquals(bundled, Datasets.locateFashionMnist());
        } finally {
            if (before == null) {
                System.clearProperty(Datasets.DATA_DIR_PROPERTY);
            } else {
                System.setProperty(Datasets.DATA_DIR_PROPERTY, before);
            }
        }
    }

    @Test
    void idxPathFindsLabelsBesideIt() throws IOException {
        Path images = dir.resolve("mine-images-idx3-ubyte.gz");
        Path labels = dir.resolve("mine-labels-idx1-ubyte");
        Files.write(images, IdxReaderTest.gzip(IdxReaderTest.idxImages(2, 2, 2, new byte[8])));
        Files.write(labels, IdxReaderTest.idxLabels(new byte[] {1, 0}));
        assertEquals(labels, Datasets.labelsBeside(images));
        ImageDataset data = Datasets.open(images.toString(), DataOptions.defaults());
        assertArrayEquals(new int[] {1, 0}, data.labels());

        Path other = dir.resolve("other-labels");
        Files.write(other, IdxReaderTest.idxLabels(new byte[] {3, 3}));
        data = Datasets.open(images.toString(), DataOptions.defaults().withLabels(other));
        assertArrayEquals(new int[] {3, 3}, data.labels());
        assertEquals(4, data.numClasses());

        Files.delete(labels);
        assertNull(Datasets.labelsBeside(images));
        data = Datasets.open(images.toString(), DataOptions.defaults());
        assertEquals(2, data.size());
        assertTrue(!data.hasLabels() && data.numClasses() == 0);
    }

    @Test
    void unknownSpecIsExplained() {
        DataException e = assertThrows(
                DataException.class, () -> Datasets.open(dir.resolve("nope").toString(), DataOptions.defaults()));
        assertTrue(e.getMessage().contains("not found") && e.getMessage().contains("fashion-mnist"), e.getMessage());
    }
}
