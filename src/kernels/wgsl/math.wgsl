// Scalar helpers shared by generated elementwise kernels (WGSL has no erf).

// erf by Abramowitz–Stegun 7.1.26 refined: max abs error ~1.2e-7 (W. J. Cody's rational form is overkill here).
fn kiln_erf(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.5 * a);
  let y = 1.0 - t * exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
      t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
      t * (-0.82215223 + t * 0.17087277)))))))));
  return select(-y, y, x >= 0.0);
}

fn kiln_tanh(x: f32) -> f32 {
  // Stable for large |x|, where exp overflows in the textbook form.
  let e = exp(-2.0 * abs(x));
  let t = (1.0 - e) / (1.0 + e);
  return select(-t, t, x >= 0.0);
}

fn kiln_sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

fn kiln_gelu(x: f32) -> f32 {
  return 0.5 * x * (1.0 + kiln_erf(x * 0.70710678118654752));
}

fn kiln_gelu_grad(x: f32) -> f32 {
  let cdf = 0.5 * (1.0 + kiln_erf(x * 0.70710678118654752));
  let pdf = 0.39894228040143268 * exp(-0.5 * x * x);
  return cdf + x * pdf;
}

fn kiln_gelu_tanh(x: f32) -> f32 {
  let k = 0.79788456080286536 * (x + 0.044715 * x * x * x);
  return 0.5 * x * (1.0 + kiln_tanh(k));
}

fn kiln_gelu_tanh_grad(x: f32) -> f32 {
  let k = 0.79788456080286536 * (x + 0.044715 * x * x * x);
  let t = kiln_tanh(k);
  let dk = 0.79788456080286536 * (1.0 + 3.0 * 0.044715 * x * x);
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * dk;
}

fn kiln_sign(x: f32) -> f32 {
  return select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0);
}

// NaN test on the bits: compilers may fold `x != x` to false under fast-math assumptions.
fn kiln_isnan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// NaN-propagating min/max, as PyTorch's minimum/maximum/clamp/relu: WGSL's min/max may drop a NaN operand.
fn kiln_min(a: f32, b: f32) -> f32 {
  return select(min(a, b), select(b, a, kiln_isnan(a)), kiln_isnan(a) || kiln_isnan(b));
}

fn kiln_max(a: f32, b: f32) -> f32 {
  return select(max(a, b), select(b, a, kiln_isnan(a)), kiln_isnan(a) || kiln_isnan(b));
}

fn kiln_pow(a: f32, b: f32) -> f32 {
  // WGSL pow is undefined for a < 0; PyTorch follows C's pow: integral exponents of negatives are defined.
  if (b == 0.0) { return 1.0; }
  if (a >= 0.0) { return pow(a, b); }
  if (b == floor(b)) {
    let m = pow(-a, b);
    return select(m, -m, (abs(b) % 2.0) == 1.0);
  }
  var nan_bits = 0x7fc00000u; // a var, so the NaN is not a (rejected) constant expression
  return bitcast<f32>(nan_bits);
}

fn kiln_ipow(a: i32, b: i32) -> i32 {
  var r = 1i;
  var base = a;
  var e = b;
  if (e < 0) {
    if (a == 1) { return 1i; }
    if (a == -1) { return select(-1i, 1i, (e & 1) == 0); }
    return 0i;
  }
  loop {
    if (e == 0) { break; }
    if ((e & 1) == 1) { r = r * base; }
    base = base * base;
    e = e >> 1u;
  }
  return r;
}

// Inverse error function (M. Giles, "Approximating the erfinv function", single-precision branch),
// refined by one Newton step on erf; ±inf at ±1, NaN outside [−1, 1].
fn kiln_erfinv(x: f32) -> f32 {
  if (abs(x) >= 1.0) {
    var inf_bits = 0x7f800000u; // vars: a constant inf or NaN is rejected by the WGSL compiler
    var nan_bits = 0x7fc00000u;
    if (abs(x) == 1.0) { return x * bitcast<f32>(inf_bits); }
    return bitcast<f32>(nan_bits);
  }
  var w = -log((1.0 - x) * (1.0 + x));
  var p: f32;
  if (w < 5.0) {
    w = w - 2.5;
    p = 2.81022636e-08;
    p = 3.43273939e-07 + p * w;
    p = -3.5233877e-06 + p * w;
    p = -4.39150654e-06 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
  } else {
    w = sqrt(w) - 3.0;
    p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
  }
  var y = p * x;
  // one Newton step: y ← y − (erf(y) − x) / (2/√π · e^{−y²})
  y = y - (kiln_erf(y) - x) / (1.1283791670955126 * exp(-y * y));
  return y;
}
