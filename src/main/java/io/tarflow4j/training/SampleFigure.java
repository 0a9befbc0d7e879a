package io.tarflow4j.training;

import io.tarflow4j.io.ImageGrid;
import io.tarflow4j.io.Png;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.sampling.Denoiser;
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
        TarFlowConfig c = model.config();
        int rows = c.conditional() ? Math.min(10, c.numClasses()) : 10;
        int n = rows * COLUMNS;
        List<String> names = new ArrayList<>();
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
            Tensor z = model.place(torch.randn(new long[] {n, c.numTokens(), c.tokenDim()},
                    new TensorOptions(ScalarType.Float)));
            boolean denoise = full && noise.gaussian();
            Tensor plain = model.reverse(z, y, Guidance.NONE);
            panels.add(render(plain, c, rows));
            names.add("no guidance");
            if (denoise) {
                panels.add(render(Denoiser.denoise(model, plain, y, noise.sigma(), 1.0), c, rows));
                names.add("no guidance, denoised");
            }
            if (full && c.conditional()) {
                Tensor guided = model.reverse(z, y, Guidance.of(1.0, 1.0));
                panels.add(render(guided, c, rows));
                names.add("guidance 1.0");
                if (denoise) {
                    panels.add(render(Denoiser.denoise(model, guided, y, noise.sigma(), 1.0), c, rows));
                    names.add("guidance 1.0, denoised");
                }
            }
        }
        Png.write(path, compose(panels, c.imageSize() <= 32 ? 2 : 1));
        return names;
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
