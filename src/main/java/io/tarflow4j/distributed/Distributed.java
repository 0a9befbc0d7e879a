package io.tarflow4j.distributed;

import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.AllreduceOptions;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.BarrierOptions;
import org.bytedeco.pytorch.BroadcastOptions;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.GlooDeviceVector;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Work;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * This process's membership in a data-parallel group, on libtorch's c10d: a {@code TCPStore}
 * rendezvous (rank 0 serves it) and a Gloo (CPU) or NCCL (CUDA) process group.
 *
 * <p>The trainer's use:
 * <pre>{@code
 * try (Distributed dist = Distributed.init(options, model.device())) {
 *     dist.broadcast(params, 0);                  // everyone starts from rank 0's weights
 *     for (...) {                                 // each rank: its own shard, batch / worldSize
 *         try (NativeScope step = NativeScope.open()) {
 *             loss.backward();
 *             dist.allReduceGradients(params);    // bucketed mean of the gradients
 *             optimizer.step();
 *             double logged = dist.allReduceMean(lossValue);
 *         }
 *     }
 * }
 * }</pre>
 *
 * <p>Every rank must call the same collectives in the same order, from one thread. A rank that
 * dies, or stops calling collectives, makes every other rank's next collective throw a
 * {@link DistributedException} within the timeout (Gloo reports a closed connection at once;
 * a silent peer is caught by the collective timeout) - never a hang.
 *
 * <p>Gradients are all-reduced in flat buckets of about {@link #DEFAULT_BUCKET_BYTES} after
 * backward; packing of one bucket overlaps the communication of the previous ones. Bytedeco does
 * not expose per-tensor autograd hooks, so communication cannot start during backward as in
 * PyTorch's DDP.
 */
public final class Distributed implements AutoCloseable {
    /** DDP's default bucket size: 25 MiB. */
    public static final long DEFAULT_BUCKET_BYTES = 25L << 20;

    private final int rank;
    private final int worldSize;
    private final DistributedOptions options;
    private final TCPStore store;
    private final Backend group;
    private final long bucketBytes;
    /** Where the tensors to communicate live: scalars are reduced there (NCCL reduces only CUDA tensors). */
    private final Device device;

    private FlatBuckets layout;
    private boolean closed;

    private Distributed(
            int rank,
            int worldSize,
            DistributedOptions options,
            TCPStore store,
            Backend group,
            long bucketBytes,
            Device device) {
        this.rank = rank;
        this.worldSize = worldSize;
        this.options = options;
        this.store = store;
        this.group = group;
        this.bucketBytes = bucketBytes;
        this.device = device;
    }

    /** A group of one (no communication at all): every collective returns its input. */
    public static Distributed single() {
        return new Distributed(0, 1, null, null, null, DEFAULT_BUCKET_BYTES, new Device("cpu"));
    }

    /** Joins the group described by {@code options} for tensors on the CPU. */
    public static Distributed init(DistributedOptions options) {
        return init(options, new Device("cpu"), DEFAULT_BUCKET_BYTES);
    }

    /**
     * Joins the group described by {@code options}: rank 0 starts the store on the master port,
     * the others connect to it (retrying until the timeout), then all ranks form the process
     * group. Returns when every rank has joined.
     *
     * @param device where the tensors to communicate live (selects NCCL for backend auto on CUDA)
     * @param bucketBytes the gradient bucket size
     * @throws DistributedException when the port is taken, the master cannot be reached or not
     *     every rank joins within the timeout
     */
    public static Distributed init(DistributedOptions options, Device device, long bucketBytes) {
        if (bucketBytes < 1) {
            throw new IllegalArgumentException("bucket size must be positive, got " + bucketBytes);
        }
        boolean cuda = device.is_cuda();
        CommBackend backend = options.backend().resolve(cuda);
        if (backend == CommBackend.NCCL && !torch.cuda_is_available()) {
            throw new IllegalArgumentException("backend nccl needs CUDA: build with -Pcuda and run on GPUs"
                    + " with --device cuda, or use --backend gloo");
        }
        TCPStore store = connectStore(options);
        Backend group;
        try (NativeScope scope = NativeScope.open()) {
            Milliseconds timeout = new Milliseconds(options.timeout().toMillis());
            if (backend == CommBackend.NCCL) {
                group = NcclGroup.create(store, options.rank(), options.worldSize(), options.timeout());
            } else {
                ProcessGroupGloo.Options gloo = ProcessGroupGloo.Options.create(timeout);
                gloo.devices(glooDevices(options.masterHost()));
                group = new ProcessGroupGloo(store, options.rank(), options.worldSize(), gloo);
            }
            group.retainReference();
        } catch (DistributedException | IllegalArgumentException e) {
            store.releaseReference();
            throw e;
        } catch (RuntimeException e) {
            store.releaseReference();
            throw new DistributedException(
                    "rank " + options.rank() + ": not all " + options.worldSize()
                            + " ranks joined through " + options.master() + " within " + seconds(options.timeout())
                            + " (" + DistributedException.nativeSummary(e) + "); start the same command on every rank"
                            + " with its own --rank, or raise --dist-timeout",
                    e);
        }
        return new Distributed(options.rank(), options.worldSize(), options, store, group, bucketBytes, device);
    }

    /** This process's rank. */
    public int rank() {
        return rank;
    }

    /** The number of processes. */
    public int worldSize() {
        return worldSize;
    }

    /** Whether this is rank 0 (logs, evaluates, writes checkpoints). */
    public boolean isMaster() {
        return rank == 0;
    }

    /**
     * Whether every rank runs on this machine: one process, or a master at a loopback address
     * (which no other machine can reach).
     */
    public boolean onOneMachine() {
        return options == null || isLoopback(options.masterHost());
    }

    /** The options this group was formed with (null for {@link #single()}). */
    public DistributedOptions options() {
        return options;
    }

    /**
     * Overwrites {@code tensors} on every rank with rank {@code root}'s values (in place, without
     * recording gradients): start every replica from the same initial weights.
     */
    public void broadcast(List<Tensor> tensors, int root) {
        checkOpen();
        if (root < 0 || root >= worldSize) {
            throw new IllegalArgumentException("broadcast root must be in [0, " + worldSize + "), got " + root);
        }
        if (worldSize == 1 || tensors.isEmpty()) {
            return;
        }
        try (NativeScope scope = NativeScope.open();
                GradMode g = GradMode.off()) {
            FlatBuckets buckets = layoutFor(tensors);
            for (FlatBuckets.Bucket b : buckets.buckets()) {
                if (rank == root) {
                    buckets.pack(b, tensors);
                }
                BroadcastOptions o = new BroadcastOptions();
                o.rootRank(root);
                o.rootTensor(0);
                o.timeout(new Milliseconds(options.timeout().toMillis()));
                await(group.broadcast(new TensorVector(b.flat()), o), "broadcast");
                if (rank != root) {
                    buckets.unpack(b, tensors);
                }
            }
        }
    }

    /**
     * Replaces each of {@code tensors} by its mean over all ranks, in place, moving them in flat
     * buckets: every bucket's all-reduce is started before the first is awaited.
     */
    public void allReduceMean(List<Tensor> tensors) {
        checkOpen();
        if (worldSize == 1 || tensors.isEmpty()) {
            return;
        }
        try (NativeScope scope = NativeScope.open();
                GradMode g = GradMode.off()) {
            FlatBuckets buckets = layoutFor(tensors);
            List<Work> pending = new ArrayList<>();
            for (FlatBuckets.Bucket b : buckets.buckets()) {
                buckets.pack(b, tensors);
                pending.add(group.allreduce(new TensorVector(b.flat()), sumOptions()));
            }
            for (int i = 0; i < pending.size(); i++) {
                await(pending.get(i), "gradient all-reduce");
                FlatBuckets.Bucket b = buckets.buckets().get(i);
                b.flat().div_(new org.bytedeco.pytorch.Scalar((double) worldSize));
                buckets.unpack(b, tensors);
            }
        }
    }

    /**
     * Averages the gradients of {@code parameters} over all ranks (call after backward, before
     * the optimizer step).
     *
     * @throws IllegalStateException when a parameter has no gradient
     */
    public void allReduceGradients(List<Tensor> parameters) {
        List<Tensor> grads = new ArrayList<>(parameters.size());
        for (int i = 0; i < parameters.size(); i++) {
            Tensor grad = parameters.get(i).grad();
            if (!grad.defined()) {
                throw new IllegalStateException("parameter " + i + " of " + parameters.size()
                        + " has no gradient: call allReduceGradients after backward, and use every parameter");
            }
            grads.add(grad);
        }
        allReduceMean(grads);
    }

    /**
     * Replaces {@code tensor} by its mean over all ranks, in place, and returns it (VP
     * prior-variance statistics). A non-contiguous tensor goes through a contiguous copy.
     */
    public Tensor allReduceMean(Tensor tensor) {
        checkOpen();
        if (worldSize == 1) {
            return tensor;
        }
        try (NativeScope scope = NativeScope.open();
                GradMode g = GradMode.off()) {
            Tensor buffer = tensor.is_contiguous() ? tensor : tensor.contiguous();
            await(group.allreduce(new TensorVector(buffer), sumOptions()), "all-reduce");
            buffer.div_(new org.bytedeco.pytorch.Scalar((double) worldSize));
            if (buffer != tensor) {
                tensor.copy_(buffer);
            }
        }
        return tensor;
    }

    /**
     * The mean of {@code value} over all ranks (one loss for the whole batch, a time budget's
     * common clock), reduced in float64 on the group's device.
     */
    public double allReduceMean(double value) {
        checkOpen();
        if (worldSize == 1) {
            return value;
        }
        try (NativeScope scope = NativeScope.open()) {
            Tensor t = Tensors.fromFloats(new float[] {0f}, 1)
                    .to(device, ScalarType.Double)
                    .fill_(new org.bytedeco.pytorch.Scalar(value));
            return Tensors.item(allReduceMean(t));
        }
    }

    /** Returns when every rank has reached this call (or throws after the timeout). */
    public void barrier() {
        barrier(options == null ? DistributedOptions.DEFAULT_TIMEOUT : options.timeout());
    }

    /**
     * Returns when every rank has reached this call, or throws after {@code timeout} (instead of
     * the group's): for waiting while one rank does long work alone, such as rank 0's evaluation.
     * A rank that dies still fails the others at once.
     */
    public void barrier(Duration timeout) {
        checkOpen();
        if (timeout.toMillis() < 1) {
            throw new IllegalArgumentException("barrier timeout must be positive, got " + timeout);
        }
        if (worldSize == 1) {
            return;
        }
        try (NativeScope scope = NativeScope.open()) {
            BarrierOptions o = new BarrierOptions();
            o.timeout(new Milliseconds(timeout.toMillis()));
            await(group.barrier(o), "barrier", timeout);
        }
    }

    /** Leaves the group and frees its buffers; rank 0's store stops serving. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (layout != null) {
            layout.close();
            layout = null;
        }
        if (group != null) {
            group.releaseReference();
        }
        if (store != null) {
            store.releaseReference();
        }
    }

    private FlatBuckets layoutFor(List<Tensor> tensors) {
        if (layout == null || !layout.matches(tensors)) {
            if (layout != null) {
                layout.close();
            }
            layout = FlatBuckets.forTensors(tensors, bucketBytes);
        }
        return layout;
    }

    private AllreduceOptions sumOptions() {
        AllreduceOptions o = new AllreduceOptions();
        o.reduceOp(new ReduceOp(ReduceOp.RedOpType.SUM));
        o.timeout(new Milliseconds(options.timeout().toMillis()));
        return o;
    }

    private void await(Work work, String what) {
        await(work, what, options.timeout());
    }

    private void await(Work work, String what, Duration timeout) {
        boolean done;
        try {
            done = work._wait(new Milliseconds(timeout.toMillis()));
        } catch (RuntimeException e) {
            throw new DistributedException(
                    "rank " + rank + ": " + what + " failed: "
                            + DistributedException.nativeSummary(e) + " (another rank died or stopped responding;"
                            + " see its output)",
                    e);
        }
        if (!done) {
            throw new DistributedException("rank " + rank + ": " + what + " did not complete within " + seconds(timeout)
                    + " (another rank stopped responding)");
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the distributed group is closed");
        }
    }

    private static TCPStore connectStore(DistributedOptions options) {
        try (NativeScope scope = NativeScope.open()) {
            TCPStoreOptions o = new TCPStoreOptions();
            o.port((short) options.masterPort());
            o.isServer(options.isMaster());
            o.numWorkers(new SizeTPointer(1).put(options.worldSize()));
            o.waitWorkers(false);
            o.timeout(new Milliseconds(options.timeout().toMillis()));
            TCPStore store = new TCPStore(options.masterHost(), o);
            store.retainReference();
            return store;
        } catch (RuntimeException e) {
            String cause = DistributedException.nativeSummary(e);
            if (options.isMaster()) {
                String why = cause.contains("EADDRINUSE")
                        ? "port " + options.masterPort() + " is already in use; choose another port in --master"
                        : cause;
                throw new DistributedException("rank 0 cannot listen on " + options.master() + ": " + why, e);
            }
            throw new DistributedException(
                    "rank " + options.rank() + " could not reach the master at "
                            + options.master() + " within " + seconds(options.timeout()) + " (" + cause + "): is rank 0"
                            + " running, is the address right and is port " + options.masterPort() + " open?",
                    e);
        }
    }

    /**
     * The Gloo transport device: the interfaces in {@code GLOO_SOCKET_IFNAME} when set, the
     * loopback address when the master is local, else the address this host's name resolves to.
     */
    private static GlooDeviceVector glooDevices(String masterHost) {
        String ifnames = System.getenv("GLOO_SOCKET_IFNAME");
        GlooDeviceVector devices = new GlooDeviceVector();
        if (ifnames != null && !ifnames.isBlank()) {
            for (String name : ifnames.split(",")) {
                try {
                    devices.push_back(ProcessGroupGloo.createDeviceForInterface(name.strip()));
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException(
                            "GLOO_SOCKET_IFNAME: cannot use network interface '" + name.strip() + "': "
                                    + DistributedException.nativeSummary(e),
                            e);
                }
            }
        } else if (isLoopback(masterHost)) {
            devices.push_back(ProcessGroupGloo.createDeviceForHostname("127.0.0.1"));
        } else {
            devices.push_back(ProcessGroupGloo.createDefaultDevice());
        }
        return devices;
    }

    private static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("--master host '" + host + "' does not resolve", e);
        }
    }

    static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() / 1000.0 + " s";
    }
}
