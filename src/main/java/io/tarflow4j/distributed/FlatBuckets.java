package io.tarflow4j.distributed;

import io.tarflow4j.tensor.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A fixed layout of many tensors packed into a few flat buffers of about {@code capBytes} each,
 * so that one collective moves many small tensors (DDP's gradient buckets).
 *
 * <p>Tensors are grouped in reverse order (the order backward produces gradients), consecutive
 * tensors of one dtype and device sharing a bucket until it would exceed the cap; a tensor larger
 * than the cap gets a bucket of its own. The buffers live until {@link #close()}, so steady-state
 * steps allocate nothing.
 */
final class FlatBuckets implements AutoCloseable {
    /** One flat buffer and the tensors (by index in the layout) packed into it, in order. */
    record Bucket(Tensor flat, int[] members, long[] offsets) {}

    private final String signature;
    private final List<Bucket> buckets;
    private final long[][] shapes;

    private FlatBuckets(String signature, List<Bucket> buckets, long[][] shapes) {
        this.signature = signature;
        this.buckets = buckets;
        this.shapes = shapes;
    }

    /** A layout for tensors shaped like {@code like}; the buffers escape any open NativeScope. */
    static FlatBuckets forTensors(List<Tensor> like, long capBytes) {
        if (capBytes < 1) {
            throw new IllegalArgumentException("bucket size must be positive, got " + capBytes + " bytes");
        }
        long[][] shapes = new long[like.size()][];
        for (int i = 0; i < like.size(); i++) {
            shapes[i] = Tensors.shape(like.get(i));
        }
        List<Bucket> buckets = new ArrayList<>();
        List<Integer> current = new ArrayList<>();
        long currentBytes = 0;
        for (int i = like.size() - 1; i >= 0; i--) {
            Tensor t = like.get(i);
            long bytes = t.numel() * t.element_size();
            boolean compatible = current.isEmpty() || sameKind(like.get(current.get(0)), t);
            if (!current.isEmpty() && (!compatible || currentBytes + bytes > capBytes)) {
                buckets.add(allocate(like, current));
                current.clear();
                currentBytes = 0;
            }
            current.add(i);
            currentBytes += bytes;
        }
        if (!current.isEmpty()) {
            buckets.add(allocate(like, current));
        }
        return new FlatBuckets(signatureOf(like), List.copyOf(buckets), shapes);
    }

    /** A string that differs whenever the shapes, dtypes or devices of {@code tensors} differ. */
    static String signatureOf(List<Tensor> tensors) {
        StringBuilder sb = new StringBuilder();
        for (Tensor t : tensors) {
            sb.append(Arrays.toString(Tensors.shape(t)))
                    .append(Tensors.dtype(t))
                    .append('@')
                    .append(t.device().str().getString())
                    .append(';');
        }
        return sb.toString();
    }

    /** Whether this layout fits {@code tensors}. */
    boolean matches(List<Tensor> tensors) {
        return signature.equals(signatureOf(tensors));
    }

    /** The buckets, in the order they should be communicated. */
    List<Bucket> buckets() {
        return buckets;
    }

    /** Copies the member tensors into the bucket's flat buffer. */
    void pack(Bucket b, List<Tensor> tensors) {
        for (int k = 0; k < b.members().length; k++) {
            int i = b.members()[k];
            Tensor t = tensors.get(i);
            b.flat().narrow(0, b.offsets()[k], t.numel()).view(shapes[i]).copy_(t);
        }
    }

    /** Copies the bucket's flat buffer back into the member tensors. */
    void unpack(Bucket b, List<Tensor> tensors) {
        for (int k = 0; k < b.members().length; k++) {
            int i = b.members()[k];
            Tensor t = tensors.get(i);
            t.copy_(b.flat().narrow(0, b.offsets()[k], t.numel()).view(shapes[i]));
        }
    }

    /** Frees the buffers. */
    @Override
    public void close() {
        for (Bucket b : buckets) {
            b.flat().releaseReference();
        }
    }

    private static boolean sameKind(Tensor a, Tensor b) {
        return Tensors.dtype(a) == Tensors.dtype(b)
                && a.device().str().getString().equals(b.device().str().getString());
    }

    private static Bucket allocate(List<Tensor> like, List<Integer> members) {
        long total = 0;
        long[] offsets = new long[members.size()];
        for (int k = 0; k < members.size(); k++) {
            offsets[k] = total;
            total += like.get(members.get(k)).numel();
        }
        Tensor first = like.get(members.get(0));
        ScalarType dtype = Tensors.dtype(first);
        TensorOptions options =
                new TensorOptions(dtype).device(new org.bytedeco.pytorch.DeviceOptional(first.device()));
        Tensor flat = torch.empty(new long[] {total}, options, new MemoryFormatOptional());
        flat.retainReference(); // outlives the NativeScope it was made in; released by close()
        return new Bucket(flat, members.stream().mapToInt(Integer::intValue).toArray(), offsets);
    }
}
