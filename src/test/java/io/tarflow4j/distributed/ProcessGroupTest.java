package io.tarflow4j.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Two ranks as two threads of this JVM, on a real TCPStore and Gloo group over 127.0.0.1. */
@Timeout(60)
class ProcessGroupTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(3);

    /** Runs {@code body} as rank 0 and rank 1 of a fresh group; returns both results. */
    private static <T> List<T> onTwoRanks(long bucketBytes, Function<Distributed, T> body) throws Exception {
        int port = LocalLauncher.freePort();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<T>> results = new ArrayList<>();
            for (int rank = 0; rank < 2; rank++) {
                DistributedOptions o = new DistributedOptions(2, rank, "127.0.0.1", port, CommBackend.GLOO, TIMEOUT);
                results.add(pool.submit(() -> {
                    try (Distributed d = Distributed.init(o, new Device("cpu"), bucketBytes);
                            NativeScope scope = NativeScope.open()) {
                        return body.apply(d);
                    }
                }));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : results) {
                out.add(f.get(30, TimeUnit.SECONDS));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Tensors of mixed shapes, dtypes and layouts whose values depend on the rank. */
    private static List<Tensor> tensors(int rank) {
        List<Tensor> ts = new ArrayList<>();
        long[][] shapes = {{3}, {2, 5}, {7, 1, 3}, {1}, {40}};
        for (int i = 0; i < shapes.length; i++) {
            int n = (int) java.util.Arrays.stream(shapes[i]).reduce(1, (a, b) -> a * b);
            float[] v = new float[n];
            for (int j = 0; j < n; j++) {
                v[j] = (rank + 1) * (i + 1) * 10f + j;
            }
            Tensor t = Tensors.fromFloats(v, shapes[i]);
            ts.add(i == 3 ? t.to(ScalarType.Double) : t);
        }
        ts.set(1, ts.get(1).t()); // non-contiguous (5, 2) view
        return ts;
    }

    @Test
    void allReduceMeanAveragesEveryTensorAcrossManyBuckets() throws Exception {
        for (long bucketBytes : new long[] {16, 100, Distributed.DEFAULT_BUCKET_BYTES}) {
            List<List<float[]>> results = onTwoRanks(bucketBytes, d -> {
                List<Tensor> ts = tensors(d.rank());
                d.allReduceMean(ts);
                d.allReduceMean(ts); // the cached layout again: a mean of equal values is unchanged
                return ts.stream().map(Tensors::toFloats).toList();
            });
            List<Tensor> a = tensors(0);
            List<Tensor> b = tensors(1);
            for (int i = 0; i < a.size(); i++) {
                float[] expected = Tensors.toFloats(a.get(i).add(b.get(i)).div(new org.bytedeco.pytorch.Scalar(2.0)));
                for (List<float[]> rank : results) {
                    org.junit.jupiter.api.Assertions.assertArrayEquals(
                            expected, rank.get(i), 1e-5f, "tensor " + i + " with buckets of " + bucketBytes + " bytes");
                }
            }
        }
    }

    @Test
    void broadcastCopiesRootValuesAndScalarsAverage() throws Exception {
        List<double[]> results = onTwoRanks(64, d -> {
            List<Tensor> ts = tensors(d.rank());
            d.broadcast(ts, 1);
            Tensor single = Tensors.fromFloats(new float[] {d.rank() * 4f, 1f}, 2);
            d.allReduceMean(single);
            double mean = d.allReduceMean(d.rank() == 0 ? 1.25 : 3.5);
            d.barrier();
            List<Double> all = new ArrayList<>();
            for (Tensor t : ts) {
                for (float f : Tensors.toFloats(t)) {
                    all.add((double) f);
                }
            }
            for (float f : Tensors.toFloats(single)) {
                all.add((double) f);
            }
            all.add(mean);
            return all.stream().mapToDouble(Double::doubleValue).toArray();
        });
        List<Double> expected = new ArrayList<>();
        for (Tensor t : tensors(1)) {
            for (float f : Tensors.toFloats(t)) {
                expected.add((double) f);
            }
        }
        expected.addAll(List.of(2.0, 1.0, 2.375));
        double[] e = expected.stream().mapToDouble(Double::doubleValue).toArray();
        org.junit.jupiter.api.Assertions.assertArrayEquals(e, results.get(0), 1e-6);
        org.junit.jupiter.api.Assertions.assertArrayEquals(e, results.get(1), 1e-6);
    }

    @Test
    void silentPeerTimesOutInsteadOfHanging() throws Exception {
        long[] elapsed = new long[1];
        List<String> results = onTwoRanks(64, d -> {
            if (d.rank() == 1) {
                try {
                    Thread.sleep(TIMEOUT.toMillis() + 2000); // never joins the all-reduce
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return "";
            }
            long t0 = System.nanoTime();
            DistributedException e = assertThrows(
                    DistributedException.class, () -> d.allReduceMean(Tensors.fromFloats(new float[] {1f}, 1)));
            elapsed[0] = (System.nanoTime() - t0) / 1_000_000;
            return e.getMessage();
        });
        String message = results.get(0);
        assertTrue(message.startsWith("rank 0: all-reduce"), message);
        assertTrue(
                elapsed[0] >= TIMEOUT.toMillis() - 200 && elapsed[0] < TIMEOUT.toMillis() + 5000,
                "timed out after " + elapsed[0] + " ms");
    }

    @Test
    void portInUseIsNamed() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            DistributedOptions o = new DistributedOptions(2, 0, "127.0.0.1", port, CommBackend.GLOO, TIMEOUT);
            DistributedException e = assertThrows(DistributedException.class, () -> Distributed.init(o));
            assertTrue(e.getMessage().contains("port " + port + " is already in use"), e.getMessage());
        }
    }

    @Test
    void unreachableMasterFailsWithinTheTimeout() throws Exception {
        int port = LocalLauncher.freePort();
        DistributedOptions o = new DistributedOptions(2, 1, "127.0.0.1", port, CommBackend.GLOO, Duration.ofSeconds(2));
        long t0 = System.nanoTime();
        DistributedException e = assertThrows(DistributedException.class, () -> Distributed.init(o));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(
                e.getMessage().contains("rank 1 could not reach the master at 127.0.0.1:" + port + " within 2 s"),
                e.getMessage());
        assertTrue(ms < 10_000, "gave up after " + ms + " ms");
    }

    @Test
    void missingRankTimesOutAtRendezvous() {
        DistributedOptions o;
        try {
            o = new DistributedOptions(
                    2, 0, "127.0.0.1", LocalLauncher.freePort(), CommBackend.GLOO, Duration.ofSeconds(2));
        } catch (java.io.IOException ex) {
            throw new java.io.UncheckedIOException(ex);
        }
        DistributedException e = assertThrows(DistributedException.class, () -> Distributed.init(o));
        assertTrue(e.getMessage().contains("not all 2 ranks joined through 127.0.0.1:"), e.getMessage());
    }

    @Test
    void singleAndNcclWithoutCuda() throws Exception {
        try (Distributed d = Distributed.single();
                NativeScope s = NativeScope.open()) {
            Tensor t = Tensors.fromFloats(new float[] {2f}, 1);
            d.broadcast(List.of(t), 0);
            d.allReduceMean(List.of(t));
            d.barrier();
            assertEquals(2.0, Tensors.item(d.allReduceMean(t)));
            assertEquals(1.5, d.allReduceMean(1.5));
            assertTrue(d.isMaster());
        }
        DistributedOptions o =
                new DistributedOptions(1, 0, "127.0.0.1", LocalLauncher.freePort(), CommBackend.NCCL, TIMEOUT);
        String m = assertThrows(IllegalArgumentException.class, () -> Distributed.init(o))
                .getMessage();
        assertTrue(m.contains("backend nccl needs CUDA"), m);
    }
}
