// dot4(a, b): the dot product of two words of four packed signed bytes, with WGSL's built-in (the language
// feature packed_4x8_integer_dot_product: DP4a-style hardware instructions where the adapter has them).
requires packed_4x8_integer_dot_product;

fn dot4(a: u32, b: u32) -> i32 { return dot4I8Packed(a, b); }
