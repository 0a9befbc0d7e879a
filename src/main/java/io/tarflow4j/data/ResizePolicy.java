package io.tarflow4j.data;

/** What to do with an image whose size differs from the size the dataset is loaded at. */
public enum ResizePolicy {
    /** Resize the shorter side to the target size with an area/bilinear filter, then centre crop. */
    RESIZE,
    /** Fail with a {@link DataException} naming the file, its size and the expected size. */
    REFUSE
}
