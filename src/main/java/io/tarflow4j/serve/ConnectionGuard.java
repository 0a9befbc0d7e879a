package io.tarflow4j.serve;

import com.sun.net.httpserver.HttpExchange;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps stalled or greedy clients from starving the others. The HTTP server reads each request
 * on a thread of this executor: at most {@code maxConnections} at once (a connection beyond them
 * is closed at once), each given {@code readTimeout} to deliver its request head. A handler then
 * {@linkplain #admit admits} the request, which counts it against its client's address (at most
 * {@code maxClientConnections} in progress, else 429), and reads the body and writes the answer
 * through {@link #watch(InputStream)} and {@link #watch(OutputStream)}, which allow
 * {@code readTimeout} of silence per read or write. A watchdog interrupts a thread whose time is
 * up: its blocking socket operation fails and the connection is closed. Model work has no
 * deadline.
 */
final class ConnectionGuard implements Executor, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ConnectionGuard.class);
    private static final long WATCHDOG_MILLIS = 100;
    private static final int WRITE_CHUNK = 1 << 16;

    private final int maxClientConnections;
    private final long timeoutNanos;
    private final ThreadPoolExecutor threads;
    private final ScheduledExecutorService watchdog;
    private final Map<Thread, Deadline> deadlines = new ConcurrentHashMap<>();
    private final Map<InetAddress, Integer> perClient = new ConcurrentHashMap<>();

    /** The deadline of the request a thread is reading or answering; 0 when none. */
    private static final class Deadline {
        private long at;
        private String phase = "";
        private boolean expired;
    }

    ConnectionGuard(int maxConnections, int maxClientConnections, Duration readTimeout) {
        this.maxClientConnections = maxClientConnections;
        this.timeoutNanos = readTimeout.toNanos();
        AtomicInteger counter = new AtomicInteger();
        this.threads = new ThreadPoolExecutor(
                maxConnections, maxConnections, 30, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, "tarflow-http-" + counter.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        threads.allowCoreThreadTimeOut(true);
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tarflow-http-watchdog");
            t.setDaemon(true);
            return t;
        });
        watchdog.scheduleWithFixedDelay(this::expire, WATCHDOG_MILLIS, WATCHDOG_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Runs one connection's request on a free thread, with the time to read its head armed. */
    @Override
    public void execute(Runnable exchange) {
        try {
            threads.execute(() -> {
                Thread self = Thread.currentThread();
                Deadline d = new Deadline();
                deadlines.put(self, d);
                arm("sending its request head");
                try {
                    exchange.run();
                } finally {
                    deadlines.remove(self);
                }
            });
        } catch (RejectedExecutionException e) {
            // the server closes the connection; the clients already being served go on
            LOG.warn(
                    "refused a connection: {} are being served, the limit (--max-connections)",
                    threads.getMaximumPoolSize());
            throw e;
        }
    }

    /**
     * Counts a request against its client's address for as long as the returned ticket is open.
     *
     * @throws HttpError 429 when the client already has {@code maxClientConnections} in progress
     */
    Ticket admit(HttpExchange ex) {
        InetSocketAddress remote = ex.getRemoteAddress();
        InetAddress client = remote == null ? InetAddress.getLoopbackAddress() : remote.getAddress();
        int[] count = new int[1];
        perClient.compute(client, (k, n) -> count[0] = n == null ? 1 : n + 1);
        if (count[0] > maxClientConnections) {
            release(client);
            ex.getResponseHeaders().set("Connection", "close");
            throw new HttpError(
                    429,
                    "too many requests in progress from " + client.getHostAddress() + " (the limit is "
                            + maxClientConnections + ", --max-client-connections); retry when one has finished");
        }
        arm("sending its request body");
        return () -> release(client);
    }

    /** A request admitted by {@link #admit}; closing it releases the client's slot. */
    interface Ticket extends AutoCloseable {
        @Override
        void close();
    }

    /** Arms {@code readTimeout} for writing the answer's head. */
    void answering() {
        arm("reading the answer");
    }

    /** No deadline for this thread (model work). */
    void disarm() {
        Deadline d = deadlines.get(Thread.currentThread());
        if (d != null) {
            synchronized (d) {
                d.at = 0;
            }
        }
    }

    /** {@code in} with {@code readTimeout} allowed per read; the deadline ends at end of stream or close. */
    InputStream watch(InputStream in) {
        return new FilterInputStream(in) {
            @Override
            public int read() throws IOException {
                arm("sending its request body");
                return checked(super.read());
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                arm("sending its request body");
                return checked(super.read(b, off, len));
            }

            private int checked(int n) throws IOException {
                failIfExpired();
                return n;
            }
        };
    }

    /** {@code out} writing in chunks with {@code readTimeout} allowed per chunk. */
    OutputStream watch(OutputStream out) {
        return new FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                for (int at = off; at < off + len; at += WRITE_CHUNK) {
                    arm("reading the answer");
                    out.write(b, at, Math.min(WRITE_CHUNK, off + len - at));
                    failIfExpired();
                }
            }

            @Override
            public void close() throws IOException {
                arm("reading the answer");
                try {
                    super.close();
                } finally {
                    disarm();
                }
            }
        };
    }

    /** Stops taking connections; the threads end with their requests. */
    @Override
    public void close() {
        watchdog.shutdownNow();
        threads.shutdown();
        try {
            if (!threads.awaitTermination(5, TimeUnit.SECONDS)) {
                threads.shutdownNow();
            }
        } catch (InterruptedException e) {
            threads.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    private void arm(String phase) {
        Deadline d = deadlines.get(Thread.currentThread());
        if (d != null) {
            synchronized (d) {
                d.at = System.nanoTime() + timeoutNanos;
                d.phase = phase;
            }
        }
    }

    /** Whether this thread's request was cut off by the read timeout. */
    boolean expired() {
        Deadline d = deadlines.get(Thread.currentThread());
        if (d == null) {
            return false;
        }
        synchronized (d) {
            return d.expired;
        }
    }

    private void failIfExpired() throws IOException {
        Deadline d = deadlines.get(Thread.currentThread());
        if (d != null) {
            synchronized (d) {
                if (d.expired) {
                    throw new IOException("timed out");
                }
            }
        }
    }

    private void release(InetAddress client) {
        perClient.computeIfPresent(client, (k, n) -> n <= 1 ? null : n - 1);
    }

    /** Interrupts the threads whose deadline passed: their blocking socket operation fails and closes the connection. */
    private void expire() {
        long now = System.nanoTime();
        deadlines.forEach((thread, d) -> {
            synchronized (d) {
                if (d.at != 0 && now - d.at > 0 && !d.expired) {
                    d.expired = true;
                    d.at = 0;
                    LOG.info(
                            "closed a connection: the client took more than {} s {}",
                            timeoutNanos / 1_000_000_000.0,
                            d.phase);
                    thread.interrupt();
                }
            }
        });
    }
}
