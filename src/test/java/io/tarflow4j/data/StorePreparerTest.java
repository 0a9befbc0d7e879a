package io.tarflow4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StorePreparerTest {
    private static final StorePreparer.Progress QUIET = new StorePreparer.Progress() {
        @Override
        public void start(long total) {}

        @Override
        public void done(long done) {}
    };

    @TempDir
    Path tmp;

    private final List<String> notes = new ArrayList<>();

    private StoreManifest prepare(List<Path> sources, Path out, StorePreparer.Options o) throws IOException {
        return StorePreparer.prepare(sources, out, o, QUIET, notes::add);
    }

    private static ImageDataset open(Path store) throws IOException {
        return new ImageDataset(ImageStore.open(store));
    }

    // ---- NumPy files written here, byte for byte as numpy.save writes them ----

    static byte[] npy(String dtype, long[] shape, byte[] data) {
        StringBuilder dims = new StringBuilder();
        for (long d : shape) {
            dims.append(d).append(", ");
        }
        String dict = "{'descr': '" + dtype + "', 'fortran_order': False, 'shape': ("
                + (shape.length == 1 ? dims.toString().strip() : dims.substring(0, dims.length() - 2)) + "), }";
        int pad = 64 - (10 + dict.length() + 1) % 64;
        String header = dict + " ".repeat(pad % 64) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
        b.put(header.getBytes(StandardCharsets.ISO_8859_1)).put(data);
        return b.array();
    }

    static byte[] int64s(int[] values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            b.putLong(v);
        }
        return b.array();
    }

    static void npz(Path file, boolean compressed, String[] names, byte[][] arrays) throws IOException {
        try (OutputStream f = Files.newOutputStream(file);
                ZipOutputStream zip = new ZipOutputStream(f)) {
            for (int i = 0; i < names.length; i++) {
                ZipEntry e = new ZipEntry(names[i] + ".npy");
                if (!compressed) {
                    CRC32 crc = new CRC32();
                    crc.update(arrays[i]);
                    e.setMethod(ZipEntry.STORED);
                    e.setSize(arrays[i].length);
                    e.setCrc(crc.getValue());
                }
                zip.putNextEntry(e);
                zip.write(arrays[i]);
                zip.closeEntry();
            }
        }
    }

    /** {@code n} random CHW images of 3x{@code h}x{@code w}. */
    private static byte[] chwImages(int n, int h, int w, long seed) {
        byte[] b = new byte[n * 3 * h * w];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] toNhwc(byte[] chw, int n, int h, int w) {
        byte[] out = new byte[chw.length];
        int plane = h * w;
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < 3; c++) {
                for (int p = 0; p < plane; p++) {
                    out[i * 3 * plane + p * 3 + c] = chw[i * 3 * plane + c * plane + p];
                }
            }
        }
        return out;
    }

    @Test
    void nhwcNchwAndFlatArraysMakeTheSameStore() throws IOException {
        int n = 7;
        byte[] chw = chwImages(n, 5, 5, 1);
        Path nchw = tmp.resolve("nchw.npy");
        Files.write(nchw, npy("|u1", new long[] {n, 3, 5, 5}, chw));
        Path nhwc = tmp.resolve("nhwc.npy");
        Files.write(nhwc, npy("|u1", new long[] {n, 5, 5, 3}, toNhwc(chw, n, 5, 5)));
        Path flat = tmp.resolve("flat.npy");
        Files.write(flat, npy("|u1", new long[] {n, 75}, chw));
        StorePreparer.Options o = StorePreparer.Options.defaults();
        for (Path source : List.of(nchw, nhwc, flat)) {
            Path out = tmp.resolve("store-" + source.getFileName());
            StoreManifest m = prepare(List.of(source), out, o);
            assertEquals(n, m.images());
            assertEquals(3, m.channels());
            ImageDataset d = open(out);
            assertTrue(!d.hasLabels(), source + " has no labels");
            for (int i = 0; i < n; i++) {
                assertArrayEquals(
                        java.util.Arrays.copyOfRange(chw, i * 75, (i + 1) * 75),
                        d.imageBytes(i),
                        source + " image " + i);
            }
        }
    }

    @Test
    void imagenetNpzLabelsOneToThousandBecomeClassesZeroTo999NamedByTheirSourceValue() throws IOException {
        int n = 6;
        byte[] chw = chwImages(n, 4, 4, 2);
        int[] labels = {1, 1000, 17, 2, 1000, 999};
        Path a = tmp.resolve("train_data_batch_1.npz");
        npz(a, false, new String[] {"data", "labels", "mean"}, new byte[][] {
            npy("|u1", new long[] {3, 48}, java.util.Arrays.copyOf(chw, 3 * 48)),
            npy("<i8", new long[] {3}, int64s(java.util.Arrays.copyOf(labels, 3))),
            npy("<f8", new long[] {1}, new byte[8])
        });
        Path b = tmp.resolve("train_data_batch_2.npz");
        npz(b, true, new String[] {"data", "labels"}, new byte[][] {
            npy("|u1", new long[] {3, 48}, java.util.Arrays.copyOfRange(chw, 3 * 48, 6 * 48)),
            npy("<i8", new long[] {3}, int64s(java.util.Arrays.copyOfRange(labels, 3, 6)))
        });
        Path out = tmp.resolve("imagenet");
        StoreManifest m = prepare(List.of(a, b), out, StorePreparer.Options.defaults());
        assertEquals(1000, m.classNames().size());
        assertEquals("1", m.classNames().get(0));
        assertEquals("1000", m.classNames().get(999));
        ImageDataset d = open(out);
        assertArrayEquals(new int[] {0, 999, 16, 1, 999, 998}, d.labels());
        assertArrayEquals(
                java.util.Arrays.copyOfRange(chw, 5 * 48, 6 * 48), d.imageBytes(5), "last image, second file");
        assertTrue(notes.getFirst().contains("labels 1..1000 -> classes 0..999 (label base 1"), notes.toString());
        // the base can be given: 0 keeps the values, so classes run 0..1000
        StoreManifest zero = prepare(
                List.of(a, b),
                tmp.resolve("zero"),
                new StorePreparer.Options(0, 0, StorePreparer.Layout.AUTO, 0, null, 1, 1 << 20, false));
        assertEquals(1001, zero.classNames().size());
    }

    @Test
    void idxImagesWithTheirLabelsFileRoundTrip() throws IOException {
        int n = 5;
        byte[] pixels = new byte[n * 6 * 7];
        new Random(3).nextBytes(pixels);
        Path images = tmp.resolve("t-images-idx3-ubyte");
        ByteBuffer h = ByteBuffer.allocate(16 + pixels.length)
                .putInt(IdxReader.IMAGES_MAGIC)
                .putInt(n)
                .putInt(6)
                .putInt(7);
        Files.write(images, h.put(pixels).array());
        Files.write(
                tmp.resolve("t-labels-idx1-ubyte"),
                ByteBuffer.allocate(8 + n)
                        .putInt(IdxReader.LABELS_MAGIC)
                        .putInt(n)
                        .put(new byte[] {3, 0, 1, 3, 2})
                        .array());
        Path out = tmp.resolve("idx");
        prepare(List.of(images), out, StorePreparer.Options.defaults());
        ImageDataset inMemory =
                Datasets.open(images.toString(), DataOptions.defaults().withImageSize(6));
        ImageDataset stored = open(out);
        assertEquals(6, stored.height(), "7 wide, 6 high: shorter side, centre crop");
        assertArrayEquals(inMemory.labels(), stored.labels());
        for (int i = 0; i < n; i++) {
            assertArrayEquals(inMemory.imageBytes(i), stored.imageBytes(i), "image " + i);
        }
    }

    @Test
    void aFolderIsDecodedOnSeveralThreadsLikeTheInMemoryReaderAndBadFilesAreListed() throws IOException {
        Path dir = tmp.resolve("photos");
        Random random = new Random(4);
        for (String cls : List.of("b-dogs", "a-cats")) {
            for (int i = 0; i < 13; i++) {
                BufferedImage image = new BufferedImage(10 + i % 3, 8, BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < image.getHeight(); y++) {
                    for (int x = 0; x < image.getWidth(); x++) {
                        image.setRGB(x, y, random.nextInt());
                    }
                }
                Files.createDirectories(dir.resolve(cls));
                assertTrue(ImageIO.write(
                        image,
                        "png",
                        dir.resolve(cls).resolve(String.format("%02d.png", i)).toFile()));
            }
        }
        Files.writeString(dir.resolve("a-cats/05b.png"), "not a png");
        Path out = tmp.resolve("folder-store");
        StoreManifest m = prepare(
                List.of(dir),
                out,
                new StorePreparer.Options(8, 0, StorePreparer.Layout.AUTO, -1, null, 3, 5L * 3 * 64, false));
        assertEquals(1, m.skipped().size());
        assertTrue(
                m.skipped().getFirst().startsWith("a-cats/05b.png"), m.skipped().toString());
        assertEquals(6, m.pixelFiles().size(), "26 images at 5 per file");
        ImageDataset inMemory = ImageFolderReader.read(
                dir, DataOptions.defaults().withImageSize(8).withSkipBad(true));
        ImageDataset stored = open(out);
        assertEquals(List.of("a-cats", "b-dogs"), stored.classNames());
        assertArrayEquals(inMemory.labels(), stored.labels());
        for (int i = 0; i < inMemory.size(); i++) {
            assertArrayEquals(inMemory.imageBytes(i), stored.imageBytes(i), "image " + i);
        }
    }

    @Test
    void badArraysAreRefusedNamingTheFileAndWhatWasExpected() throws IOException {
        Path floats = tmp.resolve("floats.npy");
        Files.write(floats, npy("<f4", new long[] {2, 4, 4, 3}, new byte[2 * 48 * 4]));
        DataException f = assertThrows(
                DataException.class,
                () -> prepare(List.of(floats), tmp.resolve("a"), StorePreparer.Options.defaults()));
        assertTrue(
                f.getMessage().startsWith(floats.toString()) && f.getMessage().contains("expected uint8"),
                f.getMessage());

        Path odd = tmp.resolve("odd.npy");
        Files.write(odd, npy("|u1", new long[] {2, 4, 4, 5}, new byte[2 * 80]));
        assertTrue(assertThrows(
                        DataException.class,
                        () -> prepare(List.of(odd), tmp.resolve("b"), StorePreparer.Options.defaults()))
                .getMessage()
                .contains("no channel axis of 1 or 3"));

        Path shortData = tmp.resolve("short.npy");
        byte[] full = npy("|u1", new long[] {3, 2, 2}, new byte[12]);
        Files.write(shortData, java.util.Arrays.copyOf(full, full.length - 5));
        DataException t = assertThrows(
                DataException.class,
                () -> prepare(List.of(shortData), tmp.resolve("c"), StorePreparer.Options.defaults()));
        assertTrue(t.getMessage().contains("truncated") && t.getMessage().contains("image 1"), t.getMessage());
        assertTrue(
                assertThrows(DataException.class, () -> ImageStore.open(tmp.resolve("c")))
                        .getMessage()
                        .contains("missing"),
                "a failed prepare leaves no store that opens");

        Path images = tmp.resolve("imgs.npy");
        Files.write(images, npy("|u1", new long[] {3, 2, 2}, new byte[12]));
        Path labels = tmp.resolve("labels.npy");
        Files.write(labels, npy("<i8", new long[] {2}, int64s(new int[] {0, 1})));
        DataException count = assertThrows(
                DataException.class,
                () -> prepare(
                        List.of(images),
                        tmp.resolve("d"),
                        new StorePreparer.Options(0, 0, StorePreparer.Layout.AUTO, -1, labels, 1, 1 << 20, false)));
        assertTrue(
                count.getMessage().startsWith(labels.toString())
                        && count.getMessage().contains("2 labels for 3 images"),
                count.getMessage());

        Path zip = tmp.resolve("keys.npz");
        npz(zip, false, new String[] {"pictures"}, new byte[][] {npy("|u1", new long[] {1, 2, 2}, new byte[4])});
        DataException keys = assertThrows(
                DataException.class, () -> prepare(List.of(zip), tmp.resolve("e"), StorePreparer.Options.defaults()));
        assertTrue(keys.getMessage().contains("pictures.npy"), keys.getMessage());
    }

    @Test
    void byteHelpersWriteWhatNumpyWrites() {
        byte[] header = npy("|u1", new long[] {2, 3}, new byte[0]);
        assertEquals(0, header.length % 64, "numpy pads the header to 64 bytes");
        String text = new String(header, 10, header.length - 10, StandardCharsets.ISO_8859_1);
        assertTrue(text.startsWith("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }"), text);
    }
}
