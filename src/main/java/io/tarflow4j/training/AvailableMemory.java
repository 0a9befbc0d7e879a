package io.tarflow4j.training;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Memory a new allocation can still get on this machine (Linux): {@code MemAvailable} of
 * {@code /proc/meminfo}, lowered to what this process's cgroup (v2) limit leaves, if any.
 */
public final class AvailableMemory {
    private AvailableMemory() {}

    /** Available bytes, or empty where /proc is not readable. */
    public static OptionalLong bytes() {
        OptionalLong meminfo = meminfoAvailable(Path.of("/proc/meminfo"));
        if (meminfo.isEmpty()) {
            return meminfo;
        }
        long available = meminfo.getAsLong();
        OptionalLong cgroup = cgroupHeadroom(Path.of("/sys/fs/cgroup"));
        return OptionalLong.of(cgroup.isPresent() ? Math.min(available, cgroup.getAsLong()) : available);
    }

    /** {@code MemAvailable} of a meminfo file, in bytes. */
    static OptionalLong meminfoAvailable(Path meminfo) {
        try {
            for (String line : Files.readAllLines(meminfo)) {
                if (line.startsWith("MemAvailable:")) {
                    return OptionalLong.of(
                            Long.parseLong(line.substring(13).replace("kB", "").strip()) * 1024);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
        return OptionalLong.empty();
    }

    /** {@code memory.max - memory.current} of a cgroup v2 folder; empty without a limit. */
    static OptionalLong cgroupHeadroom(Path cgroup) {
        try {
            String max = Files.readString(cgroup.resolve("memory.max")).strip();
            if (max.equals("max")) {
                return OptionalLong.empty();
            }
            long current = Long.parseLong(
                    Files.readString(cgroup.resolve("memory.current")).strip());
            return OptionalLong.of(Math.max(0, Long.parseLong(max) - current));
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
    }
}
