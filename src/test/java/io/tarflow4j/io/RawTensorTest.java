package io.tarflow4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class RawTensorTest {

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void factoriesAndConversions() {
        RawTensor f = RawTensor.ofFloats(new long[] {2, 2}, new float[] {1.5f, -2f, 0f, 3.25f});
        assertEquals(4, f.numel());
        assertArrayEquals(new float[] {1.5f, -2f, 0f, 3.25f}, f.toFloatArray());
        assertEquals(0x3FC00000, f.data().getInt(0), "little-endian F32 bytes");
        assertEquals(0x00, f.data().get(0));

        RawTensor l = RawTensor.ofLongs(new long[] {3}, new long[] {-1, 7, 1L << 40});
        assertArrayEquals(new long[] {-1, 7, 1L << 40}, l.toLongArray());
        assertArrayEquals(new float[] {-1f, 7f, (float) (1L << 40)}, l.toFloatArray());
        assertThrows(ArithmeticException.class, l::toIntArray);

        RawTensor i = RawTensor.ofInts(new long[] {}, new int[] {42});
        assertEquals(1, i.numel());
        assertArrayEquals(new int[] {42}, i.toIntArray());
        assertArrayEquals(new long[] {42}, i.toLongArray());
        assertThrows(IllegalStateException.class, f::toLongArray);
        assertThrows(IllegalStateException.class, f::toIntArray);
    }

    @Test
    void halfPrecisionAndSmallIntegersConvert() {
        ByteBuffer h = le(6).putShort((short) 0x3C00)
                .putShort((short) 0xC000)
                .putShort((short) 0x7C00)
                .flip();
        assertArrayEquals(
                new float[] {1f, -2f, Float.POSITIVE_INFINITY},
                new RawTensor(DType.F16, new long[] {3}, h).toFloatArray());
        ByteBuffer bf = le(4).putShort((short) 0x3F80).putShort((short) 0xC0A0).flip();
        assertArrayEquals(new float[] {1f, -5f}, new RawTensor(DType.BF16, new long[] {2}, bf).toFloatArray());
        ByteBuffer d = le(8).putDouble(0.1).flip();
        assertArrayEquals(new float[] {0.1f}, new RawTensor(DType.F64, new long[] {1}, d).toFloatArray());
        ByteBuffer u = le(2).put((byte) 0xFF).put((byte) 1).flip();
        assertArrayEquals(new float[] {255f, 1f}, new RawTensor(DType.U8, new long[] {2}, u).toFloatArray());
        assertArrayEquals(new int[] {-1, 1}, new RawTensor(DType.I8, new long[] {2}, u).toIntArray());
        assertArrayEquals(
                new long[] {-1},
                new RawTensor(
                                DType.I16,
                                new long[] {1},
                                le(2).putShort((short) -1).flip())
                        .toLongArray());
    }

    @Test
    void validatesSizeShapeAndOverflow() {
        assertThrows(IllegalArgumentException.class, () -> new RawTensor(DType.F32, new long[] {2}, le(4)));
        assertThrows(IllegalArgumentException.class, () -> new RawTensor(DType.F32, new long[] {-1}, le(0)));
        assertThrows(
                IllegalArgumentException.class, () -> new RawTensor(DType.F32, new long[] {1L << 32, 1L << 32}, le(0)));
        assertThrows(IllegalArgumentException.class, () -> new RawTensor(DType.F64, new long[] {1L << 61}, le(0)));
        assertThrows(IllegalArgumentException.class, () -> RawTensor.ofFloats(new long[] {3}, new float[2]));
        assertEquals(0, new RawTensor(DType.F32, new long[] {0, 5}, le(0)).numel());
    }

    @Test
    void equalityComparesContentsNotIdentity() {
        RawTensor a = RawTensor.ofFloats(new long[] {2}, new float[] {1f, Float.NaN});
        RawTensor b = RawTensor.ofFloats(new long[] {2}, new float[] {1f, Float.NaN});
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, RawTensor.ofFloats(new long[] {1, 2}, new float[] {1f, Float.NaN}));
        assertNotEquals(a, RawTensor.ofFloats(new long[] {2}, new float[] {1f, 2f}));
        assertNotEquals(
                RawTensor.ofInts(new long[] {1}, new int[] {0}), RawTensor.ofFloats(new long[] {1}, new float[] {0f}));
        assertEquals("RawTensor[F32, [2]]", a.toString());
    }

    @Test
    void viewsDoNotLeakMutableState() {
        long[] shape = {2};
        ByteBuffer src = le(8).putFloat(1f).putFloat(2f).flip();
        RawTensor t = new RawTensor(DType.F32, shape, src);
        shape[0] = 99;
        src.position(4);
        t.data().position(8);
        t.shape()[0] = 5;
        assertArrayEquals(new long[] {2}, t.shape());
        assertArrayEquals(new float[] {1f, 2f}, t.toFloatArray());
        assertEquals(ByteOrder.LITTLE_ENDIAN, t.data().order());
    }
}
