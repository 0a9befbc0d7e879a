package io.tarflow4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store of more than 2^31 bytes (what one Java array can hold), written and read back: 10,923
 * RGB images of 256x256 in three pixel files (2.1 GB in the temporary folder, deleted after; about
 * 30 s on the 2-core development machine).
 */
class LargeStoreTest {
    private static final int SIZE = 256;
    private static final int LEN = 3 * SIZE * SIZE;
    private static final int COUNT = (int) ((1L << 31) / LEN) + 1;

    @TempDir
    Path tmp;

    /** Image {@code i}: its index in the first 4 bytes, then a byte that depends on it. */
    private static byte[] image(int i, byte[] into) {
        Arrays.fill(into, (byte) (i * 31 + 7));
        ByteBuffer.wrap(into).putInt(i);
        into[LEN - 1] = (byte) i;
        return into;
    }

    @Test
    void aStoreOverTwoGigabytesReadsBackItsLastImage() throws IOException {
        assertTrue((long) COUNT * LEN > 1L << 31);
        byte[] buffer = new byte[LEN];
        try (StoreWriter w =
                StoreWriter.create(tmp, 3, SIZE, SIZE, List.of("even", "odd"), StoreWriter.DEFAULT_FILE_BYTES, false)) {
            for (int i = 0; i < COUNT; i++) {
                w.add(image(i, buffer), i % 2);
            }
            w.finish("generated", List.of());
        }
        try (ImageStore store = ImageStore.open(tmp)) {
            assertEquals(COUNT, store.size());
            assertEquals(3, store.manifest().pixelFiles().size());
            ImageDataset data = new ImageDataset(store);
            for (int i : new int[] {
                0, store.manifest().imagesPerFile() - 1, store.manifest().imagesPerFile(), COUNT - 1
            }) {
                assertArrayEquals(image(i, new byte[LEN]), data.imageBytes(i), "image " + i);
                assertEquals(i % 2, data.label(i));
            }
            float[] last = data.image(COUNT - 1);
            assertEquals((byte) (COUNT - 1) & 0xFF, Math.round((last[LEN - 1] + 1f) / 2f * 255f));
            store.verify(2);
        }
    }
}
