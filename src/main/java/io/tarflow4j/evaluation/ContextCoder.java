package io.tarflow4j.evaluation;

import java.io.ByteArrayOutputStream;

/**
 * A small lossless image compressor: each 8-bit value, plane by plane in raster order, is
 * predicted from its causal neighbours by LOCO-I's median edge detector, and the prediction error
 * is range-coded with an adaptive frequency table chosen by the local gradient activity (18
 * contexts). Its code length is the "complexity" of {@link AnomalyMethod#COMPLEXITY}: a universal
 * local model of images, measured shorter than PNG's deflate on Fashion-MNIST (see
 * docs/evaluation.md). Stateless and thread-safe.
 */
public final class ContextCoder {
    private static final int SYMBOLS = 256;
    private static final int ACTIVITY_BUCKETS = 9;
    private static final int CONTEXTS = 2 * ACTIVITY_BUCKETS;
    private static final int INCREMENT = 24;
    private static final int MAX_TOTAL = 1 << 16;
    private static final long TOP = 1L << 24;

    private ContextCoder() {}

    /** Compressed size in bits of CHW 8-bit pixels of {@code channels} planes of {@code height x width}. */
    public static long bits(byte[] pixels, int channels, int height, int width) {
        return 8L * encode(pixels, channels, height, width).length;
    }

    /** Compressed size in bits per value (bits/dim), the figure compared with a model's bits/dim. */
    public static double bitsPerDim(byte[] pixels, int channels, int height, int width) {
        return (double) bits(pixels, channels, height, width) / pixels.length;
    }

    /**
     * Compresses CHW 8-bit pixels.
     *
     * @throws IllegalArgumentException when the array does not hold {@code channels * height * width} values
     */
    public static byte[] encode(byte[] pixels, int channels, int height, int width) {
        checkLength(pixels.length, channels, height, width);
        Encoder out = new Encoder();
        Tables tables = new Tables();
        int plane = height * width;
        for (int c = 0; c < channels; c++) {
            for (int r = 0; r < height; r++) {
                for (int x = 0; x < width; x++) {
                    int at = c * plane + r * width + x;
                    int[] ctx = context(pixels, c * plane, r, x, width);
                    int symbol = zigzag((pixels[at] & 0xFF) - ctx[0]);
                    int[] counts = tables.counts[ctx[1]];
                    out.encode(cumulative(counts, symbol), counts[symbol], tables.total[ctx[1]]);
                    tables.update(ctx[1], symbol);
                }
            }
        }
        return out.finish();
    }

    /**
     * Decompresses what {@link #encode} wrote.
     *
     * @throws IllegalArgumentException when the data ends early
     */
    public static byte[] decode(byte[] data, int channels, int height, int width) {
        byte[] pixels = new byte[checkLength(-1, channels, height, width)];
        Decoder in = new Decoder(data);
        Tables tables = new Tables();
        int plane = height * width;
        for (int c = 0; c < channels; c++) {
            for (int r = 0; r < height; r++) {
                for (int x = 0; x < width; x++) {
                    int[] ctx = context(pixels, c * plane, r, x, width);
                    int[] counts = tables.counts[ctx[1]];
                    int target = in.target(tables.total[ctx[1]]);
                    int symbol = 0;
                    int cum = 0;
                    while (cum + counts[symbol] <= target) {
                        cum += counts[symbol++];
                    }
                    in.consume(cum, counts[symbol]);
                    tables.update(ctx[1], symbol);
                    pixels[c * plane + r * width + x] = (byte) (ctx[0] + unzigzag(symbol));
                }
            }
        }
        return pixels;
    }

    private static int checkLength(int length, int channels, int height, int width) {
        long n = (long) channels * height * width;
        if (channels < 1 || height < 1 || width < 1 || n > Integer.MAX_VALUE || (length >= 0 && length != n)) {
            throw new IllegalArgumentException("expected " + channels + "x" + height + "x" + width + " = " + n
                    + " pixel values" + (length >= 0 ? ", got " + length : ""));
        }
        return (int) n;
    }

    /** {prediction, context} of the value at (r, x) of the plane starting at {@code base}; outside the image is 0. */
    private static int[] context(byte[] p, int base, int r, int x, int width) {
        int w = x > 0 ? p[base + r * width + x - 1] & 0xFF : 0;
        int n = r > 0 ? p[base + (r - 1) * width + x] & 0xFF : 0;
        int nw = r > 0 && x > 0 ? p[base + (r - 1) * width + x - 1] & 0xFF : 0;
        int ne = r > 0 && x + 1 < width ? p[base + (r - 1) * width + x + 1] & 0xFF : 0;
        int prediction;
        if (nw >= Math.max(w, n)) {
            prediction = Math.min(w, n);
        } else if (nw <= Math.min(w, n)) {
            prediction = Math.max(w, n);
        } else {
            prediction = w + n - nw;
        }
        int activity = Math.abs(w - nw) + Math.abs(n - nw) + Math.abs(ne - n);
        int bucket = activity == 0 ? 0 : Math.min(ACTIVITY_BUCKETS - 1, 32 - Integer.numberOfLeadingZeros(activity));
        return new int[] {prediction, bucket * 2 + (prediction == 0 ? 0 : 1)};
    }

    /** Prediction error mod 256 as 0, -1, 1, -2, 2, ... -> 0, 1, 2, 3, 4, ... */
    private static int zigzag(int error) {
        int e = (byte) error; // -128..127
        return e >= 0 ? 2 * e : -2 * e - 1;
    }

    private static int unzigzag(int symbol) {
        return (symbol & 1) == 0 ? symbol >>> 1 : -((symbol + 1) >>> 1);
    }

    private static int cumulative(int[] counts, int symbol) {
        int cum = 0;
        for (int s = 0; s < symbol; s++) {
            cum += counts[s];
        }
        return cum;
    }

    /** One adaptive frequency table per context, starting from a geometric prior that widens with activity. */
    private static final class Tables {
        final int[][] counts = new int[CONTEXTS][SYMBOLS];
        final int[] total = new int[CONTEXTS];

        Tables() {
            for (int ctx = 0; ctx < CONTEXTS; ctx++) {
                double scale = 1 << (ctx / 2);
                for (int s = 0; s < SYMBOLS; s++) {
                    counts[ctx][s] = Math.max(1, (int) Math.round(64 * Math.exp(-s / (2 * scale))));
                    total[ctx] += counts[ctx][s];
                }
            }
        }

        void update(int ctx, int symbol) {
            counts[ctx][symbol] += INCREMENT;
            total[ctx] += INCREMENT;
            if (total[ctx] >= MAX_TOTAL) {
                total[ctx] = 0;
                for (int s = 0; s < SYMBOLS; s++) {
                    counts[ctx][s] = (counts[ctx][s] + 1) >>> 1;
                    total[ctx] += counts[ctx][s];
                }
            }
        }
    }

    /** A range coder with carry propagation (32-bit range, byte output). */
    private static final class Encoder {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private long low;
        private long range = 0xFFFFFFFFL;
        private int cache;
        private long cacheSize = 1;

        void encode(int cum, int freq, int total) {
            long r = range / total;
            low += r * cum;
            range = r * freq;
            while (range < TOP) {
                range <<= 8;
                shiftLow();
            }
        }

        private void shiftLow() {
            if (low < 0xFF000000L || low > 0xFFFFFFFFL) {
                int carry = (int) (low >>> 32);
                int temp = cache;
                do {
                    out.write((temp + carry) & 0xFF);
                    temp = 0xFF;
                } while (--cacheSize != 0);
                cache = (int) ((low >>> 24) & 0xFF);
            }
            cacheSize++;
            low = (low & 0x00FFFFFFL) << 8;
        }

        byte[] finish() {
            for (int i = 0; i < 5; i++) {
                shiftLow();
            }
            return out.toByteArray();
        }
    }

    private static final class Decoder {
        private final byte[] data;
        private int position;
        private long range = 0xFFFFFFFFL;
        private long code;
        private long step;

        Decoder(byte[] data) {
            this.data = data;
            for (int i = 0; i < 5; i++) {
                code = ((code << 8) | next()) & 0xFFFFFFFFL;
            }
        }

        int target(int total) {
            step = range / total;
            return (int) Math.min(code / step, total - 1);
        }

        void consume(int cum, int freq) {
            code -= step * cum;
            range = step * freq;
            while (range < TOP) {
                code = ((code << 8) | next()) & 0xFFFFFFFFL;
                range <<= 8;
            }
        }

        private int next() {
            if (position >= data.length) {
                throw new IllegalArgumentException("compressed data ends early after " + data.length + " bytes");
            }
            return data[position++] & 0xFF;
        }
    }
}
