package io.tarflow4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** OpenBLAS's thread count: read from the environment, limited for a region, restored. */
class BlasThreadsTest {

    @Test
    void initialCountFollowsTheEnvironmentVariable() {
        assertEquals(3, BlasThreads.initialThreads("3", 2));
        assertEquals(2, BlasThreads.initialThreads(null, 2), "unset: one per core");
        assertEquals(2, BlasThreads.initialThreads("lots", 2), "unreadable: OpenBLAS's default");
        assertEquals(2, BlasThreads.initialThreads("0", 2));
    }

    @Test
    void limitRestoresTheCountAndNeverRaisesIt() {
        int start = BlasThreads.get();
        try {
            BlasThreads.set(2);
            try (BlasThreads one = BlasThreads.limit(1)) {
                assertEquals(1, BlasThreads.get());
                try (BlasThreads more = BlasThreads.limit(4)) {
                    assertEquals(1, BlasThreads.get(), "a limit above the current count changes nothing");
                }
                assertEquals(1, BlasThreads.get());
            }
            assertEquals(2, BlasThreads.get());
            assertThrows(IllegalArgumentException.class, () -> BlasThreads.set(0));
        } finally {
            BlasThreads.set(start);
        }
    }
}
