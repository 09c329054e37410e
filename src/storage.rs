//! Tensor storage: a device buffer shared by every view of it, plus the version counter
//! autograd checks. CPU buffers come from a caching allocator so large fresh outputs
//! reuse already-faulted pages instead of paying page faults on every op.
use parking_lot::Mutex;
use crate::error::Result;
use crate::rt_err;
use std::alloc::{alloc, alloc_zeroed, dealloc, Layout};
use std::collections::HashMap;

const ALIGN: usize = 64;
/// Buffers at least this large are aligned to 2 MiB and offered to the kernel as transparent
/// huge pages (as NumPy does): one page fault per 2 MiB on first touch instead of 512, and far
/// fewer TLB misses, which is what bounds large elementwise ops and reductions.
const HUGE_MIN: usize = 4 << 20;
const HUGE_ALIGN: usize = 2 << 20;

/// Blocks below this size are aligned to 16 bytes (every element type's alignment), which
/// the system allocator serves from its fast path; 64-byte alignment goes through memalign,
/// a measurable share of a small op's time (no kernel relies on more than element alignment).
const SMALL_MAX: usize = 4096;
const SMALL_ALIGN: usize = 16;

/// The alignment used for a block of `cap` bytes (allocation and free must agree).
fn align_for(cap: usize) -> usize { if cap >= HUGE_MIN { HUGE_ALIGN } else if cap < SMALL_MAX { SMALL_ALIGN } else { ALIGN } }

/// Asks Linux to back `[p, p + len)` with transparent huge pages. Advisory only: failure (or a
/// kernel with THP off) leaves ordinary pages, so the result is ignored.
#[cfg(target_os = "linux")]
fn advise_huge(p: *mut u8, len: usize) {
    // SAFETY: p is the start of a live block of at least `len` bytes aligned to HUGE_ALIGN (a
    // multiple of the page size), so the range is page-aligned and mapped; MADV_HUGEPAGE never
    // changes the contents of memory, only how it is backed.
    unsafe { libc::madvise(p as *mut libc::c_void, len, libc::MADV_HUGEPAGE); }
}
#[cfg(not(target_os = "linux"))]
fn advise_huge(_p: *mut u8, _len: usize) {}
/// Buffers at least this large are cached on free (small ones are cheap for malloc).
const CACHE_MIN: usize = 1 << 16;
/// Upper bound on bytes kept in the cache.
const CACHE_MAX_TOTAL: usize = 2 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device { Cpu, Cuda(i32) }

struct Cache { free: HashMap<usize, Vec<usize>>, total: usize }
static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

/// Rounds large requests to a size class so freed blocks are reusable by similar requests.
/// Fails when the rounded size does not fit the allocator's limit (isize::MAX minus alignment).
fn size_class(n: usize) -> Result<usize> {
    let too_big = || rt_err!("DefaultCPUAllocator: can't allocate memory: you tried to allocate {} bytes.", n);
    if n > (isize::MAX as usize) - HUGE_ALIGN { return Err(too_big()); }
    if n < CACHE_MIN { return Ok(n.max(1)); }
    // classes: 1/8 steps between powers of two
    let p = usize::BITS - 1 - n.leading_zeros();
    let step = 1usize << (p.saturating_sub(3));
    n.div_ceil(step).checked_mul(step).filter(|&c| c <= (isize::MAX as usize) - HUGE_ALIGN).ok_or_else(too_big)
}

/// Takes a cached block of exactly `cap` bytes, if one is free.
fn take_cached(cap: usize) -> Option<*mut u8> {
    if cap < CACHE_MIN { return None; }
    let mut g = CACHE.lock();
    let c = g.as_mut()?;
    let p = c.free.get_mut(&cap)?.pop()?;
    c.total -= cap;
    Some(p as *mut u8)
}

/// Allocates `cap` bytes (a size class, > 0), reusing the cache first. When the system
/// allocator refuses, the cache is released and the request retried once before failing
/// with PyTorch's out-of-memory message (never an abort).
fn raw_alloc(cap: usize, zeroed: bool) -> Result<(*mut u8, bool)> {
    if let Some(p) = take_cached(cap) { return Ok((p, false)); }
    let layout = Layout::from_size_align(cap, align_for(cap))
        .map_err(|_| rt_err!("DefaultCPUAllocator: can't allocate memory: you tried to allocate {} bytes.", cap))?;
    for attempt in 0..2 {
        // SAFETY: layout.size() = cap > 0 (size_class returns at least 1) and align_for gives a power of two.
        let p = unsafe { if zeroed { alloc_zeroed(layout) } else { alloc(layout) } };
        if !p.is_null() {
            if cap >= HUGE_MIN { advise_huge(p, cap); }
            return Ok((p, zeroed));
        }
        if attempt == 0 { empty_cache(); }
    }
    Err(rt_err!("DefaultCPUAllocator: can't allocate memory: you tried to allocate {} bytes.", cap))
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
    // SAFETY: p was allocated by raw_alloc with this capacity and align_for(cap)
    unsafe { dealloc(p, Layout::from_size_align_unchecked(cap, align_for(cap))) }
}

/// Releases every cached block (used by tests and `torch._C._empty_cache`).
pub fn empty_cache() {
    let mut g = CACHE.lock();
    if let Some(c) = g.as_mut() {
        for (cap, v) in c.free.drain() {
            for p in v {
                // SAFETY: every cached block came from raw_alloc with exactly this cap and align_for(cap).
                unsafe { dealloc(p as *mut u8, Layout::from_size_align_unchecked(cap, align_for(cap))) }
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
}

// SAFETY: the buffer is plain memory owned by this value (or kept alive by `_owner`); concurrent
// writes have the same semantics as PyTorch's.
unsafe impl Send for Storage {}
unsafe impl Sync for Storage {}

impl Storage {
    /// Uninitialised storage of `nbytes` bytes; fails (never aborts) when memory is short.
    pub fn new_uninit(nbytes: usize) -> Result<Storage> {
        let cap = size_class(nbytes)?;
        let (ptr, _) = raw_alloc(cap, false)?;
        Ok(Storage { buf: Buffer::Owned { ptr, cap }, nbytes, device: Device::Cpu })
    }
    /// Zero-filled storage. Fresh system memory comes zeroed (lazily, by the OS); only a
    /// recycled cache block is cleared here.
    pub fn new_zeroed(nbytes: usize) -> Result<Storage> {
        let cap = size_class(nbytes)?;
        let (ptr, is_zero) = raw_alloc(cap, true)?;
        // SAFETY: ptr points to a live block of cap >= nbytes bytes just allocated above.
        if !is_zero { unsafe { std::ptr::write_bytes(ptr, 0, nbytes) } }
        Ok(Storage { buf: Buffer::Owned { ptr, cap }, nbytes, device: Device::Cpu })
    }
    /// Wraps foreign memory without copying.
    pub fn from_external(ptr: *mut u8, nbytes: usize, owner: Box<dyn std::any::Any + Send + Sync>) -> Storage {
        Storage { buf: Buffer::External { ptr, _owner: owner }, nbytes, device: Device::Cpu }
    }
    #[inline]
    pub fn ptr(&self) -> *mut u8 {
        match &self.buf { Buffer::Owned { ptr, .. } => *ptr, Buffer::External { ptr, .. } => *ptr }
    }
    pub fn nbytes(&self) -> usize { self.nbytes }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Buffer::Owned { ptr, cap } = self.buf { raw_free(ptr, cap) }
    }
}
