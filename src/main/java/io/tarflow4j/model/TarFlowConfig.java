package io.tarflow4j.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The architecture of a TarFlow model.
 *
 * @param inChannels image channels (1 or 3)
 * @param imageSize image height and width
 * @param patchSize side of the square patches; a token holds {@code inChannels * patchSize^2} values
 * @param width Transformer width (the reference's {@code channels})
 * @param layersPerBlock Transformer layers in each flow block, one entry per block (deep-shallow
 *     stacks have a long first entry)
 * @param headDim attention head size (64 in the reference)
 * @param mlpExpansion MLP hidden width as a multiple of {@code width} (4 in the reference)
 * @param nvp true: affine map with scale and shift; false: volume-preserving (shift only) with a
 *     learned prior variance
 * @param numClasses number of classes for class conditioning; 0 for an unconditional model
 */
public record TarFlowConfig(
        int inChannels,
        int imageSize,
        int patchSize,
        int width,
        List<Integer> layersPerBlock,
        int headDim,
        int mlpExpansion,
        boolean nvp,
        int numClasses) {

    /** LayerNorm epsilon, fixed as in the reference. */
    public static final double LAYER_NORM_EPS = 1e-5;
    /** Bounds far above the paper's presets, so a crafted file fails before anything is built. */
    public static final int MAX_BLOCKS = 1024;
    /** See {@link #MAX_BLOCKS}. */
    public static final int MAX_LAYERS_PER_BLOCK = 1024;
    /** See {@link #MAX_BLOCKS}. */
    public static final int MAX_WIDTH = 1 << 16;
    /** See {@link #MAX_BLOCKS}: image side in pixels. */
    public static final int MAX_IMAGE_SIZE = 1 << 14;
    /** See {@link #MAX_BLOCKS}. */
    public static final int MAX_CHANNELS = 16;
    /** See {@link #MAX_BLOCKS}: tokens per image and values per token, each. */
    public static final int MAX_TOKENS = 1 << 20;
    /** See {@link #MAX_BLOCKS}. */
    public static final int MAX_CLASSES = 1 << 24;
    /** See {@link #MAX_BLOCKS}. */
    public static final int MAX_MLP_EXPANSION = 64;

    /** Validates every field with a message that names it. */
    public TarFlowConfig {
        require(
                layersPerBlock.size() <= MAX_BLOCKS,
                "blocks must be <= " + MAX_BLOCKS + ", got " + layersPerBlock.size());
        layersPerBlock = List.copyOf(layersPerBlock);
        require(
                inChannels >= 1 && inChannels <= MAX_CHANNELS,
                "in-channels must be 1.." + MAX_CHANNELS + ", got " + inChannels);
        require(
                imageSize >= 1 && imageSize <= MAX_IMAGE_SIZE,
                "image-size must be 1.." + MAX_IMAGE_SIZE + ", got " + imageSize);
        require(
                patchSize >= 1 && imageSize % patchSize == 0,
                "patch-size must divide image-size " + imageSize + ", got " + patchSize);
        require(
                imageSize / patchSize * (imageSize / patchSize) >= 2,
                "image-size / patch-size must give at least 2 tokens, got " + imageSize + "/" + patchSize);
        require(
                (long) inChannels * patchSize * patchSize <= MAX_TOKENS,
                "in-channels x patch-size^2 must be <= " + MAX_TOKENS + ", got " + inChannels + " x " + patchSize
                        + "^2");
        require(
                (long) (imageSize / patchSize) * (imageSize / patchSize) <= MAX_TOKENS,
                "(image-size / patch-size)^2 tokens must be <= " + MAX_TOKENS + ", got " + imageSize + "/" + patchSize);
        require(headDim >= 1, "head-dim must be >= 1, got " + headDim);
        require(
                width >= 1 && width <= MAX_WIDTH && width % headDim == 0,
                "width must be a positive multiple of head-dim " + headDim + " up to " + MAX_WIDTH + ", got " + width);
        require(
                mlpExpansion >= 1 && mlpExpansion <= MAX_MLP_EXPANSION,
                "mlp-expansion must be 1.." + MAX_MLP_EXPANSION + ", got " + mlpExpansion);
        require(!layersPerBlock.isEmpty(), "need at least one flow block");
        for (int l : layersPerBlock) {
            if (l < 1 || l > MAX_LAYERS_PER_BLOCK) {
                throw new IllegalArgumentException(
                        "layers per block must be 1.." + MAX_LAYERS_PER_BLOCK + ", got " + l);
            }
        }
        require(
                numClasses >= 0 && numClasses <= MAX_CLASSES,
                "classes must be 0.." + MAX_CLASSES + ", got " + numClasses);
    }

    /** The reference's constructor: the same number of layers in every block, head 64, MLP x4. */
    public static TarFlowConfig of(
            int inChannels,
            int imageSize,
            int patchSize,
            int width,
            int numBlocks,
            int layersPerBlock,
            boolean nvp,
            int numClasses) {
        require(numBlocks >= 1, "blocks must be >= 1, got " + numBlocks);
        Integer[] layers = new Integer[numBlocks];
        Arrays.fill(layers, layersPerBlock);
        return new TarFlowConfig(inChannels, imageSize, patchSize, width, List.of(layers), 64, 4, nvp, numClasses);
    }

    /** Number of flow blocks. */
    public int numBlocks() {
        return layersPerBlock.size();
    }

    /** Tokens per image, T = (imageSize / patchSize)^2. */
    public int numTokens() {
        int side = imageSize / patchSize;
        return side * side;
    }

    /** Values per token, D = inChannels * patchSize^2. */
    public int tokenDim() {
        return inChannels * patchSize * patchSize;
    }

    /** Values per image, C*H*W = T*D. */
    public int dims() {
        return inChannels * imageSize * imageSize;
    }

    /** Attention heads per layer. */
    public int numHeads() {
        return width / headDim;
    }

    /** Whether the model has class embeddings. */
    public boolean conditional() {
        return numClasses > 0;
    }

    /** This architecture with {@code blocks} flow blocks of the first block's layer count (e.g. to time one block of a large model). */
    public TarFlowConfig withBlocks(int blocks) {
        require(blocks >= 1, "blocks must be >= 1, got " + blocks);
        return new TarFlowConfig(
                inChannels,
                imageSize,
                patchSize,
                width,
                java.util.Collections.nCopies(blocks, layersPerBlock.get(0)),
                headDim,
                mlpExpansion,
                nvp,
                numClasses);
    }

    /** A copy with another class count. */
    public TarFlowConfig withNumClasses(int classes) {
        return new TarFlowConfig(
                inChannels, imageSize, patchSize, width, layersPerBlock, headDim, mlpExpansion, nvp, classes);
    }

    /** Number of trainable parameters (the reference's count, buffers excluded). */
    public long parameterCount() {
        long c = width;
        long d = tokenDim();
        long t = numTokens();
        long layer = (2 * c)
                + (3 * c * c + 3 * c)
                + (c * c + c) // attention
                + (2 * c)
                + (mlpExpansion * c * c + mlpExpansion * c)
                + (mlpExpansion * c * c + c); // MLP
        long out = nvp ? 2 * d : d;
        long total = 0;
        for (int layers : layersPerBlock) {
            total += d * c + c + t * c + (long) numClasses * c + layers * layer + c * out + out;
        }
        return total;
    }

    /** One line for logs: {@code 28x28x1 patch 4, width 128, blocks [4, 4, 4, 4], NVP, 10 classes}. */
    public String describe() {
        List<Integer> layers = new ArrayList<>(layersPerBlock);
        return imageSize + "x" + imageSize + "x" + inChannels + " patch " + patchSize + ", width "
                + width + ", layers per block " + layers + ", head " + headDim + ", "
                + (nvp ? "NVP" : "VP") + ", "
                + (numClasses == 0 ? "unconditional" : numClasses + " classes");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
