//! Random number generation: xoshiro256++ generators (a global default one and user
//! `Generator`s), filling tensors in place.
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use parking_lot::Mutex;

#[derive(Clone)]
pub struct Rng { s: [u64; 4], seed: u64, cached_normal: Option<f64> }

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E3779B97F4A7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        Rng { s: [splitmix(&mut x), splitmix(&mut x), splitmix(&mut x), splitmix(&mut x)], seed, cached_normal: None }
    }
    pub fn seed(&self) -> u64 { self.seed }
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let r = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = s[3].rotate_left(45);
        r
    }
    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 { (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64) }
    pub fn normal(&mut self) -> f64 {
        if let Some(v) = self.cached_normal.take() { return v; }
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let th = 2.0 * std::f64::consts::PI * u2;
        self.cached_normal = Some(r * th.sin());
        r * th.cos()
    }
    /// Uniform integer in [0, n).
    pub fn below(&mut self, n: u64) -> u64 { if n == 0 { 0 } else { ((self.next_u64() as u128 * n as u128) >> 64) as u64 } }
    pub fn state(&self) -> Vec<u8> { self.s.iter().flat_map(|v| v.to_le_bytes()).chain(self.seed.to_le_bytes()).collect() }
    pub fn set_state(&mut self, b: &[u8]) -> Result<()> {
        if b.len() != 40 { return Err(Error::Runtime("RNG state must be 40 bytes".into())); }
        for i in 0..4 { self.s[i] = u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap()); }
        self.seed = u64::from_le_bytes(b[32..40].try_into().unwrap());
        self.cached_normal = None;
        Ok(())
    }
}

pub static DEFAULT: Mutex<Option<Rng>> = Mutex::new(None);

/// Runs `f` with the given generator or the default one.
pub fn with_rng<R>(g: Option<&Mutex<Rng>>, f: impl FnOnce(&mut Rng) -> R) -> R {
    match g {
        Some(m) => f(&mut m.lock()),
        None => {
            let mut d = DEFAULT.lock();
            f(d.get_or_insert_with(|| Rng::new(67280421310721)))
        }
    }
}

pub fn manual_seed(seed: u64) { *DEFAULT.lock() = Some(Rng::new(seed)); }

/// Fills `t` (contiguous or not) with values drawn by `draw`, in logical order.
pub fn fill_with(t: &Tensor, g: Option<&Mutex<Rng>>, mut draw: impl FnMut(&mut Rng) -> f64) -> Result<()> {
    let n = t.numel();
    let mut vals = crate::tensor::try_vec::<f64>(n)?;
    with_rng(g, |r| vals.extend((0..n).map(|_| draw(r))));
    let tmp = Tensor::from_vec(vals, &t.shape())?;
    crate::ops::copy::copy_raw(t, &tmp)?;
    t.bump_version();
    Ok(())
}

pub fn uniform_(t: &Tensor, lo: f64, hi: f64, g: Option<&Mutex<Rng>>) -> Result<()> {
    let dt = t.dtype();
    fill_with(t, g, |r| {
        let v = lo + (hi - lo) * r.uniform();
        // rounding to a narrow float type must not reach `hi`
        if dt.is_float() && crate::dtype::round_through(dt, v) >= hi { lo } else { v }
    })
}

pub fn normal_(t: &Tensor, mean: f64, std: f64, g: Option<&Mutex<Rng>>) -> Result<()> {
    fill_with(t, g, |r| mean + std * r.normal())
}

pub fn randint_(t: &Tensor, lo: i64, hi: i64, g: Option<&Mutex<Rng>>) -> Result<()> {
    if hi <= lo { return Err(Error::Runtime(format!("random_ expects 'from' to be less than 'to', but got from={} >= to={}", lo, hi))); }
    fill_with(t, g, |r| (lo + r.below((hi - lo) as u64) as i64) as f64)
}

pub fn randperm(n: usize, dtype: DType, g: Option<&Mutex<Rng>>) -> Result<Tensor> {
    crate::tensor::checked_nbytes(&[n], 8)?;
    let mut v = crate::tensor::try_vec::<i64>(n)?;
    v.extend(0..n as i64);
    with_rng(g, |r| { for i in (1..n).rev() { let j = r.below(i as u64 + 1) as usize; v.swap(i, j); } });
    crate::ops::copy::contiguous_as(&Tensor::from_vec(v, &[n])?, dtype)
}

pub fn bernoulli(p: &Tensor, g: Option<&Mutex<Rng>>) -> Result<Tensor> {
    let probs = p.to_vec::<f64>()?;
    if probs.iter().any(|&x| !(0.0..=1.0).contains(&x)) {
        return Err(Error::Runtime("Expected p_in >= 0 && p_in <= 1 to be true, but got false.".into()));
    }
    let vals: Vec<f64> = with_rng(g, |r| probs.iter().map(|&q| if r.uniform() < q { 1.0 } else { 0.0 }).collect());
    Ok(crate::ops::copy::contiguous_as(&Tensor::from_vec(vals, &p.shape())?, if p.dtype().is_float() { p.dtype() } else { DType::F32 })?)
}

pub fn multinomial(p: &Tensor, n: usize, replacement: bool, g: Option<&Mutex<Rng>>) -> Result<Tensor> {
    let nd = p.ndim();
    if nd == 0 || nd > 2 { return Err(Error::Runtime("prob_dist must be 1 or 2 dim".into())); }
    let sh = p.shape();
    let (rows, k) = if nd == 1 { (1, sh[0]) } else { (sh[0], sh[1]) };
    let probs = p.to_vec::<f64>()?;
    if probs.iter().any(|&x| x < 0.0 || !x.is_finite()) { return Err(Error::Runtime("probability tensor contains either `inf`, `nan` or element < 0".into())); }
    let mut out = Vec::with_capacity(rows * n);
    for r in 0..rows {
        let mut w: Vec<f64> = probs[r * k..(r + 1) * k].to_vec();
        let nz = w.iter().filter(|&&x| x > 0.0).count();
        if !replacement && n > nz {
            return Err(Error::Runtime("cannot sample n_sample > prob_dist.size(-1) samples without replacement".into()));
        }
        if w.iter().sum::<f64>() <= 0.0 { return Err(Error::Runtime("invalid multinomial distribution (sum of probabilities <= 0)".into())); }
        with_rng(g, |rng| {
            for _ in 0..n {
                let total: f64 = w.iter().sum();
                let mut u = rng.uniform() * total;
                let mut pick = k - 1;
                for (i, &x) in w.iter().enumerate() {
                    if x > 0.0 && u < x { pick = i; break; }
                    u -= x;
                }
                while w[pick] <= 0.0 && pick > 0 { pick -= 1; }
                out.push(pick as i64);
                if !replacement { w[pick] = 0.0; }
            }
        });
    }
    let shape: Vec<usize> = if nd == 1 { vec![n] } else { vec![rows, n] };
    Ok(Tensor::from_vec(out, &shape)?)
}

