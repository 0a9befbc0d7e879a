package io.tarflow4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {
    @TempDir
    Path dir;

    static byte[] idxImages(int n, int rows, int cols, byte[] pixels) {
        return ByteBuffer.allocate(16 + pixels.length)
                .putInt(2051)
                .putInt(n)
                .putInt(rows)
                .putInt(cols)
                .put(pixels)
                .array();
    }

    static byte[] idxLabels(byte[] labels) {
        return ByteBuffer.allocate(8 + labels.length)
                .putInt(2049)
                .putInt(labels.length)
                .put(labels)
                .array();
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    private static byte[] pattern(int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (i * 37 + 11);
        }
        return b;
    }

    @Test
    void rawAndGzipRoundTrip() throws IOException {
        byte[] pixels = pattern(3 * 4 * 5);
        byte[] labels = {2, 0, (byte) 255};
        for (boolean gz : new boolean[] {false, true}) {
            String ext = gz ? ".gz" : "";
            Path images = dir.resolve("x-images-idx3-ubyte" + ext);
            Path labelFile = dir.resolve("x-labels-idx1-ubyte" + ext);
            Files.write(images, gz ? gzip(idxImages(3, 4, 5, pixels)) : idxImages(3, 4, 5, pixels));
            Files.write(labelFile, gz ? gzip(idxLabels(labels)) : idxLabels(labels));

            ImageDataset data = IdxReader.read(images, labelFile, null);
            assertEquals(3, data.size());
            assertEquals(1, data.channels());
            assertEquals(4, data.height());
            assertEquals(5, data.width());
            assertArrayEquals(Arrays.copyOfRange(pixels, 20, 40), data.imageBytes(1));
            assertArrayEquals(new int[] {2, 0, 255}, data.labels());
            assertEquals(256, data.numClasses(), "numeric class names up to the largest label");
            assertEquals("255", data.classNames().get(255));
            float[] image = data.image(2);
            assertEquals((pixels[40] & 0xFF) / 255f * 2f - 1f, image[0], 0f);
            Files.delete(images);
            Files.delete(labelFile);
        }
    }

    @Test
    void pixelScalingCoversMinusOneToOne() throws IOException {
        Path images = dir.resolve("e-images-idx3-ubyte");
        Files.write(images, idxImages(1, 1, 3, new byte[] {0, (byte) 255, (byte) 128}));
        float[] image = IdxReader.readImages(images).image(0);
        assertEquals(-1f, image[0], 0f);
        assertEquals(1f, image[1], 0f);
        assertEquals(128 / 255f * 2f - 1f, image[2], 0f);
    }

    @Test
    void truncatedRawFileNamesFileAndSizes() throws IOException {
        Path images = dir.resolve("t-images-idx3-ubyte");
        byte[] full = idxImages(2, 3, 3, pattern(18));
        Files.write(images, Arrays.copyOf(full, full.length - 5));
        DataException e = assertThrows(DataException.class, () -> IdxReader.readImages(images));
        assertTrue(e.getMessage().contains(images.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        assertTrue(e.getMessage().contains("expected 34 bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("found 29"), e.getMessage());
        assertEquals(images, e.file());
    }

    @Test
    void truncatedGzipStreamIsReported() throws IOException {
        Path images = dir.resolve("t-images-idx3-ubyte.gz");
        byte[] gz = gzip(idxImages(50, 10, 10, pattern(5000)));
        Files.write(images, Arrays.copyOf(gz, gz.length / 2));
        DataException e = assertThrows(DataException.class, () -> IdxReader.readImages(images));
        assertTrue(e.getMessage().startsWith(images.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("expected 5016 bytes"), e.getMessage());
    }

    @Test
    void headerOnlyFileAndExtraBytesAreRejected() throws IOException {
        Path labels = dir.resolve("h-labels-idx1-ubyte");
        Files.write(labels, new byte[] {0, 0, 8, 1, 0, 0});
        DataException e = assertThrows(DataException.class, () -> IdxReader.readLabels(labels));
        assertTrue(e.getMessage().contains("ended after 2 of 4 bytes"), e.getMessage());

        byte[] longer = Arrays.copyOf(idxLabels(new byte[] {1, 2, 3}), 8 + 3 + 4);
        Files.write(labels, longer);
        e = assertThrows(DataException.class, () -> IdxReader.readLabels(labels));
        assertTrue(e.getMessage().contains("expected 11 bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("found 15"), e.getMessage());
    }

    @Test
    void wrongMagicSaysWhatWasFound() throws IOException {
        Path labels = dir.resolve("m-labels-idx1-ubyte");
        Files.write(labels, idxLabels(new byte[] {1, 2}));
        DataException e = assertThrows(DataException.class, () -> IdxReader.readImages(labels));
        assertTrue(
                e.getMessage()
                        .contains("expected IDX magic 2051 (unsigned-byte images), found 2049 "
                                + "(unsigned-byte labels)"),
                e.getMessage());

        Path text = dir.resolve("readme.txt");
        Files.writeString(text, "hello world, not an IDX file");
        e = assertThrows(DataException.class, () -> IdxReader.readLabels(text));
        assertTrue(e.getMessage().contains("not an IDX file"), e.getMessage());
    }

    @Test
    void corruptGzipIsReported() throws IOException {
        Path images = dir.resolve("c-images-idx3-ubyte.gz");
        byte[] gz = gzip(idxImages(4, 8, 8, pattern(256)));
        for (int i = 12; i < gz.length - 8; i++) {
            gz[i] ^= (byte) 0x5A;
        }
        Files.write(images, gz);
        DataException e = assertThrows(DataException.class, () -> IdxReader.readImages(images));
        assertTrue(e.getMessage().startsWith(images.toString()), e.getMessage());
    }

    @Test
    void imageAndLabelCountsMustAgree() throws IOException {
        Path images = dir.resolve("n-images-idx3-ubyte");
        Path labels = dir.resolve("n-labels-idx1-ubyte");
        Files.write(images, idxImages(3, 2, 2, pattern(12)));
        Files.write(labels, idxLabels(new byte[] {0, 1}));
        DataException e = assertThrows(DataException.class, () -> IdxReader.read(images, labels, null));
        assertTrue(e.getMessage().contains("expected 3 labels"), e.getMessage());
        assertTrue(e.getMessage().contains("found 2"), e.getMessage());
        assertEquals(labels, e.file());
    }

    @Test
    void labelWithoutClassNameIsRejected() throws IOException {
        Path images = dir.resolve("k-images-idx3-ubyte");
        Path labels = dir.resolve("k-labels-idx1-ubyte");
        Files.write(images, idxImages(2, 1, 1, new byte[] {1, 2}));
        Files.write(labels, idxLabels(new byte[] {0, 2}));
        DataException e = assertThrows(DataException.class, () -> IdxReader.read(images, labels, List.of("a", "b")));
        assertTrue(e.getMessage().contains("label 2 of item 1 has no class name"), e.getMessage());
    }

    @Test
    void missingFileIsNamed() {
        Path missing = dir.resolve("absent-images-idx3-ubyte.gz");
        DataException e = assertThrows(DataException.class, () -> IdxReader.readImages(missing));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("no such file"));
        assertFalse(Files.exists(missing));
    }
}
