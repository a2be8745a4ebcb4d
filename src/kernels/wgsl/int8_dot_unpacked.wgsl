// dot4(a, b): the dot product of two words of four packed signed bytes, unpacked by hand (extractBits on an
// i32 sign-extends), for implementations without the language feature packed_4x8_integer_dot_product.

fn bytes4(v: u32) -> vec4<i32> {
  let s = bitcast<i32>(v);
  return vec4<i32>(extractBits(s, 0u, 8u), extractBits(s, 8u, 8u), extractBits(s, 16u, 8u), extractBits(s, 24u, 8u));
}

fn dot4(a: u32, b: u32) -> i32 { return dot(bytes4(a), bytes4(b)); }
