package io.tarflow4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImagesTest {

    @TempDir
    Path dir;

    @Test
    void pixelMappingClampsAndRounds() {
        assertEquals(0, ImageGrid.toPixel(-1f));
        assertEquals(255, ImageGrid.toPixel(1f));
        assertEquals(128, ImageGrid.toPixel(0f), "127.5 rounds up");
        assertEquals(64, ImageGrid.toPixel(-0.5f), "63.75 rounds to 64");
        assertEquals(255, ImageGrid.toPixel(3f));
        assertEquals(0, ImageGrid.toPixel(-7f));
        assertEquals(0, ImageGrid.toPixel(Float.NaN));
    }

    @Test
    void rgbGridRoundTripsThroughPng() throws IOException {
        int n = 3;
        int c = 3;
        int h = 4;
        int w = 5;
        float[] px = new float[n * c * h * w];
        for (int i = 0; i < px.length; i++) {
            px[i] = (i % 17) / 8f - 1f;
        }
        Path p = dir.resolve("grid.png");
        Png.writeGrid(p, px, n, c, h, w, ImageGrid.forCount(n, 2, 1));
        PixelImage img = Images.read(p);
        assertEquals(2 * (w + 1) + 1, img.width());
        assertEquals(2 * (h + 1) + 1, img.height());
        assertEquals(3, img.channels());
        for (int k = 0; k < n; k++) {
            int x0 = 1 + (k % 2) * (w + 1);
            int y0 = 1 + (k / 2) * (h + 1);
            for (int ch = 0; ch < c; ch++) {
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        float v = px[((k * c + ch) * h + y) * w + x];
                        assertEquals(
                                ImageGrid.toPixel(v), img.get(x0 + x, y0 + y, ch), "image " + k + " at " + x + "," + y);
                    }
                }
            }
        }
        assertEquals(0, img.get(0, 0, 0), "padding is black");
        assertEquals(0, img.get(img.width() - 1, img.height() - 1, 2), "unused cell is black");
        assertEquals(0, img.get(w + 1, 2, 1), "padding between cells");
    }

    @Test
    void grayImageRoundTripsExactly() throws IOException {
        float[] px = {-1f, -0.5f, 0f, 0.5f, 1f, 2f};
        Path p = dir.resolve("gray.png");
        Png.writeImage(p, px, 1, 2, 3);
        PixelImage img = Images.read(p);
        assertEquals(new PixelImage(3, 2, 1, new byte[] {0, 64, (byte) 128, (byte) 191, (byte) 255, (byte) 255}), img);
        assertArrayEquals(new byte[] {0, 64, (byte) 128, (byte) 191, (byte) 255, (byte) 255}, img.pixels());
    }

    @Test
    void readsJpeg() throws IOException {
        BufferedImage src = new BufferedImage(16, 8, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 16; x++) {
                src.setRGB(x, y, 0xC08040);
            }
        }
        Path p = dir.resolve("a.jpg");
        assertTrue(ImageIO.write(src, "jpeg", p.toFile()));
        PixelImage img = Images.read(p);
        assertEquals(16, img.width());
        assertEquals(8, img.height());
        assertEquals(3, img.channels());
        assertTrue(
                Math.abs(img.get(5, 5, 0) - 0xC0) <= 3 && Math.abs(img.get(5, 5, 2) - 0x40) <= 3,
                "lossy but close: " + img.get(5, 5, 0) + ", " + img.get(5, 5, 2));
    }

    @Test
    void nonImagesAndMissingFilesFailClearly() throws IOException {
        Path text = dir.resolve("notes.png");
        Files.writeString(text, "not an image at all");
        FormatException e = assertThrows(FormatException.class, () -> Images.read(text));
        assertTrue(
                e.getMessage().startsWith(text.toString()) && e.getMessage().contains("PNG or JPEG"), e.getMessage());

        Path bmp = dir.resolve("x.bmp");
        assertTrue(ImageIO.write(new BufferedImage(2, 2, BufferedImage.TYPE_INT_RGB), "bmp", bmp.toFile()));
        FormatException b = assertThrows(FormatException.class, () -> Images.read(bmp));
        assertTrue(b.getMessage().contains("found bmp"), b.getMessage());

        Path png = dir.resolve("ok.png");
        Png.writeImage(png, new float[48], 3, 4, 4);
        byte[] bytes = Files.readAllBytes(png);
        Path cut = dir.resolve("cut.png");
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        FormatException c = assertThrows(FormatException.class, () -> Images.read(cut));
        assertTrue(c.getMessage().contains("cannot decode"), c.getMessage());

        assertThrows(NoSuchFileException.class, () -> Images.read(dir.resolve("missing.png")));
    }

    @Test
    void unwritablePathsNameThePathAndKeepOldFiles() throws IOException {
        Path blocker = Files.writeString(dir.resolve("file"), "x");
        Path target = blocker.resolve("out.png");
        IOException e = assertThrows(IOException.class, () -> Png.writeImage(target, new float[3], 3, 1, 1));
        assertTrue(e.getMessage().contains(target.toString()), e.getMessage());

        Path good = dir.resolve("good.png");
        Png.writeImage(good, new float[] {1f}, 1, 1, 1);
        byte[] before = Files.readAllBytes(good);
        assertThrows(IllegalArgumentException.class, () -> Png.writeImage(good, new float[2], 1, 1, 1));
        assertArrayEquals(before, Files.readAllBytes(good));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(
                    List.of("file", "good.png"),
                    s.map(q -> q.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void gridValidatesItsArguments() {
        assertThrows(IllegalArgumentException.class, () -> new ImageGrid(0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new ImageGrid(1, 1, -1));
        ImageGrid g = new ImageGrid(1, 2, 0);
        assertThrows(IllegalArgumentException.class, () -> g.render(new float[12], 3, 1, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> g.render(new float[8], 1, 2, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> g.render(new float[7], 2, 1, 2, 2));
        assertEquals(new ImageGrid(3, 4, 2), ImageGrid.forCount(9, 4, 2));
    }
}
