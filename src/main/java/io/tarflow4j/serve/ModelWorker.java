package io.tarflow4j.serve;

import io.tarflow4j.tensor.NativeScope;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Runs model jobs one at a time on a single thread, with at most {@code queue} jobs waiting.
 * However many requests arrive, the model's memory is that of one job; a job that finds the queue
 * full is refused at once (the server answers 503). Each job runs inside a {@link NativeScope}, so
 * the native memory it creates is freed when it ends; jobs must return plain Java data.
 */
public final class ModelWorker implements AutoCloseable {
    private final ThreadPoolExecutor executor;

    /**
     * Starts the worker thread.
     *
     * @param queue jobs that may wait while one runs (0: only when the worker is idle)
     */
    public ModelWorker(int queue) {
        if (queue < 0) {
            throw new IllegalArgumentException("queue must be >= 0, got " + queue);
        }
        BlockingQueue<Runnable> pending = queue == 0 ? new SynchronousQueue<>() : new ArrayBlockingQueue<>(queue);
        this.executor = new ThreadPoolExecutor(
                1,
                1,
                0,
                TimeUnit.MILLISECONDS,
                pending,
                r -> {
                    Thread t = new Thread(r, "tarflow-model");
                    t.setDaemon(true);
                    return t;
                },
                new ThreadPoolExecutor.AbortPolicy());
        executor.prestartAllCoreThreads();
    }

    /**
     * Runs a job and waits for its result.
     *
     * @throws RejectedExecutionException when the queue is full or the worker is closed
     * @throws ExecutionException wrapping what the job threw
     * @throws InterruptedException when the waiting thread is interrupted
     */
    public <T> T run(Callable<T> job) throws ExecutionException, InterruptedException {
        Future<T> future = executor.submit(() -> {
            try (NativeScope scope = NativeScope.open()) {
                return job.call();
            }
        });
        return future.get();
    }

    /** Jobs waiting plus the one running. */
    public int pending() {
        return executor.getQueue().size() + executor.getActiveCount();
    }

    /** Jobs finished since the start. */
    public long completed() {
        return executor.getCompletedTaskCount();
    }

    /**
     * Stops taking jobs and waits up to {@code seconds} for the queued ones to finish.
     *
     * @return whether every job finished in time
     */
    public boolean shutdown(long seconds) throws InterruptedException {
        executor.shutdown();
        return executor.awaitTermination(seconds, TimeUnit.SECONDS);
    }

    /** Stops taking jobs, lets the running one finish briefly, and abandons what is left. */
    @Override
    public void close() {
        try {
            if (!shutdown(30)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
