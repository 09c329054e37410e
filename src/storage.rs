//! Tensor storage: a device buffer shared by every view of it, plus the version counter
//! autograd checks. CPU buffers come from a caching allocator so large fresh outputs
//! reuse already-faulted pages instead of paying page faults on every op.
use parking_lot::Mutex;
use std::alloc::{alloc, dealloc, Layout};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

const ALIGN: usize = 64;
/// Buffers at least this large are cached on free (small ones are cheap for malloc).
const CACHE_MIN: usize = 1 << 16;
/// Upper bound on bytes kept in the cache.
const CACHE_MAX_TOTAL: usize = 2 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device { Cpu, Cuda(i32) }

struct Cache { free: HashMap<usize, Vec<usize>>, total: usize }
static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

/// Rounds large requests to a size class so freed blocks are reusable by similar requests.
fn size_class(n: usize) -> usize {
    if n < CACHE_MIN { return n.max(1); }
    // classes: 1/8 steps between powers of two
    let p = usize::BITS - 1 - n.leading_zeros();
    let step = 1usize << (p.saturating_sub(3));
    n.div_ceil(step) * step
}

fn raw_alloc(cap: usize) -> *mut u8 {
    if cap >= CACHE_MIN {
        let mut g = CACHE.lock();
        if let Some(c) = g.as_mut() {
            if let Some(v) = c.free.get_mut(&cap) {
                if let Some(p) = v.pop() {
                    c.total -= cap;
                    return p as *mut u8;
                }
            }
        }
    }
    let layout = Layout::from_size_align(cap, ALIGN).expect("layout");
    // SAFETY: cap > 0 (size_class returns at least 1)
    let p = unsafe { alloc(layout) };
    if p.is_null() { std::alloc::handle_alloc_error(layout) }
    p
}

fn raw_free(p: *mut u8, cap: usize) {
    if cap >= CACHE_MIN {
        let mut g = CACHE.lock();
        let c = g.get_or_insert_with(|| Cache { free: HashMap::new(), total: 0 });
        if c.total + cap <= CACHE_MAX_TOTAL {
            c.free.entry(cap).or_default().push(p as usize);
            c.total += cap;
            return;
        }
    }
    // SAFETY: p was allocated by raw_alloc with this capacity and alignment
    unsafe { dealloc(p, Layout::from_size_align_unchecked(cap, ALIGN)) }
}

/// Releases every cached block (used by tests and `torch._C._empty_cache`).
pub fn empty_cache() {
    let mut g = CACHE.lock();
    if let Some(c) = g.as_mut() {
        for (cap, v) in c.free.drain() {
            for p in v {
                unsafe { dealloc(p as *mut u8, Layout::from_size_align_unchecked(cap, ALIGN)) }
            }
        }
        c.total = 0;
    }
}

enum Buffer {
    Owned { ptr: *mut u8, cap: usize },
    /// Memory owned by someone else (a NumPy array); `owner` keeps it alive.
    External { ptr: *mut u8, _owner: Box<dyn std::any::Any + Send + Sync> },
}

pub struct Storage {
    buf: Buffer,
    nbytes: usize,
    pub device: Device,
    version: AtomicU64,
}

// SAFETY: the buffer is plain memory; concurrent writes have the same semantics as PyTorch's.
unsafe impl Send for Storage {}
unsafe impl Sync for Storage {}

impl Storage {
    /// Uninitialised storage of `nbytes` bytes.
    pub fn new_uninit(nbytes: usize) -> Storage {
        let cap = size_class(nbytes);
        Storage { buf: Buffer::Owned { ptr: raw_alloc(cap), cap }, nbytes, device: Device::Cpu, version: AtomicU64::new(0) }
    }
    pub fn new_zeroed(nbytes: usize) -> Storage {
        let s = Storage::new_uninit(nbytes);
        unsafe { std::ptr::write_bytes(s.ptr(), 0, nbytes) };
        s
    }
    /// Wraps foreign memory without copying.
    pub fn from_external(ptr: *mut u8, nbytes: usize, owner: Box<dyn std::any::Any + Send + Sync>) -> Storage {
        Storage { buf: Buffer::External { ptr, _owner: owner }, nbytes, device: Device::Cpu, version: AtomicU64::new(0) }
    }
    #[inline]
    pub fn ptr(&self) -> *mut u8 {
        match &self.buf { Buffer::Owned { ptr, .. } => *ptr, Buffer::External { ptr, .. } => *ptr }
    }
    pub fn nbytes(&self) -> usize { self.nbytes }
    pub fn version(&self) -> u64 { self.version.load(Ordering::Relaxed) }
    pub fn bump_version(&self) { self.version.fetch_add(1, Ordering::Relaxed); }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Buffer::Owned { ptr, cap } = self.buf { raw_free(ptr, cap) }
    }
}
