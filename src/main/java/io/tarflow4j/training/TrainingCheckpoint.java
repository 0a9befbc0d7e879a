package io.tarflow4j.training;

import io.tarflow4j.io.AtomicFiles;
import io.tarflow4j.io.ByteRegion;
import io.tarflow4j.io.DType;
import io.tarflow4j.io.RawTensor;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.io.SafetensorsFile;
import io.tarflow4j.model.ReferenceKeys;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.RawTensors;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A training checkpoint: one safetensors file with the model ({@code model.*}, reference names,
 * parameters and buffers), the weight average ({@code ema.*}) when kept, the AdamW state as a U8
 * tensor {@code optimizer.state}, and in {@code __metadata__} the configuration (reference keys)
 * and the training state ({@code step}, {@code total_steps}, {@code seed}, {@code lr},
 * {@code warmup}, {@code noise}, {@code drop_label}, {@code class_names}, {@code dataset},
 * {@code elapsed_s}, ..., see {@link RecipeMetadata}). {@link io.tarflow4j.checkpoint.ModelFile#load}
 * reads it as a model.
 *
 * <p>{@link #save} writes the file atomically and first keeps the previous checkpoint as
 * {@value #PREVIOUS}, so that a good checkpoint exists at every moment; it refuses to write
 * weights that are not finite.
 */
public final class TrainingCheckpoint {
    /** The checkpoint's file name in a run folder. */
    public static final String FILE = "checkpoint.safetensors";
    /** The previous checkpoint's file name in a run folder. */
    public static final String PREVIOUS = "checkpoint-previous.safetensors";
    /** Metadata value of {@code format}. */
    public static final String FORMAT = "tarflow4j-training-checkpoint-1";

    private TrainingCheckpoint() {}

    /**
     * What a checkpoint holds.
     *
     * @param config the architecture
     * @param model {@code model.*} tensors by reference name, slices of the file's mapping
     * @param ema {@code ema.*} tensors, empty when no EMA was kept
     * @param optimizerState the AdamW state (libtorch's archive), read in place from the file
     * @param metadata the training state and settings
     */
    public record Contents(
            TarFlowConfig config,
            Map<String, RawTensor> model,
            Map<String, RawTensor> ema,
            ByteRegion optimizerState,
            Map<String, String> metadata) {
        /** The recorded value of a metadata key. */
        public String get(String key) {
            String v = metadata.get(key);
            if (v == null) {
                throw new IllegalArgumentException("checkpoint metadata lacks '" + key + "'");
            }
            return v;
        }

        /** The step the checkpoint was written after. */
        public long step() {
            return Long.parseLong(get("step"));
        }
    }

    /**
     * Writes the checkpoint of {@code trainer} into {@code dir} as {@value #FILE}, keeping the
     * old one as {@value #PREVIOUS}.
     *
     * @param metadata training state and settings, added to the configuration keys
     * @throws IllegalStateException when a weight is NaN or infinite (nothing is written)
     */
    public static void save(Path dir, Trainer trainer, Map<String, String> metadata) throws IOException {
        if (!trainer.finite()) {
            throw new IllegalStateException("refusing to write a checkpoint at step " + metadata.get("step")
                    + ": the weights hold NaN or infinite values; the last good checkpoint in " + dir
                    + " is kept");
        }
        // Weights are written from views of their native memory, the optimizer state from the
        // archive libtorch streams to a temporary file: nothing passes through the Java heap.
        Map<String, RawTensor> tensors = new LinkedHashMap<>();
        trainer.model().state().forEach((k, v) -> tensors.put("model." + k, RawTensors.view(v)));
        if (trainer.ema() != null) {
            trainer.ema().parameters().forEach((k, v) -> tensors.put("ema." + k, RawTensors.view(v)));
        }
        Path file = dir.resolve(FILE);
        Path optimizerFile = AtomicFiles.createTemporary(file);
        try {
            trainer.optimizer().saveState(optimizerFile);
            try (FileChannel ch = FileChannel.open(optimizerFile, StandardOpenOption.READ)) {
                long size = ch.size();
                // copied by the kernel, never mapped: the temporary file's space is freed at once
                tensors.put(
                        "optimizer.state", new RawTensor(DType.U8, new long[] {size}, ByteRegion.ofFile(ch, 0, size)));
                Map<String, String> meta = new LinkedHashMap<>(
                        ReferenceKeys.fromConfig(trainer.model().config()));
                meta.put("format", FORMAT);
                meta.putAll(metadata);
                if (Files.exists(file)) {
                    keepPrevious(file, dir.resolve(PREVIOUS));
                }
                Safetensors.write(file, tensors, meta);
            }
        } finally {
            Files.deleteIfExists(optimizerFile);
        }
    }

    /** Hard-links (or copies) the current checkpoint to the previous name, atomically. */
    private static void keepPrevious(Path file, Path previous) throws IOException {
        Path tmp = previous.resolveSibling(previous.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        try {
            Files.createLink(tmp, file);
        } catch (IOException | UnsupportedOperationException e) {
            Files.copy(file, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        Files.move(tmp, previous, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Reads a checkpoint written by {@link #save}.
     *
     * @throws IOException naming the file when it is missing, corrupt or not a training checkpoint
     */
    public static Contents load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no training checkpoint");
        }
        try (SafetensorsFile f = Safetensors.read(file)) {
            Map<String, String> meta = f.metadata();
            if (!FORMAT.equals(meta.get("format")) || !f.tensors().containsKey("optimizer.state")) {
                throw new IOException(file + " is not a tarflow4j training checkpoint (no format '" + FORMAT
                        + "' or no optimizer.state); only checkpoints written by 'tarflow train' can be resumed");
            }
            TarFlowConfig config;
            try {
                config = ReferenceKeys.toConfig(meta);
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": " + e.getMessage(), e);
            }
            Map<String, RawTensor> model = new LinkedHashMap<>();
            Map<String, RawTensor> ema = new LinkedHashMap<>();
            ByteRegion opt = null;
            for (var e : f.tensors().entrySet()) {
                String name = e.getKey();
                if (name.startsWith("model.")) {
                    model.put(name.substring(6), e.getValue());
                } else if (name.startsWith("ema.")) {
                    ema.put(name.substring(4), e.getValue());
                } else if (name.equals("optimizer.state")) {
                    opt = e.getValue().bytes();
                }
            }
            return new Contents(config, model, ema, opt, meta);
        }
    }
}
