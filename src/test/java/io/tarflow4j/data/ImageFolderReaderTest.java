package io.tarflow4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderReaderTest {
    @TempDir
    Path root;

    private static void writeGray(Path file, int w, int h, int value) throws IOException {
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                image.getRaster().setSample(x, y, 0, (value + x) & 0xFF);
            }
        }
        Files.createDirectories(file.getParent());
        assertTrue(ImageIO.write(image, "png", file.toFile()));
    }

    private static void writeRgb(Path file, int w, int h, int rgb) throws IOException {
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                image.setRGB(x, y, rgb);
            }
        }
        Files.createDirectories(file.getParent());
        assertTrue(ImageIO.write(image, "png", file.toFile()));
    }

    @Test
    void classFoldersBecomeSortedLabels() throws IOException {
        writeGray(root.resolve("dog/b.png"), 4, 4, 100);
        writeGray(root.resolve("dog/a.png"), 4, 4, 50);
        writeGray(root.resolve("cat/z.png"), 4, 4, 200);
        Files.writeString(root.resolve("cat/notes.txt"), "not an image");

        ImageDataset data = ImageFolderReader.read(root, DataOptions.defaults());
        assertEquals(List.of("cat", "dog"), data.classNames());
        assertEquals(3, data.size());
        assertArrayEquals(new int[] {0, 1, 1}, data.labels());
        assertEquals(1, data.channels());
        assertEquals(4, data.height());
        assertArrayEquals(
                new byte[] {(byte) 200, (byte) 201, (byte) 202, (byte) 203},
                java.util.Arrays.copyOf(data.imageBytes(0), 4),
                "gray samples kept exactly");
        assertEquals(50, data.imageBytes(1)[0], "files read in sorted order");
        assertEquals(0, data.skipped());
    }

    @Test
    void rgbImagesAndConversionToGray() throws IOException {
        writeRgb(root.resolve("a/x.png"), 3, 3, 0xFF8040);
        ImageDataset rgb = ImageFolderReader.read(root, DataOptions.defaults());
        assertEquals(3, rgb.channels());
        byte[] px = rgb.imageBytes(0);
        assertEquals(0xFF, px[0] & 0xFF);
        assertEquals(0x80, px[9] & 0xFF);
        assertEquals(0x40, px[18] & 0xFF);

        ImageDataset gray = ImageFolderReader.read(root, DataOptions.defaults().withChannels(1));
        assertEquals(1, gray.channels());
        assertEquals(Math.round(0.299 * 255 + 0.587 * 128 + 0.114 * 64), gray.imageBytes(0)[4] & 0xFF);
    }

    @Test
    void corruptFileFailsNamingItOrIsSkipped() throws IOException {
        writeGray(root.resolve("a/good.png"), 4, 4, 0);
        writeGray(root.resolve("b/good.png"), 4, 4, 9);
        Path broken = root.resolve("b/broken.png");
        Files.write(broken, new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10, 0, 0, 0, 13, 'I', 'H'});

        DataException e = assertThrows(DataException.class, () -> ImageFolderReader.read(root, DataOptions.defaults()));
        assertEquals(broken, e.file());
        assertTrue(e.getMessage().contains("broken.png"), e.getMessage());

        ImageDataset data = ImageFolderReader.read(root, DataOptions.defaults().withSkipBad(true));
        assertEquals(2, data.size());
        assertEquals(1, data.skipped());
        assertArrayEquals(new int[] {0, 1}, data.labels());
    }

    @Test
    void differentSizesAreResizedOrRefused() throws IOException {
        writeGray(root.resolve("a/1.png"), 4, 4, 10);
        writeRgb(root.resolve("a/2.png"), 8, 6, 0x808080);
        ImageDataset data = ImageFolderReader.read(root, DataOptions.defaults());
        assertEquals(4, data.height());
        assertEquals(2, data.size());
        for (byte b : data.imageBytes(1)) {
            assertEquals(0x80, b & 0xFF);
        }

        ImageDataset sized = ImageFolderReader.read(
                root, DataOptions.defaults().withImageSize(2).withChannels(3));
        assertEquals(3, sized.channels());
        assertEquals(2 * 2 * 3, sized.imageLength());

        Path second = root.resolve("a/2.png");
        DataException e = assertThrows(
                DataException.class,
                () -> ImageFolderReader.read(root, DataOptions.defaults().withResize(ResizePolicy.REFUSE)));
        assertEquals(second, e.file());
        assertTrue(e.getMessage().contains("image is 8x6, expected 4x4"), e.getMessage());
    }

    @Test
    void flatFolderIsUnlabelled() throws IOException {
        writeGray(root.resolve("p.png"), 2, 2, 1);
        writeGray(root.resolve("q.png"), 2, 2, 2);
        ImageDataset data = ImageFolderReader.read(root, DataOptions.defaults());
        assertEquals(2, data.size());
        assertFalse(data.hasLabels());
        assertEquals(0, data.numClasses());
        assertEquals(
                data.size(),
                Datasets.open(root.toString(), DataOptions.defaults()).size());
    }

    @Test
    void emptyFolderIsAnError() throws IOException {
        Files.createDirectories(root.resolve("a"));
        DataException e = assertThrows(DataException.class, () -> ImageFolderReader.read(root, DataOptions.defaults()));
        assertTrue(e.getMessage().contains("found none"), e.getMessage());
    }
}
