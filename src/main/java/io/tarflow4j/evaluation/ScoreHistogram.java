package io.tarflow4j.evaluation;

import io.tarflow4j.io.Png;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * A PNG of in- and out-of-distribution anomaly scores: one panel per method, each a pair of
 * overlaid histograms (in: blue, out: orange) over the range of both, normalised to the same
 * area, with the method's AUROC in the title.
 */
public final class ScoreHistogram {
    private static final int PANEL_W = 420;
    private static final int PANEL_H = 220;
    private static final int MARGIN = 28;
    private static final int BINS = 40;
    private static final Color IN = new Color(31, 119, 180, 150);
    private static final Color OUT = new Color(255, 127, 14, 150);

    private ScoreHistogram() {}

    /**
     * One method's scores.
     *
     * @param in in-distribution scores
     * @param out out-of-distribution scores
     * @param metrics their separation
     */
    public record Panel(double[] in, double[] out, OodMetrics metrics) {}

    /**
     * Writes the figure atomically.
     *
     * @param panels method name to its scores, in display order
     * @param inName name of the in-distribution data, for the legend
     * @param outName name of the out-of-distribution data
     * @throws IOException naming the path when it cannot be written
     */
    public static void write(Path path, Map<String, Panel> panels, String inName, String outName) throws IOException {
        Png.write(path, render(panels, inName, outName));
    }

    static BufferedImage render(Map<String, Panel> panels, String inName, String outName) {
        BufferedImage img =
                new BufferedImage(PANEL_W, PANEL_H * Math.max(1, panels.size()), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, img.getWidth(), img.getHeight());
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            int row = 0;
            for (Map.Entry<String, Panel> e : panels.entrySet()) {
                drawPanel(g, row++ * PANEL_H, e.getKey(), e.getValue(), inName, outName);
            }
        } finally {
            g.dispose();
        }
        return img;
    }

    private static void drawPanel(Graphics2D g, int top, String name, Panel p, String inName, String outName) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (double[] set : new double[][] {p.in(), p.out()}) {
            for (double v : set) {
                if (Double.isFinite(v)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        if (!(hi > lo)) {
            hi = lo + 1;
        }
        double[] hin = bins(p.in(), lo, hi);
        double[] hout = bins(p.out(), lo, hi);
        double max = 0;
        for (int b = 0; b < BINS; b++) {
            max = Math.max(max, Math.max(hin[b], hout[b]));
        }
        int x0 = MARGIN;
        int y0 = top + PANEL_H - MARGIN;
        int w = PANEL_W - 2 * MARGIN;
        int h = PANEL_H - 2 * MARGIN - 20;
        double bw = (double) w / BINS;
        for (Object[] layer : new Object[][] {{hin, IN}, {hout, OUT}}) {
            g.setColor((Color) layer[1]);
            double[] hist = (double[]) layer[0];
            for (int b = 0; b < BINS; b++) {
                int bh = max == 0 ? 0 : (int) Math.round(hist[b] / max * h);
                g.fillRect(x0 + (int) Math.round(b * bw), y0 - bh, (int) Math.ceil(bw), bh);
            }
        }
        g.setColor(Color.DARK_GRAY);
        g.setStroke(new BasicStroke(1));
        g.drawLine(x0, y0, x0 + w, y0);
        g.drawString(
                String.format(
                        Locale.ROOT,
                        "%s   AUROC %.3f  AUPR %.3f  FPR95 %.3f",
                        name,
                        p.metrics().auroc(),
                        p.metrics().aupr(),
                        p.metrics().fpr95()),
                x0,
                top + 16);
        g.drawString(String.format(Locale.ROOT, "%.3g", lo), x0, y0 + 16);
        String right = String.format(Locale.ROOT, "%.3g", hi);
        g.drawString(right, x0 + w - g.getFontMetrics().stringWidth(right), y0 + 16);
        g.setColor(IN.darker());
        g.drawString("in: " + inName, x0, top + 32);
        g.setColor(OUT.darker());
        g.drawString("out: " + outName, x0 + w / 2, top + 32);
    }

    /** Histogram normalised to sum 1. */
    private static double[] bins(double[] values, double lo, double hi) {
        double[] h = new double[BINS];
        int n = 0;
        for (double v : values) {
            if (Double.isFinite(v)) {
                int b = (int) Math.min(BINS - 1, Math.floor((v - lo) / (hi - lo) * BINS));
                h[b]++;
                n++;
            }
        }
        for (int b = 0; b < BINS; b++) {
            h[b] = n == 0 ? 0 : h[b] / n;
        }
        return h;
    }
}
