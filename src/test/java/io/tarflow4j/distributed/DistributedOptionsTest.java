package io.tarflow4j.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DistributedOptionsTest {
    private static final Duration T = Duration.ofSeconds(5);

    private static String error(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void parsesMasterAndBackend() {
        DistributedOptions o = DistributedOptions.of(4, 3, "node-1.cluster:29500", CommBackend.parse("GLOO"), T);
        assertEquals("node-1.cluster", o.masterHost());
        assertEquals(29500, o.masterPort());
        assertEquals("node-1.cluster:29500", o.master());
        assertEquals(CommBackend.GLOO, o.backend());
        assertEquals(new HostPort("::1", 80), HostPort.parse("[::1]:80"));
        assertEquals("[::1]:80", new HostPort("::1", 80).toString());
        assertEquals(CommBackend.NCCL, CommBackend.AUTO.resolve(true));
        assertEquals(CommBackend.GLOO, CommBackend.AUTO.resolve(false));
        assertEquals(CommBackend.GLOO, CommBackend.GLOO.resolve(true));
    }

    @Test
    void badValuesNameTheFlag() {
        assertTrue(error(() -> DistributedOptions.of(2, 2, "h:1", CommBackend.GLOO, T))
                .contains("--rank must be in [0, 2)"));
        assertTrue(error(() -> DistributedOptions.of(2, -1, "h:1", CommBackend.GLOO, T))
                .contains("--rank"));
        assertTrue(error(() -> DistributedOptions.of(0, 0, "h:1", CommBackend.GLOO, T))
                .contains("--world-size must be at least 1"));
        assertTrue(error(() -> DistributedOptions.of(2, 0, "h:70000", CommBackend.GLOO, T))
                .contains("port 70000 is outside 1..65535"));
        assertTrue(error(() -> DistributedOptions.of(2, 0, "h:0", CommBackend.GLOO, T))
                .contains("outside"));
        assertTrue(error(() -> DistributedOptions.of(2, 0, "h:abc", CommBackend.GLOO, T))
                .contains("port 'abc' is not a number"));
        assertTrue(error(() -> DistributedOptions.of(2, 0, "hostonly", CommBackend.GLOO, T))
                .contains("expected HOST:PORT"));
        assertTrue(error(() -> DistributedOptions.of(2, 0, ":29500", CommBackend.GLOO, T))
                .contains("host is empty"));
        assertTrue(error(() -> DistributedOptions.of(2, 0, "", CommBackend.GLOO, T))
                .contains("--master"));
        assertTrue(error(() -> DistributedOptions.of(2, 0, "h:1", CommBackend.GLOO, Duration.ZERO))
                .contains("--dist-timeout"));
        assertTrue(error(() -> CommBackend.parse("mpi")).contains("expected gloo, nccl or auto"));
        assertTrue(error(() -> LocalLauncher.builder("x").processes(0)).contains("--nproc must be at least 1"));
    }

    @Test
    void splitsTheGlobalBatch() {
        assertEquals(128, DistributedOptions.perRankBatch(256, 2));
        assertEquals(64, DistributedOptions.perRankBatch(64, 1));
        String m = error(() -> DistributedOptions.perRankBatch(65, 2));
        assertTrue(m.contains("--batch 65 must be a positive multiple of the 2 processes"), m);
        assertTrue(m.contains("--batch 64"), m);
        assertTrue(error(() -> DistributedOptions.perRankBatch(2, 4)).contains("--batch 2"));
    }

    @Test
    void readsTheEnvironment() {
        assertNull(DistributedOptions.fromEnvironment(Map.of(), CommBackend.AUTO, T));
        DistributedOptions ours = DistributedOptions.fromEnvironment(
                Map.of("TARFLOW_WORLD_SIZE", "2", "TARFLOW_RANK", "1", "TARFLOW_MASTER", "127.0.0.1:1234"),
                CommBackend.AUTO,
                T);
        assertEquals(new DistributedOptions(2, 1, "127.0.0.1", 1234, CommBackend.AUTO, T), ours);
        DistributedOptions torchrun = DistributedOptions.fromEnvironment(
                Map.of("WORLD_SIZE", "3", "RANK", "2", "MASTER_ADDR", "10.0.0.5", "MASTER_PORT", "29501"),
                CommBackend.GLOO,
                T);
        assertEquals("10.0.0.5:29501", torchrun.master());
        assertEquals(2, torchrun.rank());
        assertTrue(error(() -> DistributedOptions.fromEnvironment(
                        Map.of("WORLD_SIZE", "2", "MASTER_ADDR", "h"), CommBackend.GLOO, T))
                .contains("not TARFLOW_RANK or RANK"));
        assertTrue(error(() -> DistributedOptions.fromEnvironment(
                        Map.of("WORLD_SIZE", "two", "RANK", "0", "MASTER_ADDR", "h"), CommBackend.GLOO, T))
                .contains("TARFLOW_WORLD_SIZE must be an integer, got 'two'"));
    }
}
