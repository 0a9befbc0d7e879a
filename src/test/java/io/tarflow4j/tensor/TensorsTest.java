package io.tarflow4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** Array conversions: values survive exactly, bad targets are refused. */
class TensorsTest {

    @Test
    void doublesRoundTripExactly() {
        try (NativeScope s = NativeScope.open()) {
            double[] v = {1e-300, -2.5, Math.PI, 0.1};
            Tensor t = Tensors.fromDoubles(v, 2, 2);
            assertArrayEquals(new long[] {2, 2}, Tensors.shape(t));
            assertArrayEquals(v, Tensors.toDoubles(t));
            assertArrayEquals(new double[] {Math.PI, 0.1}, Tensors.toDoubles(t.select(0, 1)));
        }
    }

    @Test
    void copyIntoFillsTheFirstElementsOfABuffer() {
        try (NativeScope s = NativeScope.open()) {
            Tensor buffer = torch.zeros(2, 3);
            Tensors.copyInto(buffer, new float[] {1, 2, 3, 4, 99}, 4);
            assertArrayEquals(new float[] {1, 2, 3, 4, 0, 0}, Tensors.toFloats(buffer));
            assertThrows(IllegalArgumentException.class, () -> Tensors.copyInto(buffer, new float[7], 7));
            assertThrows(IllegalArgumentException.class, () -> Tensors.copyInto(buffer.t(), new float[6], 6));
            assertThrows(
                    IllegalArgumentException.class,
                    () -> Tensors.copyInto(buffer.to(torch.ScalarType.Double), new float[6], 6));
        }
    }
}
