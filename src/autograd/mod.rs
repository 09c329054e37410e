//! The autograd graph and engine. Every differentiable op records a `Node` holding its
//! backward closure (written with differentiable tensor ops, so `create_graph=True` gives
//! higher-order gradients) and edges to the nodes that produced its inputs.
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::{Shape, Tensor, TensorImpl};
use parking_lot::Mutex;
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}
pub fn is_grad_enabled() -> bool { GRAD_ENABLED.with(|g| g.get()) }
pub fn set_grad_enabled(v: bool) -> bool { GRAD_ENABLED.with(|g| g.replace(v)) }

/// RAII guard that sets grad mode and restores the previous one.
pub struct GradMode(bool);
impl GradMode {
    pub fn set(v: bool) -> GradMode { GradMode(set_grad_enabled(v)) }
}
impl Drop for GradMode {
    fn drop(&mut self) { set_grad_enabled(self.0); }
}

/// A gradient hook: returns a replacement gradient or None to keep it.
pub type Hook = Arc<dyn Fn(&Tensor) -> Result<Option<Tensor>> + Send + Sync>;

/// Backward closure: (saved tensors unpacked, grads of each output) -> grads of each input.
pub type BackwardFn = Box<dyn Fn(&[Tensor], &[Option<Tensor>]) -> Result<Vec<Option<Tensor>>> + Send + Sync>;

#[derive(Clone)]
pub enum Edge {
    Node(Arc<Node>, usize),
    Leaf(Tensor),
}

pub struct InputMeta { pub shape: Shape, pub dtype: DType }

struct Saved {
    data: Tensor,
    version: u64,
    /// Some(i) when this is output i of the owning node (saved without its grad_fn to avoid a cycle).
    output_nr: Option<usize>,
}

pub struct Node {
    pub name: Cow<'static, str>,
    pub next: Vec<Option<Edge>>,
    pub input_meta: Vec<InputMeta>,
    pub n_outputs: usize,
    saved: Mutex<Option<Vec<Saved>>>,
    has_saved: bool,
    f: BackwardFn,
    pub pre_hooks: Mutex<Vec<(usize, Hook)>>,
    pub seq: u64,
    /// Weak self-reference, used to re-attach saved outputs to this node under create_graph.
    me: Weak<Node>,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

const FREED_MSG: &str = "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.";

impl Node {
    fn unpack_saved(&self) -> Result<Vec<Tensor>> {
        let g = self.saved.lock();
        let Some(saved) = g.as_ref() else {
            if self.has_saved { return Err(Error::Runtime(FREED_MSG.into())) }
            return Ok(vec![]);
        };
        let mut out = Vec::with_capacity(saved.len());
        for s in saved {
            let v = s.data.version();
            if v != s.version {
                let b = s.data.body();
                let shape: Vec<String> = b.shape.iter().map(|x| x.to_string()).collect();
                let (producer, nr) = match s.output_nr {
                    Some(nr) => (self.name.to_string(), nr),
                    None => (s.data.grad_fn().map(|n| n.name.to_string()).unwrap_or_else(|| "a leaf".into()), s.data.output_nr()),
                };
                return Err(Error::Runtime(format!(
                    "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.{}Tensor [{}]], which is output {} of {}, is at version {}; expected version {} instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True).",
                    b.dtype.legacy_name(), shape.join(", "), nr, producer, v, s.version
                )));
            }
            match s.output_nr {
                Some(nr) if is_grad_enabled() => {
                    let t = s.data.detach();
                    if let Some(me) = self.me.upgrade() {
                        let mut m = t.0.meta.lock();
                        m.grad_fn = Some(me);
                        m.output_nr = nr;
                    }
                    out.push(t)
                }
                _ => out.push(s.data.clone()),
            }
        }
        Ok(out)
    }
    pub fn release(&self) { *self.saved.lock() = None; }
}

/// Dropping the last handle on a long graph must not recurse once per node (a 100k-step RNN
/// would overflow the stack): unlink predecessors onto an explicit stack and free them in a loop.
impl Drop for Node {
    fn drop(&mut self) {
        let mut stack: Vec<Arc<Node>> = vec![];
        unlink(self, &mut stack);
        while let Some(n) = stack.pop() {
            if let Ok(mut inner) = Arc::try_unwrap(n) {
                unlink(&mut inner, &mut stack);
            }
        }
    }
}

fn unlink(node: &mut Node, stack: &mut Vec<Arc<Node>>) {
    for e in std::mem::take(&mut node.next).into_iter().flatten() {
        match e {
            Edge::Node(n, _) => stack.push(n),
            Edge::Leaf(t) => take_history(t, stack),
        }
    }
    if let Some(saved) = node.saved.get_mut().take() {
        for s in saved { take_history(s.data, stack); }
    }
}

/// Moves the grad_fn out of a tensor we hold the last reference to.
fn take_history(t: Tensor, stack: &mut Vec<Arc<Node>>) {
    if let Ok(ti) = Arc::try_unwrap(t.0) {
        let m = ti.meta.into_inner();
        if let Some(f) = m.grad_fn { stack.push(f); }
        if let Some(b) = m.base { take_history(b, stack); }
    }
}

/// The edge a gradient for `t` should flow along.
pub fn edge_of(t: &Tensor) -> Option<Edge> {
    refresh_view_history(t);
    let m = t.0.meta.lock();
    if let Some(f) = &m.grad_fn { return Some(Edge::Node(f.clone(), m.output_nr)); }
    if m.requires_grad { return Some(Edge::Leaf(t.clone())); }
    None
}

/// A view whose data was written in place (through the base or another view) after its
/// history was recorded gets a fresh grad_fn from the base's current history, as PyTorch
/// regenerates view grad_fns; otherwise gradients would flow around the write. That includes a
/// view of a tensor that did not require grad until a value requiring grad was written into it.
pub fn refresh_view_history(t: &Tensor) {
    let (base, seen) = {
        let m = t.0.meta.lock();
        match &m.base { Some(b) if !m.requires_grad => (b.clone(), m.view_version), _ => return }
    };
    let now = t.version();
    if now == seen { return; }
    t.0.meta.lock().view_version = now;
    if !is_grad_enabled() || !base.requires_grad() { return; }
    let tb = t.body();
    // a real view of a complex base is replayed on the base's [..., 2] real view
    let complex_base = base.dtype().is_complex() && !tb.dtype.is_complex();
    let Ok(bu) = (if complex_base { crate::ops::complex::view_as_real(&base) } else { Ok(base.clone()) }) else { return };
    let bb = bu.body();
    // the replay below addresses the base as a contiguous buffer, like rebase_inplace
    if !bb.is_contiguous() || !Arc::ptr_eq(&bb.storage, &tb.storage) { return; }
    let Ok((geom, complex_view)) = crate::ops::view_geometry(&bb, &tb) else { return };
    let v = crate::ops::shape::as_strided(&bu, &geom.0, &geom.1, geom.2)
        .and_then(|v| if complex_view { crate::ops::complex::view_as_complex(&v) } else { Ok(v) });
    if let Ok(v) = v { set_history(t, &v); }
}

/// True when an op on these inputs must record a node.
pub fn needs_grad(inputs: &[&Tensor]) -> bool {
    is_grad_enabled() && inputs.iter().any(|t| t.requires_grad())
}

/// What an op saves for backward.
pub enum SaveItem<'a> { Input(&'a Tensor), Output(usize), Value(Tensor) }

/// Records a node for `outputs` computed from `inputs` (call only when `needs_grad`).
pub fn record(
    name: impl Into<Cow<'static, str>>, inputs: &[&Tensor], outputs: &[&Tensor], save: Vec<SaveItem>, f: BackwardFn,
) {
    let saved: Vec<Saved> = save
        .into_iter()
        .map(|s| match s {
            SaveItem::Input(t) => Saved { version: t.version(), data: t.clone(), output_nr: None },
            SaveItem::Value(t) => Saved { version: t.version(), data: t, output_nr: None },
            SaveItem::Output(i) => Saved { version: outputs[i].version(), data: outputs[i].detach(), output_nr: Some(i) },
        })
        .collect();
    let has_saved = !saved.is_empty();
    let node = Arc::new_cyclic(|me| Node {
        name: name.into(),
        next: inputs.iter().map(|t| edge_of(t)).collect(),
        input_meta: inputs.iter().map(|t| InputMeta { shape: t.shape(), dtype: t.dtype() }).collect(),
        n_outputs: outputs.len(),
        saved: Mutex::new(Some(saved)),
        has_saved,
        f,
        pre_hooks: Mutex::new(vec![]),
        seq: SEQ.fetch_add(1, Ordering::Relaxed),
        me: me.clone(),
    });
    for (i, o) in outputs.iter().enumerate() {
        let mut m = o.0.meta.lock();
        m.grad_fn = Some(node.clone());
        m.output_nr = i;
    }
}

/// Makes `t`'s history the single-output node `name` with the given input edges (used by
/// in-place ops, which rebase the tensor they modify onto a new node).
pub fn set_history(t: &Tensor, node_src: &Tensor) {
    let (f, nr) = { let m = node_src.0.meta.lock(); (m.grad_fn.clone(), m.output_nr) };
    let mut m = t.0.meta.lock();
    m.grad_fn = f;
    m.output_nr = nr;
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Key { Node(usize), Leaf(usize) }

fn key_of(e: &Edge) -> Key {
    match e {
        Edge::Node(n, _) => Key::Node(Arc::as_ptr(n) as usize),
        Edge::Leaf(t) => Key::Leaf(Arc::as_ptr(&t.0) as usize),
    }
}

fn accumulate(slot: &mut Option<Tensor>, g: Tensor) -> Result<()> {
    *slot = Some(match slot.take() { None => g, Some(prev) => ops::binary::add(&prev, &g)? });
    Ok(())
}

/// Sums a gradient back to an input's shape (undoing broadcasting) and casts to its dtype.
fn conform(g: Tensor, meta: &InputMeta) -> Result<Tensor> {
    let mut g = g;
    if g.shape() != meta.shape { g = ops::reduce::sum_to_shape(&g, &meta.shape)?; }
    if g.dtype() != meta.dtype { g = ops::copy::to_dtype(&g, meta.dtype)?; }
    Ok(g)
}

/// Runs backward from `roots` (tensor, gradient). If `capture` is given, returns the gradients
/// flowing into those tensors instead of accumulating into leaves (torch.autograd.grad);
/// `accumulate_only` restricts accumulation to those leaves (backward(inputs=...)).
pub fn run_backward(
    roots: &[(Tensor, Tensor)], retain_graph: bool, create_graph: bool, capture: Option<&[Tensor]>,
    accumulate_only: Option<&[Tensor]>,
) -> Result<Vec<Option<Tensor>>> {
    let _mode = GradMode::set(create_graph);
    // where captured gradients are read from
    let mut capture_keys: HashMap<(Key, usize), Vec<usize>> = HashMap::new();
    if let Some(ins) = capture {
        for (i, t) in ins.iter().enumerate() {
            match edge_of(t) {
                None => return Err(Error::Runtime("One of the differentiated Tensors does not require grad".into())),
                Some(e) => {
                    let nr = if let Edge::Node(_, nr) = &e { *nr } else { 0 };
                    capture_keys.entry((key_of(&e), nr)).or_default().push(i);
                }
            }
        }
    }
    let only: Option<Vec<usize>> = accumulate_only.map(|v| v.iter().map(|t| Arc::as_ptr(&t.0) as usize).collect());

    // dependency counts over the reachable graph (iterative DFS: deep graphs must not overflow)
    let mut deps: HashMap<Key, usize> = HashMap::new();
    let mut nodes: HashMap<Key, Edge> = HashMap::new();
    let mut stack: Vec<Edge> = vec![];
    let mut buffers: HashMap<Key, Vec<Option<Tensor>>> = HashMap::new();
    for (t, g) in roots {
        let e = edge_of(t).ok_or_else(|| Error::Runtime("element 0 of tensors does not require grad and does not have a grad_fn".into()))?;
        let k = key_of(&e);
        let n_out = match &e { Edge::Node(n, _) => n.n_outputs, Edge::Leaf(_) => 1 };
        let nr = match &e { Edge::Node(_, nr) => *nr, _ => 0 };
        let buf = buffers.entry(k).or_insert_with(|| vec![None; n_out]);
        accumulate(&mut buf[nr], g.clone())?;
        if !nodes.contains_key(&k) {
            nodes.insert(k, e.clone());
            stack.push(e);
        }
    }
    while let Some(e) = stack.pop() {
        if let Edge::Node(n, _) = &e {
            for ne in n.next.iter().flatten() {
                let k = key_of(ne);
                *deps.entry(k).or_insert(0) += 1;
                if !nodes.contains_key(&k) {
                    nodes.insert(k, ne.clone());
                    stack.push(ne.clone());
                }
            }
        }
    }
    let mut captured: Vec<Option<Tensor>> = vec![None; capture.map_or(0, |c| c.len())];
    let mut ready: Vec<Key> = nodes.keys().filter(|k| deps.get(k).copied().unwrap_or(0) == 0).copied().collect();
    // run higher sequence numbers first among ready nodes (closest to the output)
    let seq_of = |k: &Key, nodes: &HashMap<Key, Edge>| match nodes.get(k) { Some(Edge::Node(n, _)) => n.seq as i64, _ => -1 };
    while let Some(k) = {
        ready.sort_by_key(|k| seq_of(k, &nodes));
        ready.pop()
    } {
        let edge = nodes[&k].clone();
        let mut grads = buffers.remove(&k).unwrap_or_default();
        match &edge {
            Edge::Leaf(t) => {
                let Some(mut g) = grads.pop().flatten() else { continue };
                let hooks = t.0.meta.lock().leaf_hooks.clone();
                for h in hooks {
                    if let Some(r) = h(&g)? { g = r; }
                }
                if let Some(idx) = capture_keys.get(&(k, 0)) {
                    for &i in idx { captured[i] = Some(g.clone()); }
                }
                if capture.is_some() { continue; }
                if let Some(only) = &only {
                    if !only.contains(&(Arc::as_ptr(&t.0) as usize)) { continue; }
                }
                accumulate_into_leaf(t, g, create_graph)?;
            }
            Edge::Node(n, _) => {
                grads.resize(n.n_outputs, None);
                let hooks: Vec<(usize, Hook)> = n.pre_hooks.lock().clone();
                for (nr, h) in hooks {
                    if let Some(g) = &grads[nr] {
                        if let Some(r) = h(g)? { grads[nr] = Some(r); }
                    }
                }
                for nr in 0..n.n_outputs {
                    if let Some(idx) = capture_keys.get(&(k, nr)) {
                        for &i in idx { captured[i] = grads[nr].clone(); }
                    }
                }
                let saved = n.unpack_saved()?;
                let in_grads = if grads.iter().all(|g| g.is_none()) {
                    vec![None; n.next.len()]
                } else {
                    (n.f)(&saved, &grads)?
                };
                drop(saved);
                if !retain_graph { n.release(); }
                for (i, ne) in n.next.iter().enumerate() {
                    let Some(ne) = ne else { continue };
                    let nk = key_of(ne);
                    if let Some(Some(g)) = in_grads.get(i) {
                        let g = conform(g.clone(), &n.input_meta[i])?;
                        let n_out = match ne { Edge::Node(nn, _) => nn.n_outputs, Edge::Leaf(_) => 1 };
                        let nr = match ne { Edge::Node(_, nr) => *nr, _ => 0 };
                        let buf = buffers.entry(nk).or_insert_with(|| vec![None; n_out]);
                        accumulate(&mut buf[nr], g)?;
                    }
                    let d = deps.get_mut(&nk).expect("dependency");
                    *d -= 1;
                    if *d == 0 { ready.push(nk); }
                }
            }
        }
    }
    Ok(captured)
}

/// Whether `g` is the only handle to a dense, history-free tensor that is the only user of its
/// storage: then it can become a `.grad` without a copy.
fn exclusively_owned(g: &Tensor) -> bool {
    if Arc::strong_count(&g.0) != 1 || Arc::weak_count(&g.0) != 0 { return false; }
    {
        let m = g.0.meta.lock();
        if m.requires_grad || m.grad_fn.is_some() || m.base.is_some() { return false; }
    }
    let b = g.0.body.read();
    Arc::strong_count(&b.storage) == 1 && Arc::weak_count(&b.storage) == 0 && b.offset == 0 && b.is_contiguous()
        && b.numel().checked_mul(b.dtype.size()) == Some(b.storage.nbytes())
}

pub fn accumulate_into_leaf(t: &Tensor, g: Tensor, create_graph: bool) -> Result<()> {
    let prev = t.0.meta.lock().grad.clone();
    let new = match prev {
        None => {
            // own the gradient: it may alias a user tensor or another leaf's gradient, so it
            // is copied unless nothing else can reach its data (PyTorch steals it then too)
            if create_graph || exclusively_owned(&g) { g } else { ops::copy::contiguous_clone(&g)? }
        }
        Some(p) => {
            if create_graph || p.requires_grad() {
                ops::binary::add(&p, &g)?
            } else {
                ops::binary::add_inplace_raw(&p, &g)?;
                p
            }
        }
    };
    t.0.meta.lock().grad = Some(new);
    Ok(())
}

/// A hook that stores the gradient into `t.grad` (retain_grad on a non-leaf).
pub fn retain_grad_hook(t: &Tensor) -> Hook {
    let w: Weak<TensorImpl> = Arc::downgrade(&t.0);
    Arc::new(move |g: &Tensor| {
        if let Some(ti) = w.upgrade() {
            let t = Tensor(ti);
            let prev = t.0.meta.lock().grad.clone();
            let new = match prev { None => ops::copy::contiguous_clone(g)?, Some(p) => ops::binary::add(&p, g)? };
            t.0.meta.lock().grad = Some(new);
        }
        Ok(None)
    })
}
