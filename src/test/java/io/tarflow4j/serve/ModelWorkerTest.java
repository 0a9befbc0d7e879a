package io.tarflow4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The bounded single-thread model worker. */
class ModelWorkerTest {

    @Test
    void runsJobsOneAtATimeAndRefusesBeyondTheQueue() throws Exception {
        ExecutorService callers = Executors.newFixedThreadPool(4);
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<String> threads = new ArrayList<>();
        try (ModelWorker worker = new ModelWorker(2)) {
            Future<String> first = callers.submit(() -> worker.run(() -> {
                running.countDown();
                release.await();
                return Thread.currentThread().getName();
            }));
            assertTrue(running.await(10, TimeUnit.SECONDS));
            List<Future<String>> queued = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                queued.add(callers.submit(
                        () -> worker.run(() -> Thread.currentThread().getName())));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (worker.pending() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(3, worker.pending(), "one running, two waiting");
            assertThrows(RejectedExecutionException.class, () -> worker.run(() -> "too many"));
            release.countDown();
            threads.add(first.get(10, TimeUnit.SECONDS));
            for (Future<String> f : queued) {
                threads.add(f.get(10, TimeUnit.SECONDS));
            }
        } finally {
            release.countDown();
            callers.shutdownNow();
        }
        assertEquals(List.of("tarflow-model", "tarflow-model", "tarflow-model"), threads);
    }

    @Test
    void aFailingJobReportsItsErrorAndTheWorkerGoesOn() throws Exception {
        try (ModelWorker worker = new ModelWorker(1)) {
            ExecutionException e = assertThrows(
                    ExecutionException.class,
                    () -> worker.run(() -> {
                        throw new IllegalStateException("boom");
                    }));
            assertEquals("boom", e.getCause().getMessage());
            assertEquals(42, worker.run(() -> 42));
        }
    }

    @Test
    void shutdownFinishesTheAcceptedJobsAndRefusesNewOnes() throws Exception {
        ModelWorker worker = new ModelWorker(1);
        ExecutorService caller = Executors.newSingleThreadExecutor();
        CountDownLatch running = new CountDownLatch(1);
        try {
            Future<Integer> job = caller.submit(() -> worker.run(() -> {
                running.countDown();
                Thread.sleep(200);
                return 7;
            }));
            assertTrue(running.await(10, TimeUnit.SECONDS));
            assertTrue(worker.shutdown(10));
            assertEquals(7, job.get(1, TimeUnit.SECONDS));
            assertThrows(RejectedExecutionException.class, () -> worker.run(() -> 1));
        } finally {
            caller.shutdownNow();
            worker.close();
        }
    }

    @Test
    void aNegativeQueueIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ModelWorker(-1));
    }
}
