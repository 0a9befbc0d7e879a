package io.tarflow4j.training;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The lock a training run holds on its folder for its whole life: an operating-system lock on
 * {@value #FILE}, whose content is the holder's process id. A second run on the same folder
 * (fresh or {@code --resume}) is refused naming that process; the operating system drops the lock
 * when its process ends however it ends, so a lock left by a dead run is simply taken over.
 */
public final class RunLock implements AutoCloseable {
    /** The lock file's name in a run folder. */
    public static final String FILE = "run.lock";

    private final FileChannel channel;
    private final FileLock lock;
    private final String previousHolder;

    private RunLock(FileChannel channel, FileLock lock, String previousHolder) {
        this.channel = channel;
        this.lock = lock;
        this.previousHolder = previousHolder;
    }

    /**
     * Locks {@code dir} (which must exist) for this process.
     *
     * @throws IllegalStateException naming the process that holds the folder
     * @throws IOException when the lock file cannot be created or written
     */
    public static RunLock acquire(Path dir) throws IOException {
        FileChannel ch = FileChannel.open(
                dir.resolve(FILE), StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            FileLock lock = lockOrRefuse(dir, ch);
            String holder = read(ch);
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            ch.force(false);
            return new RunLock(ch, lock, holder);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /**
     * Refuses early, before a run loads its data or starts workers, when another process holds
     * {@code dir}; changes nothing (the run itself then {@linkplain #acquire acquires} the lock).
     *
     * @throws IllegalStateException naming the process that holds the folder
     */
    public static void refuseIfHeld(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            return;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            lockOrRefuse(dir, ch).release();
        }
    }

    private static FileLock lockOrRefuse(Path dir, FileChannel ch) throws IOException {
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // held by this same process
        }
        if (lock == null) {
            String holder = read(ch);
            throw new IllegalStateException("run folder " + dir + " is in use by "
                    + (holder.isEmpty() ? "another run" : "process " + holder) + " (" + dir.resolve(FILE)
                    + " is locked); wait for that run to end or stop it before starting another here");
        }
        return lock;
    }

    /** The process id a stale lock named (a run that ended without releasing it), or empty. */
    public String previousHolder() {
        return previousHolder;
    }

    /** Releases the lock and empties the file (which stays, so no other run can race on a new one). */
    @Override
    public void close() throws IOException {
        try {
            channel.truncate(0);
            lock.release();
        } finally {
            channel.close();
        }
    }

    private static String read(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(32);
        ch.read(b, 0);
        return new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).strip();
    }
}
