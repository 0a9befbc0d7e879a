package io.tarflow4j.tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.OutputArchive;
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
    public AdamW(List<Tensor> parameters, double lr, double beta1, double beta2, double eps,
            double weightDecay) {
        this.parameters = List.copyOf(parameters);
        this.options = new AdamWOptions(lr);
        options.betas().put(0, beta2).put(1, beta1);
        options.eps().put(eps);
        options.weight_decay().put(weightDecay);
        this.optimizer = new org.bytedeco.pytorch.AdamW(
                new TensorVector(this.parameters.toArray(Tensor[]::new)), options);
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

    /** The optimizer state (moments and step counts) in libtorch's archive format. */
    public byte[] saveState() throws IOException {
        Path tmp = Files.createTempFile("tarflow-adamw", ".pt");
        try {
            OutputArchive archive = new OutputArchive();
            optimizer.save(archive);
            archive.save_to(tmp.toString());
            return Files.readAllBytes(tmp);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Restores state written by {@link #saveState()} for the same parameter list. */
    public void loadState(byte[] state) throws IOException {
        Path tmp = Files.createTempFile("tarflow-adamw", ".pt");
        try {
            Files.write(tmp, state);
            InputArchive archive = new InputArchive();
            archive.load_from(tmp.toString());
            optimizer.load(archive);
        } catch (RuntimeException e) {
            throw new IOException("optimizer state does not match this model's parameters: "
                    + e.getMessage(), e);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Frees the native optimizer. */
    @Override
    public void close() {
        optimizer.close();
    }
}
