package io.tarflow4j.training;

import io.tarflow4j.io.ImageGrid;
import io.tarflow4j.io.Png;
import io.tarflow4j.model.FlowBlock;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.KvCache;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.sampling.Denoiser;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.tensor.Tensors;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The sample figure of a training run: panels side by side, each a grid with one row per class
 * (up to 10 classes, spread over the class range) or, unconditional, 10 rows of samples. The
 * full figure has four panels: no guidance, no guidance denoised, guidance 1.0, guidance 1.0
 * denoised (the denoised panels only for Gaussian-noise models, the guided ones only for
 * conditional models). Every panel starts from the same noise, seeded, so the panels compare
 * like with like.
 */
public final class SampleFigure {
    private static final int COLUMNS = 10;
    private static final int GAP = 8;
    private static final String PLAIN = "no guidance";
    private static final String DENOISED = PLAIN + ", denoised";
    private static final String GUIDED = "guidance 1.0";

    private SampleFigure() {}

    /**
     * Samples and writes the figure (atomically) to {@code path}.
     *
     * @param noise the training noise; its sigma is the denoising sigma when Gaussian
     * @param full all panels; otherwise only the unguided samples (cheap, for progress)
     * @param seed seed of the sampling noise
     * @return the panels' names, left to right
     */
    public static List<String> write(Path path, TarFlow model, NoiseSpec noise, boolean full, long seed)
            throws IOException {
        return write(path, model, noise, full, seed, Integer.MAX_VALUE, false);
    }

    /**
     * {@link #write}, denoising at most {@code denoiseBatch} images at a time (each image's
     * result does not depend on the others), with activation checkpointing when
     * {@code checkpointed}: the input gradient of a paper-size model over all the figure's images
     * at once would need tens of GB.
     */
    public static List<String> write(
            Path path, TarFlow model, NoiseSpec noise, boolean full, long seed, int denoiseBatch, boolean checkpointed)
            throws IOException {
        TarFlowConfig c = model.config();
        int rows = rows(c);
        int n = rows * COLUMNS;
        List<String> names = panels(c, noise, full);
        boolean denoise = names.contains(DENOISED);
        List<BufferedImage> panels = new ArrayList<>();
        try (NativeScope scope = NativeScope.open()) {
            Tensor y = null;
            if (c.conditional()) {
                int[] labels = new int[n];
                for (int i = 0; i < n; i++) {
                    labels[i] = (int) ((long) (i / COLUMNS) * c.numClasses() / rows);
                }
                y = Tensors.labels(labels).to(model.device(), ScalarType.Long);
            }
            Runtime.seed(seed);
            Tensor z = model.place(
                    torch.randn(new long[] {n, c.numTokens(), c.tokenDim()}, new TensorOptions(ScalarType.Float)));
            Tensor plain = model.reverse(z, y, Guidance.NONE);
            panels.add(render(plain, c, rows));
            if (denoise) {
                panels.add(render(denoise(model, plain, y, noise.sigma(), denoiseBatch, checkpointed), c, rows));
            }
            if (names.contains(GUIDED)) {
                Tensor guided = model.reverse(z, y, Guidance.of(1.0, 1.0));
                panels.add(render(guided, c, rows));
                if (denoise) {
                    panels.add(render(denoise(model, guided, y, noise.sigma(), denoiseBatch, checkpointed), c, rows));
                }
            }
        }
        Png.write(path, compose(panels, c.imageSize() <= 32 ? 2 : 1));
        return names;
    }

    private static Tensor denoise(
            TarFlow model, Tensor images, Tensor y, double sigma, int batch, boolean checkpointed) {
        long n = images.size(0);
        List<Tensor> parts = new ArrayList<>();
        for (long from = 0; from < n; from += batch) {
            long k = Math.min(batch, n - from);
            parts.add(Denoiser.denoise(
                            model,
                            images.narrow(0, from, k),
                            y == null ? null : y.narrow(0, from, k),
                            sigma,
                            1.0,
                            checkpointed)
                    .detach());
        }
        return parts.size() == 1 ? parts.get(0) : torch.cat(new TensorVector(parts.toArray(Tensor[]::new)), 0);
    }

    /** Rows of a figure panel: one per class (up to 10), or 10 for an unconditional model. */
    private static int rows(TarFlowConfig c) {
        return c.conditional() ? Math.min(10, c.numClasses()) : 10;
    }

    /** The figure's panels: names in order, and which sample guided / are denoised. */
    private static List<String> panels(TarFlowConfig c, NoiseSpec noise, boolean full) {
        List<String> names = new ArrayList<>(List.of(PLAIN));
        boolean denoise = full && noise.gaussian();
        if (denoise) {
            names.add(DENOISED);
        }
        if (full && c.conditional()) {
            names.add(GUIDED);
            if (denoise) {
                names.add(GUIDED + ", denoised");
            }
        }
        return names;
    }

    /** What {@link #write} makes, e.g. {@code 4 panels of 30 images}. */
    public static String describe(TarFlowConfig c, NoiseSpec noise, boolean full) {
        int panels = panels(c, noise, full).size();
        return (panels == 1 ? "1 panel" : panels + " panels") + " of " + rows(c) * COLUMNS + " images";
    }

    /**
     * Estimated seconds of {@link #write}: token-by-token decoding timed for a few tokens of the
     * first block at the figure's rows (twice as many for the guided panel) and extrapolated to
     * every token of every block (attention to the earlier tokens added in proportion to its
     * arithmetic); a denoised panel as a forward and backward pass over each image at
     * {@code imageSeconds}, a training step's time per image.
     */
    public static double estimateSeconds(TarFlow model, NoiseSpec noise, boolean full, double imageSeconds) {
        TarFlowConfig c = model.config();
        int n = rows(c) * COLUMNS;
        double attention = 1 + c.numTokens() / (12.0 * c.width());
        double perToken = (c.numTokens() - 1) * c.numBlocks() * attention;
        double seconds = 0;
        for (String panel : panels(c, noise, full)) {
            if (panel.endsWith("denoised")) {
                seconds += n * imageSeconds;
            } else {
                seconds += perToken * decodeStepSeconds(model, panel.equals(GUIDED) ? 2L * n : n);
            }
        }
        return seconds;
    }

    /** Seconds of one decoding step of the first block at {@code rows} rows (a few steps timed). */
    private static double decodeStepSeconds(TarFlow model, long rows) {
        TarFlowConfig c = model.config();
        FlowBlock block = model.blocks().get(0);
        int warm = 1;
        int timed = 3;
        try (NativeScope scope = NativeScope.open();
                GradMode g = GradMode.off()) {
            KvCache cache =
                    new KvCache(block.numLayers(), rows, c.numHeads(), warm + timed, c.headDim(), model.options());
            Tensor token = torch.zeros(new long[] {rows, 1, c.tokenDim()}, model.options());
            Tensor classRows = block.classRows(null);
            long t = 0;
            for (int i = 0; i < warm + timed; i++) {
                if (i == warm) {
                    t = System.nanoTime();
                }
                block.decode(token, i, classRows, null, cache).shift().sum().item();
            }
            return (System.nanoTime() - t) / 1e9 / timed;
        }
    }

    private static BufferedImage render(Tensor images, TarFlowConfig c, int rows) {
        float[] values = Tensors.toFloats(images);
        int count = (int) images.size(0);
        return new ImageGrid(rows, COLUMNS, 2).render(values, count, c.inChannels(), c.imageSize(), c.imageSize());
    }

    private static BufferedImage compose(List<BufferedImage> panels, int scale) {
        int w = panels.get(0).getWidth() * scale;
        int h = panels.get(0).getHeight() * scale;
        BufferedImage out = new BufferedImage(panels.size() * (w + GAP) + GAP, h + 2 * GAP, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setColor(new Color(128, 128, 128));
            g.fillRect(0, 0, out.getWidth(), out.getHeight());
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR);
            for (int i = 0; i < panels.size(); i++) {
                g.drawImage(panels.get(i), GAP + i * (w + GAP), GAP, w, h, null);
            }
        } finally {
            g.dispose();
        }
        return out;
    }
}
