package io.tarflow4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageStoreTest {
    private static final List<String> CLASSES = List.of("cat", "dog", "fox");
    private static final int C = 3;
    private static final int S = 4;
    private static final int LEN = C * S * S;

    @TempDir
    Path tmp;

    /** An in-memory dataset of {@code n} random images with labels. */
    static ImageDataset randomDataset(int n, long seed) {
        Random random = new Random(seed);
        byte[] pixels = new byte[n * LEN];
        random.nextBytes(pixels);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = random.nextInt(CLASSES.size());
        }
        return new ImageDataset(pixels, labels, C, S, S, CLASSES, 0);
    }

    /** Writes a dataset as a store with {@code perFile} images per pixel file. */
    static Path write(ImageDataset data, Path dir, int perFile) throws IOException {
        try (StoreWriter w = StoreWriter.create(
                dir,
                data.channels(),
                data.height(),
                data.width(),
                data.hasLabels() ? data.classNames() : null,
                (long) perFile * data.imageLength(),
                false)) {
            for (int i = 0; i < data.size(); i++) {
                w.add(data.imageBytes(i), data.hasLabels() ? data.label(i) : 0);
            }
            w.finish("test", List.of());
        }
        return dir;
    }

    @Test
    void imagesLabelsAndClassesReadBackAcrossFiles() throws IOException {
        ImageDataset memory = randomDataset(10, 1);
        Path dir = write(memory, tmp.resolve("s"), 3);
        try (ImageStore store = ImageStore.open(dir)) {
            assertEquals(4, store.manifest().pixelFiles().size(), "10 images at 3 per file");
            assertEquals(1, store.manifest().pixelFiles().get(3).images());
            ImageDataset stored = new ImageDataset(store);
            assertEquals(CLASSES, stored.classNames());
            assertArrayEquals(memory.labels(), stored.labels());
            float[] a = new float[LEN];
            float[] b = new float[LEN];
            for (int i = 0; i < 10; i++) {
                assertArrayEquals(memory.imageBytes(i), stored.imageBytes(i), "image " + i);
                memory.copyImage(i, a, 0, true);
                stored.copyImage(i, b, 0, true);
                assertArrayEquals(a, b, "flipped image " + i);
            }
        }
        ImageDataset viaDatasets = Datasets.open(
                dir.toString(), DataOptions.defaults().withImageSize(S).withChannels(C));
        assertEquals(10, viaDatasets.size());
        DataException shape = assertThrows(
                DataException.class,
                () -> Datasets.open(dir.toString(), DataOptions.defaults().withImageSize(8)));
        assertTrue(
                shape.getMessage().contains(dir.toString())
                        && shape.getMessage().contains("--image-size 8"),
                shape.getMessage());
    }

    @Test
    void unlabelledStoresStayUnlabelled() throws IOException {
        ImageDataset memory = ImageDataset.unlabelled(new byte[5 * LEN], C, S, S);
        try (ImageStore store = ImageStore.open(write(memory, tmp.resolve("u"), 2))) {
            ImageDataset stored = new ImageDataset(store);
            assertFalse(stored.hasLabels());
            assertEquals(5, stored.size());
        }
    }

    @Test
    void batchesFromAStoreEqualBatchesFromMemoryAndResumeExactly() throws IOException {
        ImageDataset memory = randomDataset(37, 2);
        try (ImageStore store = ImageStore.open(write(memory, tmp.resolve("b"), 5))) {
            ImageDataset stored = new ImageDataset(store);
            List<Batch> uninterrupted = new ArrayList<>();
            try (BatchLoader a = BatchLoader.builder(memory)
                            .batchSize(4)
                            .seed(7)
                            .flip(true)
                            .build();
                    BatchLoader b = BatchLoader.builder(stored)
                            .batchSize(4)
                            .seed(7)
                            .flip(true)
                            .build()) {
                for (int k = 0; k < 20; k++) { // over two epochs of 9 steps
                    Batch x = a.next();
                    assertEquals(x, b.next(), "step " + k);
                    uninterrupted.add(x);
                }
            }
            try (BatchLoader resumed = BatchLoader.builder(stored)
                    .batchSize(4)
                    .seed(7)
                    .flip(true)
                    .startStep(11)
                    .build()) {
                for (int k = 11; k < 20; k++) {
                    assertEquals(uninterrupted.get(k), resumed.next(), "resumed at 11, step " + k);
                }
            }
        }
    }

    @Test
    void twoRanksReadDisjointPartsWhoseUnionIsTheGlobalBatch() throws IOException {
        ImageDataset memory = randomDataset(40, 3);
        try (ImageStore store = ImageStore.open(write(memory, tmp.resolve("r"), 6))) {
            ImageDataset stored = new ImageDataset(store);
            try (BatchLoader one = BatchLoader.builder(stored)
                            .batchSize(8)
                            .seed(5)
                            .flip(true)
                            .build();
                    BatchLoader r0 = BatchLoader.builder(stored)
                            .batchSize(4)
                            .seed(5)
                            .flip(true)
                            .shard(0, 2)
                            .build();
                    BatchLoader r1 = BatchLoader.builder(stored)
                            .batchSize(4)
                            .seed(5)
                            .flip(true)
                            .shard(1, 2)
                            .build()) {
                for (int k = 0; k < 7; k++) {
                    Batch global = one.next();
                    Batch a = r0.next();
                    Batch b = r1.next();
                    Set<Integer> seen = new HashSet<>();
                    for (int i : a.indices()) {
                        seen.add(i);
                    }
                    for (int i : b.indices()) {
                        assertTrue(seen.add(i), "step " + k + ": image " + i + " on both ranks");
                    }
                    int[] union = new int[8];
                    System.arraycopy(a.indices(), 0, union, 0, 4);
                    System.arraycopy(b.indices(), 0, union, 4, 4);
                    assertArrayEquals(global.indices(), union, "step " + k);
                    float[] images = new float[global.images().length];
                    System.arraycopy(a.images(), 0, images, 0, a.images().length);
                    System.arraycopy(b.images(), 0, images, a.images().length, b.images().length);
                    assertArrayEquals(global.images(), images, "step " + k + ": same pixels and flips");
                }
            }
        }
    }

    @Test
    void aModifiedPixelFileFailsOnReadAndVerifyNamingIt() throws IOException {
        Path dir = write(randomDataset(10, 4), tmp.resolve("m"), 4);
        Path file = dir.resolve("pixels-00001.u8");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.READ)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            ch.read(one, LEN + 5);
            one.put(0, (byte) (one.get(0) ^ 1));
            ch.write(one.rewind(), LEN + 5);
        }
        try (ImageStore store = ImageStore.open(dir)) {
            store.read(4, new byte[LEN], 0); // untouched image of the same file
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> store.read(5, new byte[LEN], 0));
            assertTrue(
                    e.getCause().getMessage().startsWith(file.toString()),
                    e.getCause().getMessage());
            assertTrue(
                    e.getCause().getMessage().contains("checksum mismatch in image 5"),
                    e.getCause().getMessage());
            DataException v = assertThrows(DataException.class, () -> store.verify(2));
            assertEquals(file, v.file());
            assertTrue(v.getMessage().contains("checksum mismatch"), v.getMessage());
        }
    }

    @Test
    void truncatedAndMissingFilesFailOnOpenNamingThem() throws IOException {
        Path dir = write(randomDataset(10, 5), tmp.resolve("t"), 4);
        Path last = dir.resolve("pixels-00002.u8");
        try (FileChannel ch = FileChannel.open(last, StandardOpenOption.WRITE)) {
            ch.truncate(LEN);
        }
        DataException truncated = assertThrows(DataException.class, () -> ImageStore.open(dir));
        assertEquals(last, truncated.file());
        assertTrue(truncated.getMessage().contains("truncated"), truncated.getMessage());
        Files.delete(last);
        DataException missing =
                assertThrows(DataException.class, () -> Datasets.open(dir.toString(), DataOptions.defaults()));
        assertEquals(last, missing.file());
        assertTrue(missing.getMessage().contains("missing"), missing.getMessage());
    }

    @Test
    void anotherManifestVersionOrFormatIsRefusedNamingTheManifest() throws IOException {
        Path dir = write(randomDataset(3, 6), tmp.resolve("v"), 4);
        Path manifest = dir.resolve(StoreManifest.FILE);
        String text = Files.readString(manifest);
        Files.writeString(manifest, text.replace("\"version\" : 1", "\"version\" : 2"));
        DataException version = assertThrows(DataException.class, () -> ImageStore.open(dir));
        assertEquals(manifest, version.file());
        assertTrue(version.getMessage().contains("version 2"), version.getMessage());
        Files.writeString(manifest, text.replace(StoreManifest.FORMAT, "something-else"));
        assertTrue(assertThrows(DataException.class, () -> ImageStore.open(dir))
                .getMessage()
                .contains("something-else"));
        Files.writeString(manifest, "{ not json");
        assertTrue(assertThrows(DataException.class, () -> ImageStore.open(dir))
                .getMessage()
                .contains("not valid JSON"));
    }

    @Test
    void aLabelOutOfRangeOrAModifiedIndexIsRefusedNamingTheIndex() throws IOException {
        Path dir = write(randomDataset(6, 7), tmp.resolve("l"), 4);
        Path index = dir.resolve(StoreWriter.INDEX);
        byte[] bytes = Files.readAllBytes(index);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(2 * ImageStore.INDEX_ENTRY_BYTES, 3);
        Files.write(index, bytes);
        DataException crc = assertThrows(DataException.class, () -> ImageStore.open(dir));
        assertEquals(index, crc.file());
        assertTrue(crc.getMessage().contains("checksum mismatch"), crc.getMessage());
        // the same label with the manifest's checksum updated: the label itself is refused
        CRC32C sum = new CRC32C();
        sum.update(bytes);
        Path manifest = dir.resolve(StoreManifest.FILE);
        String text = Files.readString(manifest);
        String old = text.substring(text.indexOf("\"crc32c\"", text.indexOf("\"index_file\"")));
        old = old.substring(0, old.indexOf('\n'));
        Files.writeString(manifest, text.replace(old, String.format("\"crc32c\" : \"%08x\"", sum.getValue())));
        DataException label = assertThrows(DataException.class, () -> ImageStore.open(dir));
        assertEquals(index, label.file());
        assertTrue(label.getMessage().contains("label 3 of image 2 is outside [0, 3)"), label.getMessage());
    }

    @Test
    void anInterruptedWriteLeavesNoStoreThatLoadsAndWritingAgainSucceeds() throws IOException {
        ImageDataset memory = randomDataset(9, 8);
        Path dir = tmp.resolve("i");
        // a writer abandoned mid-way, as when the process is killed: files but no manifest
        StoreWriter abandoned = StoreWriter.create(dir, C, S, S, CLASSES, 2L * LEN, false);
        for (int i = 0; i < 5; i++) {
            abandoned.add(memory.imageBytes(i), memory.label(i));
        }
        assertTrue(Files.exists(dir.resolve("pixels-00001.u8")), "finished pixel files are on disk");
        DataException e =
                assertThrows(DataException.class, () -> Datasets.open(dir.toString(), DataOptions.defaults()));
        assertEquals(dir.resolve(StoreManifest.FILE), e.file());
        assertTrue(e.getMessage().contains("unfinished image store"), e.getMessage());
        // rerunning starts over in the same folder
        write(memory, dir, 2);
        try (ImageStore store = ImageStore.open(dir)) {
            assertEquals(9, store.size());
            assertArrayEquals(memory.imageBytes(8), new ImageDataset(store).imageBytes(8));
        }
        try (FileChannel ch = FileChannel.open(dir.resolve("index.bin"))) {
            assertEquals(9L * ImageStore.INDEX_ENTRY_BYTES, ch.size());
        }
        abandoned.close();
    }

    @Test
    void aFinishedStoreIsReplacedOnlyWhenAskedAndForeignFilesAreNeverDeleted() throws IOException {
        Path dir = write(randomDataset(3, 9), tmp.resolve("o"), 4);
        DataException exists =
                assertThrows(DataException.class, () -> StoreWriter.create(dir, C, S, S, CLASSES, 1 << 20, false));
        assertTrue(exists.getMessage().contains("--overwrite"), exists.getMessage());
        try (StoreWriter w = StoreWriter.create(dir, C, S, S, CLASSES, 1 << 20, true)) {
            assertFalse(Files.exists(dir.resolve(StoreManifest.FILE)), "the old manifest goes first");
            w.add(new byte[LEN], 1);
            w.finish("again", List.of());
        }
        try (ImageStore store = ImageStore.open(dir)) {
            assertEquals(1, store.size());
        }
        Path other = tmp.resolve("other");
        Files.createDirectories(other);
        Files.writeString(other.resolve("holiday.jpg"), "precious", StandardCharsets.UTF_8);
        DataException foreign =
                assertThrows(DataException.class, () -> StoreWriter.create(other, C, S, S, null, 1 << 20, true));
        assertTrue(foreign.getMessage().contains("holiday.jpg"), foreign.getMessage());
        assertTrue(Files.exists(other.resolve("holiday.jpg")));
    }

    @Test
    void aReaderInterruptedMidReadReopensTheFileForTheNextRead() throws IOException {
        ImageDataset memory = randomDataset(4, 10);
        try (ImageStore store = ImageStore.open(write(memory, tmp.resolve("x"), 4))) {
            Thread.currentThread().interrupt();
            assertThrows(UncheckedIOException.class, () -> store.read(0, new byte[LEN], 0));
            assertTrue(Thread.interrupted(), "the interrupt is kept (and cleared here)");
            byte[] image = new byte[LEN];
            store.read(1, image, 0);
            assertArrayEquals(memory.imageBytes(1), image);
        }
    }
}
