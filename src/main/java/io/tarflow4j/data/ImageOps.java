package io.tarflow4j.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.Raster;

/**
 * Pixel operations on 8-bit CHW images: decoding, channel conversion, resizing and centre
 * cropping. All methods are pure functions of their arguments. Public for code outside the data
 * package that prepares single images the way datasets are prepared (the web server's uploads).
 */
public final class ImageOps {
    private ImageOps() {}

    /**
     * Converts a decoded image to CHW bytes, keeping gray images gray (their stored sample values,
     * not colour-managed ones) and turning anything else into RGB.
     *
     * @param image the decoded image
     * @return 1 or 3 channels of {@code height * width} bytes
     */
    public static byte[] toChw(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        if (isGray(image)) {
            Raster raster = image.getRaster();
            int bits = image.getColorModel().getComponentSize(0);
            int[] row = new int[w];
            byte[] out = new byte[h * w];
            for (int y = 0; y < h; y++) {
                raster.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    out[y * w + x] = (byte) scaleTo8Bits(row[x], bits);
                }
            }
            return out;
        }
        int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
        int plane = h * w;
        byte[] out = new byte[3 * plane];
        for (int k = 0; k < plane; k++) {
            int p = argb[k];
            out[k] = (byte) (p >>> 16);
            out[plane + k] = (byte) (p >>> 8);
            out[2 * plane + k] = (byte) p;
        }
        return out;
    }

    /**
     * Returns how many channels {@link #toChw} produces for an image.
     *
     * @param image the decoded image
     * @return 1 for gray images, 3 otherwise
     */
    public static int channelsOf(BufferedImage image) {
        return isGray(image) ? 1 : 3;
    }

    private static boolean isGray(BufferedImage image) {
        ColorModel cm = image.getColorModel();
        return cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY
                && cm.getNumColorComponents() == 1
                && image.getRaster().getNumBands() >= 1
                && cm.getComponentSize(0) <= 16;
    }

    private static int scaleTo8Bits(int sample, int bits) {
        if (bits == 8) {
            return sample;
        }
        int max = (1 << bits) - 1;
        return Math.round(sample * 255f / max);
    }

    /**
     * Converts between 1 and 3 channels: gray to RGB replicates the plane; RGB to gray is
     * {@code round(0.299 R + 0.587 G + 0.114 B)}.
     *
     * @param chw the image
     * @param from its channel count
     * @param to the wanted channel count
     * @param plane {@code height * width}
     * @return the converted image ({@code chw} itself when no conversion is needed)
     */
    public static byte[] convertChannels(byte[] chw, int from, int to, int plane) {
        if (from == to) {
            return chw;
        }
        if (from == 1 && to == 3) {
            byte[] out = new byte[3 * plane];
            for (int c = 0; c < 3; c++) {
                System.arraycopy(chw, 0, out, c * plane, plane);
            }
            return out;
        }
        if (from == 3 && to == 1) {
            byte[] out = new byte[plane];
            for (int k = 0; k < plane; k++) {
                double gray =
                        0.299 * (chw[k] & 0xFF) + 0.587 * (chw[plane + k] & 0xFF) + 0.114 * (chw[2 * plane + k] & 0xFF);
                out[k] = (byte) Math.min(255, Math.round(gray));
            }
            return out;
        }
        throw new IllegalArgumentException("cannot convert " + from + " channels to " + to);
    }

    /**
     * Scales an image so that its shorter side becomes {@code size}, then crops the centre
     * {@code size x size} square (when the leftover is odd, the extra pixel is cut from the
     * bottom/right).
     *
     * @param chw the image
     * @param channels its channels
     * @param height its height
     * @param width its width
     * @param size the target square size
     * @return {@code channels * size * size} bytes
     */
    public static byte[] resizeAndCenterCrop(byte[] chw, int channels, int height, int width, int size) {
        if (height == size && width == size) {
            return chw;
        }
        int newH;
        int newW;
        if (height <= width) {
            newH = size;
            newW = Math.max(size, (int) Math.round((double) width * size / height));
        } else {
            newW = size;
            newH = Math.max(size, (int) Math.round((double) height * size / width));
        }
        byte[] scaled = resize(chw, channels, height, width, newH, newW);
        int top = (newH - size) / 2;
        int left = (newW - size) / 2;
        byte[] out = new byte[channels * size * size];
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < size; y++) {
                System.arraycopy(scaled, (c * newH + top + y) * newW + left, out, (c * size + y) * size, size);
            }
        }
        return out;
    }

    /**
     * Resizes an image with a separable filter: exact area averaging along an axis that shrinks,
     * bilinear interpolation (pixel centres aligned, edges clamped) along an axis that grows.
     *
     * @param chw the image
     * @param channels its channels
     * @param height its height
     * @param width its width
     * @param newH the new height
     * @param newW the new width
     * @return {@code channels * newH * newW} bytes
     */
    public static byte[] resize(byte[] chw, int channels, int height, int width, int newH, int newW) {
        if (height == newH && width == newW) {
            return chw;
        }
        Weights wx = Weights.of(width, newW);
        Weights wy = Weights.of(height, newH);
        float[] rows = new float[height * newW];
        byte[] out = new byte[channels * newH * newW];
        for (int c = 0; c < channels; c++) {
            int src = c * height * width;
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < newW; x++) {
                    float acc = 0;
                    int first = wx.first[x];
                    float[] w = wx.weights[x];
                    for (int k = 0; k < w.length; k++) {
                        acc += w[k] * (chw[src + y * width + first + k] & 0xFF);
                    }
                    rows[y * newW + x] = acc;
                }
            }
            int dst = c * newH * newW;
            for (int y = 0; y < newH; y++) {
                int first = wy.first[y];
                float[] w = wy.weights[y];
                for (int x = 0; x < newW; x++) {
                    float acc = 0;
                    for (int k = 0; k < w.length; k++) {
                        acc += w[k] * rows[(first + k) * newW + x];
                    }
                    out[dst + y * newW + x] = (byte) Math.max(0, Math.min(255, Math.round(acc)));
                }
            }
        }
        return out;
    }

    /** Per output pixel along one axis: the first input pixel used and the weights from there on. */
    private record Weights(int[] first, float[][] weights) {
        static Weights of(int in, int out) {
            int[] first = new int[out];
            float[][] weights = new float[out][];
            double scale = (double) in / out;
            for (int o = 0; o < out; o++) {
                if (scale > 1) {
                    double lo = o * scale;
                    double hi = Math.min(in, (o + 1) * scale);
                    int i0 = (int) Math.floor(lo);
                    int i1 = Math.min(in, (int) Math.ceil(hi));
                    float[] w = new float[i1 - i0];
                    for (int i = i0; i < i1; i++) {
                        double overlap = Math.min(hi, i + 1) - Math.max(lo, i);
                        w[i - i0] = (float) (overlap / (hi - lo));
                    }
                    first[o] = i0;
                    weights[o] = w;
                } else {
                    double centre = Math.max(0, (o + 0.5) * scale - 0.5);
                    int i0 = Math.min(in - 1, (int) Math.floor(centre));
                    double t = centre - i0;
                    if (i0 + 1 >= in || t == 0) {
                        first[o] = i0;
                        weights[o] = new float[] {1f};
                    } else {
                        first[o] = i0;
                        weights[o] = new float[] {(float) (1 - t), (float) t};
                    }
                }
            }
            return new Weights(first, weights);
        }
    }
}
