package hybridsam.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The fixed set of daemon threads a CPU backend runs its chunks on. {@link #runAll} returns the
 * results in the order of the tasks, so a backend that adds them in that order gets the same
 * bits with any number of threads.
 */
public final class WorkerPool implements AutoCloseable {
    private final int threads;
    private final ExecutorService pool;

    public WorkerPool(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1");
        this.threads = threads;
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "hybridsam-cpu");
            t.setDaemon(true);
            return t;
        });
    }

    public int threads() {
        return threads;
    }

    /** Runs every task and returns their results in the tasks' order; a task's exception is rethrown as it was. */
    public <T> List<T> runAll(List<Callable<T>> tasks) {
        try {
            List<T> out = new ArrayList<>(tasks.size());
            for (Future<T> f : pool.invokeAll(tasks)) out.add(f.get());
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException re) throw re;
            if (c instanceof Error er) throw er;
            throw new IllegalStateException(c);
        }
    }

    /** What one chunk of a split adds up: the samples order[off .. off + n). */
    @FunctionalInterface
    public interface ChunkSum {
        double over(int[] order, int off, int n);
    }

    /**
     * Σ over the count samples of a split, in their stored order, cut into chunks of the given
     * size that run in parallel; the chunks' sums are added in chunk order, so the result does not
     * depend on the number of threads.
     */
    public double sumOverSplit(int count, int chunk, ChunkSum f) {
        int[] order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        double sum = 0;
        for (double s : overChunks(count, chunk, (o, n) -> f.over(order, o, n))) sum += s;
        return sum;
    }

    /** What one chunk of count items computes: items off .. off + n. */
    @FunctionalInterface
    public interface ChunkTask<T> {
        T over(int off, int n);
    }

    /** Cuts count items into chunks of the given size, runs them in parallel and returns their results in chunk order. */
    public <T> List<T> overChunks(int count, int chunk, ChunkTask<T> f) {
        List<Callable<T>> tasks = new ArrayList<>();
        for (int off = 0; off < count; off += chunk) {
            final int o = off, n = Math.min(chunk, count - off);
            tasks.add(() -> f.over(o, n));
        }
        return runAll(tasks);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
