package io.tarflow4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ImageOpsTest {

    private static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    @Test
    void downscaleAveragesAreas() {
        byte[] image = bytes(10, 20, 30, 50, 30, 40, 70, 90, 0, 0, 200, 200, 0, 4, 255, 255);
        assertArrayEquals(bytes(25, 60, 1, 228), ImageOps.resize(image, 1, 4, 4, 2, 2));
    }

    @Test
    void shorterSideIsResizedThenCentreCropped() {
        // 8 wide, 4 high: each 2x2 block has the value of its block column times 10.
        byte[] image = new byte[32];
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 8; x++) {
                image[y * 8 + x] = (byte) ((x / 2) * 10 + (x % 2) * 2);
            }
        }
        // -> 4x2 with block values 1, 11, 21, 31; centre 2x2 crop keeps block columns 1 and 2.
        assertArrayEquals(bytes(11, 21, 11, 21), ImageOps.resizeAndCenterCrop(image, 1, 4, 8, 2));
    }

    @Test
    void cropWithoutResizeKeepsCentreColumns() {
        byte[] image = new byte[2 * 4 * 6];
        for (int c = 0; c < 2; c++) {
            for (int y = 0; y < 4; y++) {
                for (int x = 0; x < 6; x++) {
                    image[(c * 4 + y) * 6 + x] = (byte) (c * 100 + y * 10 + x);
                }
            }
        }
        byte[] out = ImageOps.resizeAndCenterCrop(image, 2, 4, 6, 4);
        assertEquals(2 * 16, out.length);
        assertArrayEquals(bytes(1, 2, 3, 4), java.util.Arrays.copyOfRange(out, 0, 4));
        assertArrayEquals(bytes(131, 132, 133, 134), java.util.Arrays.copyOfRange(out, 28, 32));
    }

    @Test
    void upscaleIsBilinear() {
        assertArrayEquals(bytes(0, 25, 75, 100), ImageOps.resize(bytes(0, 100), 1, 1, 2, 1, 4));
        byte[] flat = new byte[9];
        java.util.Arrays.fill(flat, (byte) 77);
        byte[] big = ImageOps.resize(flat, 1, 3, 3, 7, 7);
        for (byte b : big) {
            assertEquals(77, b);
        }
    }

    @Test
    void channelConversions() {
        byte[] rgb = bytes(255, 0, 10, /* G */ 0, 255, 20, /* B */ 0, 0, 30);
        assertArrayEquals(bytes(76, 150, 18), ImageOps.convertChannels(rgb, 3, 1, 3));
        assertArrayEquals(bytes(5, 6, 5, 6, 5, 6), ImageOps.convertChannels(bytes(5, 6), 1, 3, 2));
    }
}
