"""einsum as a sequence of diagonal/sum/permute and batched matmuls (all differentiable)."""
from . import _ops


def _parse(eq, operands):
    eq = eq.replace(" ", "")
    for i, c in enumerate(eq):
        if not (c.isascii() and c.isalpha()) and c not in ".,->":
            raise RuntimeError(f"einsum(): invalid subscript given at index {i} in the equation string, subscripts must be in [a-zA-Z]")
    lhs, rhs = (eq.split("->") + [None])[:2]
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError(f"einsum(): more operands were provided than specified in the equation" if len(operands) > len(terms) else "einsum(): fewer operands were provided than specified in the equation")
    # ellipsis: stand-in capital letters for broadcast dims
    ell_n = max((op.ndim - (len(t) - 3) for t, op in zip(terms, operands) if "..." in t), default=0)
    ell = "".join(chr(ord("A") + i) for i in range(ell_n))
    out_terms = []
    for t, op in zip(terms, operands):
        if "..." in t:
            k = op.ndim - (len(t) - 3)
            t = t.replace("...", ell[ell_n - k:])
        if len(t) != op.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(t)}) does not match the number of dimensions ({op.ndim}) for operand 0 and no ellipsis was given")
        out_terms.append(t)
    if rhs is None:
        counts = {}
        for t in out_terms:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        rhs = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    else:
        rhs = rhs.replace("...", ell)
        for c in rhs:
            if rhs.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
            if not any(c in t for t in out_terms):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any input operand")
    return out_terms, rhs


def _dedup(x, t):
    """Takes diagonals for letters repeated within one operand."""
    while True:
        rep = next((c for c in t if t.count(c) > 1), None)
        if rep is None:
            return x, t
        p = t.index(rep)
        q = t.index(rep, p + 1)
        x = _ops.diagonal(x, 0, p, q)
        t = t[:p] + t[p + 1:q] + t[q + 1:] + rep


def _sum_out(x, t, keep):
    drop = [i for i, c in enumerate(t) if c not in keep]
    if drop:
        x = _ops.sum(x, drop)
        t = "".join(c for c in t if c in keep)
    return x, t


def _sizes(operands, terms):
    """Each subscript's size: equal within an operand, equal or 1 (broadcast) across operands."""
    size = {}
    for k, (x, t) in enumerate(zip(operands, terms)):
        mine = {}
        for c, n in zip(t, x.shape):
            if c in mine and mine[c] != n:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {k} but the sizes don't match, {n} != {mine[c]}")
            mine[c] = n
        for c, n in mine.items():
            seen = size.get(c, 1)
            if n != 1 and seen != 1 and n != seen:
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {k} which does not broadcast with previously seen size {seen}")
            size[c] = n if seen == 1 else seen
    return size


def einsum(eq, *operands):
    terms, rhs = _parse(eq, operands)
    size = _sizes(operands, terms)
    ops = []
    for x, t in zip(operands, terms):
        # broadcast size-1 subscripts to the size the other operands give them
        want = [size[c] for c in t]
        if list(x.shape) != want:
            x = x.expand(*want)
        ops.append(_dedup(x, t))
    x, t = ops[0]
    for i in range(1, len(ops)):
        y, u = ops[i]
        later = set(rhs) | set("".join(tt for _, tt in ops[i + 1:]))
        x, t = _sum_out(x, t, later | set(u))
        y, u = _sum_out(y, u, later | set(t))
        batch = [c for c in t if c in u and c in later]
        contract = [c for c in t if c in u and c not in later]
        a_only = [c for c in t if c not in u]
        b_only = [c for c in u if c not in t]
        size = {c: x.shape[t.index(c)] for c in t}
        size.update({c: y.shape[u.index(c)] for c in u})

        def prod(cs):
            n = 1
            for c in cs:
                n *= size[c]
            return n
        if x.dtype != y.dtype:
            # PyTorch multiplies pairs (promoting) unless a real contraction needs bmm (same dtype)
            if prod(contract) != 1:
                raise RuntimeError(f"expected scalar type {_ops._SCALAR_NAME[x.dtype]} but found {_ops._SCALAR_NAME[y.dtype]}")
            rt = _ops.promote_types(x.dtype, y.dtype)
            x, y = x.to(rt), y.to(rt)
        xa = _ops.permute(x, [t.index(c) for c in batch + a_only + contract]).reshape(prod(batch), prod(a_only), prod(contract))
        yb = _ops.permute(y, [u.index(c) for c in batch + contract + b_only]).reshape(prod(batch), prod(contract), prod(b_only))
        x = _ops.bmm(xa, yb).reshape([size[c] for c in batch + a_only + b_only])
        t = "".join(batch + a_only + b_only)
    x, t = _sum_out(x, t, set(rhs))
    if t == rhs:
        return x if len(operands) > 1 or x is not operands[0] else x.clone()
    return _ops.permute(x, [t.index(c) for c in rhs])
