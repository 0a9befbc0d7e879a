package io.tarflow4j.evaluation;

import io.tarflow4j.io.PyTorchCheckpoint;
import io.tarflow4j.io.RawTensor;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.Ops;
import io.tarflow4j.tensor.RawTensors;
import io.tarflow4j.tensor.StateDicts;
import io.tarflow4j.tensor.Tensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The Inception-v3 network of the standard FID (pytorch-fid's {@code FIDInceptionA/C/E_1/E_2}
 * variant of torchvision's Inception3, the port of TensorFlow's 2015-12-05 graph): pool3
 * features, 2048 per image.
 *
 * <p>Differences from torchvision's Inception3, as pytorch-fid: the average pools in the A, C
 * and first E blocks exclude the zero padding from the mean ({@code count_include_pad=False}),
 * and the pool branch of the last E block (Mixed_7c) is a 3x3 max-pool. Every convolution is
 * {@code BasicConv2d}: conv without bias, BatchNorm with eps 0.001 and running statistics, ReLU.
 *
 * <p>Input: images (B, 3, H, W) in [-1, 1] (pytorch-fid's {@code 2x-1} of [0, 1] images); they are
 * resized bilinearly (align_corners=False) to 299x299 first. Grayscale images (1 channel) are
 * repeated to 3 channels.
 *
 * <p>Weights: {@code pt_inception-2015-12-05-6726825d.pth} (a state dict with torchvision's
 * names; its {@code fc.*} classifier of 1008 classes and any {@code num_batches_tracked} are
 * accepted and not used), read with the restricted {@link PyTorchCheckpoint} reader, or a
 * safetensors file with the same names.
 */
public final class InceptionV3Fid {
    /** The feature dimension (pool3). */
    public static final int FEATURES = 2048;
    /** The input side the network resizes images to. */
    public static final int INPUT_SIZE = 299;
    /** BatchNorm epsilon of every BasicConv2d. */
    public static final double BN_EPS = 0.001;

    private static final List<String> CONVS = new ArrayList<>();
    private static final Map<String, long[]> SHAPES = buildShapes();

    private final Map<String, Tensor> weights;
    private final int inputSize;

    private InceptionV3Fid(Map<String, Tensor> weights, int inputSize) {
        this.weights = weights;
        this.inputSize = inputSize;
        weights.values().forEach(Tensor::retainReference);
    }

    /**
     * Every tensor the network uses, by the state-dict name, with its shape (conv weights and
     * the four BatchNorm tensors of each of the 94 BasicConv2d, in forward order).
     */
    public static Map<String, long[]> tensorShapes() {
        return SHAPES;
    }

    /** Loads {@code pt_inception-2015-12-05-6726825d.pth} (or a safetensors file with the same names). */
    public static InceptionV3Fid load(Path path) throws IOException {
        Map<String, RawTensor> raw;
        String name = path.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        if (name.endsWith(".safetensors")) {
            try (var f = io.tarflow4j.io.Safetensors.read(path)) {
                raw = new LinkedHashMap<>(f.tensors());
            }
        } else {
            raw = PyTorchCheckpoint.read(path);
        }
        Map<String, Tensor> state = new LinkedHashMap<>();
        raw.forEach((k, v) -> state.put(k, RawTensors.toTensor(v)));
        try {
            return fromState(state, INPUT_SIZE);
        } catch (IllegalArgumentException e) {
            throw new IOException(path + ": not the FID Inception weights: " + e.getMessage(), e);
        }
    }

    /**
     * The network with the given state dict. Every name of {@link #tensorShapes()} must be present
     * with its shape; {@code fc.weight}, {@code fc.bias} and {@code *.num_batches_tracked} may be
     * present; anything else is refused.
     *
     * @param inputSize the side images are resized to: 299 for FID (smaller only for tests; at least 75)
     */
    public static InceptionV3Fid fromState(Map<String, Tensor> state, int inputSize) {
        if (inputSize < 75) {
            throw new IllegalArgumentException("Inception-v3 needs inputs of at least 75x75, got " + inputSize);
        }
        List<String> problems = StateDicts.problems(
                SHAPES,
                StateDicts.shapes(state),
                name -> false,
                name -> name.equals("fc.weight") || name.equals("fc.bias") || name.endsWith(".num_batches_tracked"));
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(problems.size() + " problem(s): " + StateDicts.summary(problems, 8));
        }
        Map<String, Tensor> w = new LinkedHashMap<>();
        SHAPES.keySet()
                .forEach(
                        name -> w.put(name, state.get(name).to(ScalarType.Float).contiguous()));
        // fold BatchNorm into a scale and shift per channel: y = conv(x) * scale + shift
        Map<String, Tensor> folded = new LinkedHashMap<>();
        try (GradMode g = GradMode.off()) {
            for (String conv : convNames()) {
                Tensor scale = w.get(conv + ".bn.weight")
                        .div(w.get(conv + ".bn.running_var").add(Ops.s(BN_EPS)).sqrt());
                Tensor shift = w.get(conv + ".bn.bias")
                        .sub(w.get(conv + ".bn.running_mean").mul(scale));
                folded.put(
                        conv + ".weight",
                        w.get(conv + ".conv.weight")
                                .mul(scale.reshape(-1, 1, 1, 1))
                                .contiguous());
                folded.put(conv + ".bias", shift.contiguous());
            }
        }
        return new InceptionV3Fid(Collections.unmodifiableMap(folded), inputSize);
    }

    /** Pool3 features (B, 2048) of images (B, 1 or 3, H, W) in [-1, 1]. */
    public Tensor features(Tensor images) {
        long[] s = Tensors.shape(images);
        if (s.length != 4 || (s[1] != 1 && s[1] != 3)) {
            throw new IllegalArgumentException("Inception takes images (B, 1 or 3, H, W), got " + Arrays.toString(s));
        }
        try (GradMode g = GradMode.off()) {
            Tensor x = images.to(ScalarType.Float);
            if (s[1] == 1) {
                x = x.repeat(1, 3, 1, 1);
            }
            x = torch.upsample_bilinear2d(
                    x, new long[] {inputSize, inputSize}, false, new DoubleOptional(), new DoubleOptional());
            x = conv(x, "Conv2d_1a_3x3", 2, 0, 0);
            x = conv(x, "Conv2d_2a_3x3", 1, 0, 0);
            x = conv(x, "Conv2d_2b_3x3", 1, 1, 1);
            x = maxPool(x, 2, 0);
            x = conv(x, "Conv2d_3b_1x1", 1, 0, 0);
            x = conv(x, "Conv2d_4a_3x3", 1, 0, 0);
            x = maxPool(x, 2, 0);
            x = blockA(x, "Mixed_5b");
            x = blockA(x, "Mixed_5c");
            x = blockA(x, "Mixed_5d");
            x = blockB(x, "Mixed_6a");
            x = blockC(x, "Mixed_6b");
            x = blockC(x, "Mixed_6c");
            x = blockC(x, "Mixed_6d");
            x = blockC(x, "Mixed_6e");
            x = blockD(x, "Mixed_7a");
            x = blockE(x, "Mixed_7b", false);
            x = blockE(x, "Mixed_7c", true);
            return torch.adaptive_avg_pool2d(x, 1, 1).flatten(1, -1);
        }
    }

    /** BasicConv2d with BatchNorm folded in: conv, per-channel scale and shift, ReLU. */
    Tensor conv(Tensor x, String name, long stride, long padH, long padW) {
        return torch.relu(torch.conv2d(
                x,
                weights.get(name + ".weight"),
                new TensorOptional(weights.get(name + ".bias")),
                new long[] {stride, stride},
                new long[] {padH, padW},
                new long[] {1, 1},
                1));
    }

    /** Average pool 3x3, stride 1, padding 1, the padding not counted (TensorFlow's pool). */
    static Tensor avgPoolNoPad(Tensor x) {
        return torch.avg_pool2d(
                x, new long[] {3, 3}, new long[] {1, 1}, new long[] {1, 1}, false, false, new LongOptional());
    }

    private static Tensor maxPool(Tensor x, long stride, long pad) {
        return torch.max_pool2d(
                x, new long[] {3, 3}, new long[] {stride, stride}, new long[] {pad, pad}, new long[] {1, 1}, false);
    }

    private Tensor blockA(Tensor x, String p) {
        Tensor b1 = conv(x, p + ".branch1x1", 1, 0, 0);
        Tensor b5 = conv(conv(x, p + ".branch5x5_1", 1, 0, 0), p + ".branch5x5_2", 1, 2, 2);
        Tensor b3 = conv(
                conv(conv(x, p + ".branch3x3dbl_1", 1, 0, 0), p + ".branch3x3dbl_2", 1, 1, 1),
                p + ".branch3x3dbl_3",
                1,
                1,
                1);
        Tensor bp = conv(avgPoolNoPad(x), p + ".branch_pool", 1, 0, 0);
        return Ops.cat(1, b1, b5, b3, bp);
    }

    private Tensor blockB(Tensor x, String p) {
        Tensor b3 = conv(x, p + ".branch3x3", 2, 0, 0);
        Tensor bd = conv(
                conv(conv(x, p + ".branch3x3dbl_1", 1, 0, 0), p + ".branch3x3dbl_2", 1, 1, 1),
                p + ".branch3x3dbl_3",
                2,
                0,
                0);
        return Ops.cat(1, b3, bd, maxPool(x, 2, 0));
    }

    private Tensor blockC(Tensor x, String p) {
        Tensor b1 = conv(x, p + ".branch1x1", 1, 0, 0);
        Tensor b7 = conv(x, p + ".branch7x7_1", 1, 0, 0);
        b7 = conv(b7, p + ".branch7x7_2", 1, 0, 3);
        b7 = conv(b7, p + ".branch7x7_3", 1, 3, 0);
        Tensor bd = conv(x, p + ".branch7x7dbl_1", 1, 0, 0);
        bd = conv(bd, p + ".branch7x7dbl_2", 1, 3, 0);
        bd = conv(bd, p + ".branch7x7dbl_3", 1, 0, 3);
        bd = conv(bd, p + ".branch7x7dbl_4", 1, 3, 0);
        bd = conv(bd, p + ".branch7x7dbl_5", 1, 0, 3);
        Tensor bp = conv(avgPoolNoPad(x), p + ".branch_pool", 1, 0, 0);
        return Ops.cat(1, b1, b7, bd, bp);
    }

    private Tensor blockD(Tensor x, String p) {
        Tensor b3 = conv(conv(x, p + ".branch3x3_1", 1, 0, 0), p + ".branch3x3_2", 2, 0, 0);
        Tensor b7 = conv(x, p + ".branch7x7x3_1", 1, 0, 0);
        b7 = conv(b7, p + ".branch7x7x3_2", 1, 0, 3);
        b7 = conv(b7, p + ".branch7x7x3_3", 1, 3, 0);
        b7 = conv(b7, p + ".branch7x7x3_4", 2, 0, 0);
        return Ops.cat(1, b3, b7, maxPool(x, 2, 0));
    }

    private Tensor blockE(Tensor x, String p, boolean maxPoolBranch) {
        Tensor b1 = conv(x, p + ".branch1x1", 1, 0, 0);
        Tensor b3 = conv(x, p + ".branch3x3_1", 1, 0, 0);
        b3 = Ops.cat(1, conv(b3, p + ".branch3x3_2a", 1, 0, 1), conv(b3, p + ".branch3x3_2b", 1, 1, 0));
        Tensor bd = conv(conv(x, p + ".branch3x3dbl_1", 1, 0, 0), p + ".branch3x3dbl_2", 1, 1, 1);
        bd = Ops.cat(1, conv(bd, p + ".branch3x3dbl_3a", 1, 0, 1), conv(bd, p + ".branch3x3dbl_3b", 1, 1, 0));
        Tensor pooled = maxPoolBranch ? maxPool(x, 1, 1) : avgPoolNoPad(x);
        Tensor bp = conv(pooled, p + ".branch_pool", 1, 0, 0);
        return Ops.cat(1, b1, b3, bd, bp);
    }

    private static List<String> convNames() {
        return CONVS;
    }

    private static Map<String, long[]> buildShapes() {
        Map<String, long[]> m = new LinkedHashMap<>();
        basic(m, "Conv2d_1a_3x3", 3, 32, 3, 3);
        basic(m, "Conv2d_2a_3x3", 32, 32, 3, 3);
        basic(m, "Conv2d_2b_3x3", 32, 64, 3, 3);
        basic(m, "Conv2d_3b_1x1", 64, 80, 1, 1);
        basic(m, "Conv2d_4a_3x3", 80, 192, 3, 3);
        shapesA(m, "Mixed_5b", 192, 32);
        shapesA(m, "Mixed_5c", 256, 64);
        shapesA(m, "Mixed_5d", 288, 64);
        String b = "Mixed_6a";
        basic(m, b + ".branch3x3", 288, 384, 3, 3);
        basic(m, b + ".branch3x3dbl_1", 288, 64, 1, 1);
        basic(m, b + ".branch3x3dbl_2", 64, 96, 3, 3);
        basic(m, b + ".branch3x3dbl_3", 96, 96, 3, 3);
        shapesC(m, "Mixed_6b", 128);
        shapesC(m, "Mixed_6c", 160);
        shapesC(m, "Mixed_6d", 160);
        shapesC(m, "Mixed_6e", 192);
        String d = "Mixed_7a";
        basic(m, d + ".branch3x3_1", 768, 192, 1, 1);
        basic(m, d + ".branch3x3_2", 192, 320, 3, 3);
        basic(m, d + ".branch7x7x3_1", 768, 192, 1, 1);
        basic(m, d + ".branch7x7x3_2", 192, 192, 1, 7);
        basic(m, d + ".branch7x7x3_3", 192, 192, 7, 1);
        basic(m, d + ".branch7x7x3_4", 192, 192, 3, 3);
        shapesE(m, "Mixed_7b", 1280);
        shapesE(m, "Mixed_7c", 2048);
        return Collections.unmodifiableMap(m);
    }

    private static void shapesA(Map<String, long[]> m, String p, int in, int pool) {
        basic(m, p + ".branch1x1", in, 64, 1, 1);
        basic(m, p + ".branch5x5_1", in, 48, 1, 1);
        basic(m, p + ".branch5x5_2", 48, 64, 5, 5);
        basic(m, p + ".branch3x3dbl_1", in, 64, 1, 1);
        basic(m, p + ".branch3x3dbl_2", 64, 96, 3, 3);
        basic(m, p + ".branch3x3dbl_3", 96, 96, 3, 3);
        basic(m, p + ".branch_pool", in, pool, 1, 1);
    }

    private static void shapesC(Map<String, long[]> m, String p, int c7) {
        basic(m, p + ".branch1x1", 768, 192, 1, 1);
        basic(m, p + ".branch7x7_1", 768, c7, 1, 1);
        basic(m, p + ".branch7x7_2", c7, c7, 1, 7);
        basic(m, p + ".branch7x7_3", c7, 192, 7, 1);
        basic(m, p + ".branch7x7dbl_1", 768, c7, 1, 1);
        basic(m, p + ".branch7x7dbl_2", c7, c7, 7, 1);
        basic(m, p + ".branch7x7dbl_3", c7, c7, 1, 7);
        basic(m, p + ".branch7x7dbl_4", c7, c7, 7, 1);
        basic(m, p + ".branch7x7dbl_5", c7, 192, 1, 7);
        basic(m, p + ".branch_pool", 768, 192, 1, 1);
    }

    private static void shapesE(Map<String, long[]> m, String p, int in) {
        basic(m, p + ".branch1x1", in, 320, 1, 1);
        basic(m, p + ".branch3x3_1", in, 384, 1, 1);
        basic(m, p + ".branch3x3_2a", 384, 384, 1, 3);
        basic(m, p + ".branch3x3_2b", 384, 384, 3, 1);
        basic(m, p + ".branch3x3dbl_1", in, 448, 1, 1);
        basic(m, p + ".branch3x3dbl_2", 448, 384, 3, 3);
        basic(m, p + ".branch3x3dbl_3a", 384, 384, 1, 3);
        basic(m, p + ".branch3x3dbl_3b", 384, 384, 3, 1);
        basic(m, p + ".branch_pool", in, 192, 1, 1);
    }

    private static void basic(Map<String, long[]> m, String name, int in, int out, int kh, int kw) {
        CONVS.add(name);
        m.put(name + ".conv.weight", new long[] {out, in, kh, kw});
        for (String t : List.of("weight", "bias", "running_mean", "running_var")) {
            m.put(name + ".bn." + t, new long[] {out});
        }
    }
}
