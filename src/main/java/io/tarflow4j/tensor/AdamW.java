package io.tarflow4j.tensor;

import io.tarflow4j.io.ByteRegion;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Reader;
import org.bytedeco.pytorch.SizeTSupplier;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * libtorch's AdamW with PyTorch's meaning of every setting.
 *
 * <p>Bytedeco exposes the C++ {@code std::tuple<double,double> betas} as a pointer whose element
 * 0 is beta2 and element 1 is beta1 (the reverse of PyTorch's {@code betas=(beta1, beta2)}); this
 * class stores them so that {@code new AdamW(params, lr, 0.9, 0.95, 1e-8, 1e-4)} behaves exactly
 * like {@code torch.optim.AdamW(params, lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=1e-4)}.
 */
public final class AdamW implements AutoCloseable {
    private final org.bytedeco.pytorch.AdamW optimizer;
    private final AdamWOptions options;
    private final List<Tensor> parameters;

    /** An optimizer over {@code parameters} (which must require gradients). */
    public AdamW(List<Tensor> parameters, double lr, double beta1, double beta2, double eps, double weightDecay) {
        this.parameters = List.copyOf(parameters);
        this.options = new AdamWOptions(lr);
        options.betas().put(0, beta2).put(1, beta1);
        options.eps().put(eps);
        options.weight_decay().put(weightDecay);
        this.optimizer =
                new org.bytedeco.pytorch.AdamW(new TensorVector(this.parameters.toArray(Tensor[]::new)), options);
    }

    /** Sets the learning rate of every parameter group (for schedules). */
    public void setLearningRate(double lr) {
        var groups = optimizer.param_groups();
        for (long i = 0; i < groups.size(); i++) {
            groups.get(i).options().set_lr(lr);
        }
    }

    /** The learning rate of the first parameter group. */
    public double learningRate() {
        return optimizer.param_groups().get(0).options().get_lr();
    }

    /** beta1 as PyTorch means it (the moving-average rate of the gradient). */
    public double beta1() {
        return options.betas().get(1);
    }

    /** beta2 as PyTorch means it (the moving-average rate of the squared gradient). */
    public double beta2() {
        return options.betas().get(0);
    }

    /** Applies one update from the parameters' current gradients. */
    public void step() {
        optimizer.step();
    }

    /** Clears the gradients (sets them to undefined, as PyTorch's default). */
    public void zeroGrad() {
        optimizer.zero_grad(true);
    }

    /** The parameters this optimizer updates, in order. */
    public List<Tensor> parameters() {
        return parameters;
    }

    /**
     * Writes the optimizer state (moments and step counts) to {@code file} in libtorch's archive
     * format, streamed by libtorch (any size, nothing on the Java heap).
     */
    public void saveState(Path file) throws IOException {
        try {
            OutputArchive archive = new OutputArchive();
            optimizer.save(archive);
            archive.save_to(file.toString());
        } catch (RuntimeException e) {
            throw new IOException("cannot write the optimizer state to " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Restores state written by {@link #saveState} for the same parameter list, reading the
     * archive in place from {@code state} (a file mapping, say) through libtorch's reader callback.
     */
    public void loadState(ByteRegion state) throws IOException {
        Reader reader = new Reader() {
            @Override
            public long call(long pos, Pointer buf, long n) {
                long len = Math.max(0, Math.min(n, state.size() - pos));
                for (long off = 0; off < len; off += Integer.MAX_VALUE / 2) {
                    long piece = Math.min(Integer.MAX_VALUE / 2, len - off);
                    state.get(
                            pos + off,
                            new BytePointer(buf)
                                    .position(off)
                                    .limit(off + piece)
                                    .asBuffer());
                }
                return len;
            }
        };
        SizeTSupplier size = new SizeTSupplier() {
            @Override
            public long call() {
                return state.size();
            }
        };
        try {
            InputArchive archive = new InputArchive();
            archive.load_from(reader, size);
            optimizer.load(archive);
        } catch (RuntimeException e) {
            throw new IOException("optimizer state does not match this model's parameters: " + e.getMessage(), e);
        } finally {
            reader.close();
            size.close();
        }
    }

    /** Frees the native optimizer. */
    @Override
    public void close() {
        optimizer.close();
    }
}
