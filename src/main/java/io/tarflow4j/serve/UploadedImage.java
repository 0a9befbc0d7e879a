package io.tarflow4j.serve;

import io.tarflow4j.data.ImageOps;
import io.tarflow4j.io.ImageException;
import io.tarflow4j.io.Images;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * An uploaded PNG or JPEG prepared for the model the way datasets are: channels converted (RGB to
 * gray by {@code 0.299R + 0.587G + 0.114B}, gray to RGB by replication), the shorter side scaled
 * to the model's size and the centre cropped (see {@link ImageOps}).
 *
 * @param pixels 8-bit pixels (C, H, W) at the model's channels and size
 * @param channels C
 * @param size H = W
 * @param notes what was changed, for the client (empty when the image fitted as it was)
 */
public record UploadedImage(byte[] pixels, int channels, int size, List<String> notes) {

    /** Copies the notes. */
    public UploadedImage {
        notes = List.copyOf(notes);
    }

    /**
     * Decodes and prepares an upload.
     *
     * @param bytes the file's bytes
     * @param channels the model's channels, 1 or 3
     * @param size the model's image size
     * @param maxPixels the largest image accepted, checked before decoding
     * @throws HttpError 415 when the bytes are not a PNG or JPEG, 413 when the image is too large,
     *     400 when it cannot be decoded
     */
    public static UploadedImage decode(byte[] bytes, int channels, int size, long maxPixels) {
        BufferedImage image = read(bytes, maxPixels);
        List<String> notes = new ArrayList<>();
        int w = image.getWidth();
        int h = image.getHeight();
        int stored = ImageOps.channelsOf(image);
        byte[] chw = ImageOps.toChw(image);
        if (image.getColorModel().hasAlpha()) {
            notes.add("dropped the alpha channel");
        }
        if (stored != channels) {
            chw = ImageOps.convertChannels(chw, stored, channels, w * h);
            notes.add(
                    stored == 3
                            ? "converted RGB to grayscale (0.299 R + 0.587 G + 0.114 B)"
                            : "converted grayscale to RGB");
        }
        if (w != size || h != size) {
            chw = ImageOps.resizeAndCenterCrop(chw, channels, h, w, size);
            notes.add("resized " + w + "x" + h + " to " + size + "x" + size
                    + (w != h ? " (shorter side scaled, centre cropped)" : ""));
        }
        return new UploadedImage(chw, channels, size, notes);
    }

    private static BufferedImage read(byte[] bytes, long maxPixels) {
        if (bytes.length == 0) {
            throw new HttpError(400, "the upload is empty; send a PNG or JPEG image");
        }
        // in memory: no temporary files, no shutdown hook per stream (ImageIO's default cache)
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            return Images.decode(in, "the upload", Images.PNG_JPEG, maxPixels);
        } catch (ImageException e) {
            throw switch (e.problem()) {
                case UNSUPPORTED -> new HttpError(415, "the upload is not a PNG or JPEG image");
                case TOO_LARGE -> new HttpError(413, e.getMessage());
                case CORRUPT -> new HttpError(400, e.getMessage());
            };
        } catch (IOException e) {
            throw new HttpError(400, "cannot read the upload: " + e.getMessage());
        }
    }
}
