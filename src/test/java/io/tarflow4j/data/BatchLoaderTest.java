package io.tarflow4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 20, unit = TimeUnit.SECONDS)
class BatchLoaderTest {
    private static final int N = 50;
    private static final int H = 2;
    private static final int W = 3;

    /** N images of 1x2x3 whose pixels are (index + x) so each image and its flip are recognisable. */
    private static ImageDataset dataset() {
        byte[] pixels = new byte[N * H * W];
        int[] labels = new int[N];
        for (int i = 0; i < N; i++) {
            for (int y = 0; y < H; y++) {
                for (int x = 0; x < W; x++) {
                    pixels[(i * H + y) * W + x] = (byte) (i * 4 + x);
                }
            }
            labels[i] = i % 5;
        }
        return new ImageDataset(pixels, labels, 1, H, W, List.of("a", "b", "c", "d", "e"), 0);
    }

    private static List<Batch> take(BatchLoader loader, int count) {
        List<Batch> batches = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            batches.add(loader.next());
        }
        return batches;
    }

    @Test
    void batchesHoldTheIndexedImagesAndLabels() {
        ImageDataset data = dataset();
        try (BatchLoader loader = BatchLoader.builder(data).batchSize(8).seed(3).build()) {
            assertEquals(6, loader.plan().stepsPerEpoch());
            Batch b = loader.next();
            assertEquals(8, b.n());
            assertEquals(0, b.step());
            assertEquals(0, b.epoch());
            assertEquals(8 * H * W, b.images().length);
            for (int j = 0; j < b.n(); j++) {
                int index = b.indices()[j];
                assertEquals(data.label(index), b.labels()[j]);
                assertArrayEquals(data.image(index), Arrays.copyOfRange(b.images(), j * H * W, (j + 1) * H * W));
            }
        }
    }

    @Test
    void epochsArePermutationsAndSeedsMatter() {
        ImageDataset data = dataset();
        try (BatchLoader a = BatchLoader.builder(data).batchSize(10).seed(7).build();
                BatchLoader same =
                        BatchLoader.builder(data).batchSize(10).seed(7).build();
                BatchLoader other =
                        BatchLoader.builder(data).batchSize(10).seed(8).build()) {
            List<Batch> first = take(a, 10);
            assertEquals(first, take(same, 10), "same seed, same batches");
            assertNotEquals(first, take(other, 10), "another seed, other batches");
            for (int epoch = 0; epoch < 2; epoch++) {
                Set<Integer> seen = new HashSet<>();
                for (Batch b : first.subList(epoch * 5, epoch * 5 + 5)) {
                    assertEquals(epoch, b.epoch());
                    Arrays.stream(b.indices()).forEach(seen::add);
                }
                assertEquals(N, seen.size(), "each epoch visits every image once");
            }
            assertFalse(Arrays.equals(first.get(0).indices(), first.get(5).indices()), "each epoch reshuffles");
        }
    }

    @Test
    void resumeEqualsUninterruptedRun() {
        ImageDataset data = dataset();
        try (BatchLoader full = BatchLoader.builder(data)
                        .batchSize(7)
                        .seed(11)
                        .flip(true)
                        .build();
                BatchLoader resumed = BatchLoader.builder(data)
                        .batchSize(7)
                        .seed(11)
                        .flip(true)
                        .startStep(16)
                        .build()) {
            List<Batch> uninterrupted = take(full, 30);
            assertEquals(uninterrupted.subList(16, 30), take(resumed, 14));
            assertEquals(2, uninterrupted.get(16).epoch(), "7 steps per epoch with drop-last");
            assertEquals(uninterrupted.get(29), full.plan().batchAt(29));
        }
        try (BatchLoader far = BatchLoader.builder(data)
                .batchSize(7)
                .seed(11)
                .startStep(7L * 1_000_000)
                .build()) {
            assertEquals(1_000_000, far.next().epoch(), "earlier epochs are skipped by arithmetic");
        }
    }

    @Test
    void flipsMirrorRowsDeterministically() {
        ImageDataset data = dataset();
        try (BatchLoader loader =
                BatchLoader.builder(data).batchSize(N).seed(5).flip(true).build()) {
            Batch b = loader.next();
            int flipped = 0;
            for (int j = 0; j < N; j++) {
                float[] original = data.image(b.indices()[j]);
                float[] got = Arrays.copyOfRange(b.images(), j * H * W, (j + 1) * H * W);
                if (!Arrays.equals(original, got)) {
                    flipped++;
                    for (int y = 0; y < H; y++) {
                        for (int x = 0; x < W; x++) {
                            assertEquals(original[y * W + W - 1 - x], got[y * W + x]);
                        }
                    }
                }
            }
            assertTrue(flipped > 10 && flipped < 40, "about half are flipped: " + flipped);
            assertEquals(b, loader.plan().batchAt(0));
        }
    }

    @Test
    void ranksSplitTheGlobalBatch() {
        ImageDataset data = dataset();
        try (BatchLoader single = BatchLoader.builder(data)
                        .batchSize(12)
                        .seed(2)
                        .flip(true)
                        .build();
                BatchLoader r0 = BatchLoader.builder(data)
                        .batchSize(6)
                        .seed(2)
                        .flip(true)
                        .shard(0, 2)
                        .build();
                BatchLoader r1 = BatchLoader.builder(data)
                        .batchSize(6)
                        .seed(2)
                        .flip(true)
                        .shard(1, 2)
                        .build()) {
            assertEquals(single.plan().stepsPerEpoch(), r0.plan().stepsPerEpoch());
            for (int step = 0; step < 10; step++) {
                Batch global = single.next();
                Batch a = r0.next();
                Batch b = r1.next();
                assertEquals(step, a.step());
                assertEquals(step, b.step());
                Set<Integer> indicesA = new HashSet<>();
                Arrays.stream(a.indices()).forEach(indicesA::add);
                assertTrue(Arrays.stream(b.indices()).noneMatch(indicesA::contains), "ranks are disjoint");
                int[] union = new int[12];
                System.arraycopy(a.indices(), 0, union, 0, 6);
                System.arraycopy(b.indices(), 0, union, 6, 6);
                assertArrayEquals(global.indices(), union);
                float[] images = new float[global.images().length];
                System.arraycopy(a.images(), 0, images, 0, a.images().length);
                System.arraycopy(b.images(), 0, images, a.images().length, b.images().length);
                assertArrayEquals(global.images(), images, "same images and flips as one process");
            }
        }
    }

    @Test
    void withoutDropLastTheLastBatchIsPartialAndSplitEvenly() {
        ImageDataset data = dataset();
        try (BatchLoader single =
                        BatchLoader.builder(data).batchSize(16).dropLast(false).build();
                BatchLoader r0 = BatchLoader.builder(data)
                        .batchSize(8)
                        .dropLast(false)
                        .shard(0, 2)
                        .build();
                BatchLoader r1 = BatchLoader.builder(data)
                        .batchSize(8)
                        .dropLast(false)
                        .shard(1, 2)
                        .build()) {
            assertEquals(4, single.plan().stepsPerEpoch());
            assertEquals(2, single.plan().batchAt(3).n());
            assertEquals(1, r0.plan().batchAt(3).n());
            assertEquals(1, r1.plan().batchAt(3).n());
            assertEquals(16, single.plan().batchAt(4).n(), "the next epoch starts full");
        }
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> BatchLoader.builder(data).batchSize(30).shard(0, 2).build());
        assertTrue(e.getMessage().contains("no full global batch of 60"), e.getMessage());
    }

    @Test
    void backgroundFailureIsRethrownOnNext() {
        RuntimeException boom = new RuntimeException("boom at step 2");
        try (BatchLoader loader = BatchLoader.builder(dataset())
                .batchSize(5)
                .map(b -> {
                    if (b.step() == 2) {
                        throw boom;
                    }
                    return b;
                })
                .build()) {
            assertEquals(0, loader.next().step());
            assertEquals(1, loader.next().step());
            IllegalStateException e = assertThrows(IllegalStateException.class, loader::next);
            assertSame(boom, e.getCause());
            assertSame(e, assertThrows(IllegalStateException.class, loader::next), "stays failed");
        }
    }

    @Test
    void closeStopsTheThread() throws InterruptedException {
        BatchLoader loader =
                BatchLoader.builder(dataset()).batchSize(5).prefetch(2).build();
        Thread thread = loader.thread();
        assertTrue(thread.isDaemon());
        loader.next();
        Thread.sleep(50);
        assertTrue(thread.isAlive(), "blocked on the full queue");
        loader.close();
        assertFalse(thread.isAlive());
        assertThrows(IllegalStateException.class, loader::next);
        loader.close();
    }

    @Test
    void sequentialBatchesCoverTheDatasetInOrder() {
        ImageDataset data = dataset();
        List<Batch> batches = new ArrayList<>();
        SequentialBatches.of(data, 16).forEach(batches::add);
        assertEquals(4, batches.size());
        assertEquals(List.of(16, 16, 16, 2), batches.stream().map(Batch::n).toList());
        assertArrayEquals(new int[] {48, 49}, batches.get(3).indices());
        assertEquals(3, batches.get(3).step());
        assertArrayEquals(data.image(49), Arrays.copyOfRange(batches.get(3).images(), H * W, 2 * H * W));
        assertEquals(4, data.label(49));
        assertEquals(4, batches.get(3).labels()[1]);

        ImageDataset unlabelled = ImageDataset.unlabelled(new byte[3 * 4], 1, 2, 2);
        Batch only = SequentialBatches.of(unlabelled, 10).iterator().next();
        assertEquals(3, only.n());
        assertNull(only.labels());
    }
}
