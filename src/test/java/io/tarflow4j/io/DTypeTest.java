package io.tarflow4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DTypeTest {

    @Test
    void sizesAndNames() {
        assertEquals(4, DType.F32.byteSize());
        assertEquals(2, DType.F16.byteSize());
        assertEquals(2, DType.BF16.byteSize());
        assertEquals(8, DType.F64.byteSize());
        assertEquals(8, DType.I64.byteSize());
        assertEquals(1, DType.BOOL.byteSize());
        assertEquals("BF16", DType.BF16.safetensorsName());
        assertTrue(DType.F16.isFloatingPoint());
        assertFalse(DType.U8.isFloatingPoint());
    }

    @Test
    void parseRoundTripsEveryName() {
        for (DType t : DType.values()) {
            assertEquals(t, DType.parse(t.safetensorsName()));
        }
    }

    @Test
    void parseRejectsUnknownNamesWithTheList() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DType.parse("f32"));
        assertTrue(e.getMessage().contains("\"f32\""), e.getMessage());
        assertTrue(e.getMessage().contains("F32, F16, BF16"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DType.parse("F8_E4M3"));
    }
}
