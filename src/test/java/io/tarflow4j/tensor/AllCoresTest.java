package io.tarflow4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class AllCoresTest {
    @Test
    void raisesBothThreadCountsAndRestoresThem() {
        int torchBefore = Runtime.threads();
        int blasBefore = BlasThreads.get();
        try {
            Runtime.setThreads(1);
            BlasThreads.set(1);
            try (AllCores all = AllCores.borrow(3)) {
                assertEquals(3, Runtime.threads());
                assertEquals(3, BlasThreads.get());
            }
            assertEquals(1, Runtime.threads());
            assertEquals(1, BlasThreads.get());
            // never lowers: a process that already has more keeps them
            Runtime.setThreads(4);
            BlasThreads.set(4);
            try (AllCores all = AllCores.borrow(2)) {
                assertEquals(4, Runtime.threads());
                assertEquals(4, BlasThreads.get());
            }
            assertEquals(4, Runtime.threads());
        } finally {
            Runtime.setThreads(torchBefore);
            BlasThreads.set(blasBefore);
        }
    }
}
