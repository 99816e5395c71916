"""Compiled kernels of the optimiser: a capacitated assignment on a sparse graph.

``assign`` solves min-cost assignment of ``rows`` (each taken once) to columns with
capacities, on the edges given, every row also free to take a dummy column (cost 0,
unlimited): successive shortest paths (Dijkstra on reduced costs, binary heap),
one augmenting path per row, starting from a row reduction whose tight edges are
taken while their column has room. It returns the duals as well, which the
optimiser turns into a certificate of optimality on the dense problem.

Invariants (checked by the certificate, not assumed): every edge's reduced cost
``cost - u[row] - v[col]`` is >= 0, the chosen edges' is 0, every column with room
left has ``v == 0`` (prices only fall, and only for full columns).

``candidates`` picks the sparse graph (each mentee's best mentors, each mentor's
best mentees) and ``violations`` adds the edges a certificate finds wanting.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _top_threshold(values: np.ndarray, keep: int) -> float:
    """The ``keep``-th largest of ``values`` (-inf if there are no more than that)."""
    if values.size <= keep:
        return -np.inf
    return float(np.partition(values, values.size - keep)[values.size - keep])


@njit(cache=True, nogil=True)
def candidates(
    weights: np.ndarray,
    feasible: np.ndarray,
    per_row: int,
    per_col: np.ndarray,
) -> np.ndarray:
    """(n x m) bool: feasible pairs among a row's ``per_row`` best or a column's
    ``per_col[k]`` best (ties kept). One pass in memory order: each row's threshold
    by partition, each column's best so far in a small min-heap."""
    n, m = weights.shape
    width = max(1, per_col.max())
    heap = np.empty((m, width))
    size = np.zeros(m, np.int64)
    seen = np.zeros(m, np.int64)
    row_t = np.empty(n)
    buf = np.empty(m)
    for i in range(n):
        c = 0
        for k in range(m):
            if not feasible[i, k]:
                continue
            w = weights[i, k]
            buf[c] = w
            c += 1
            seen[k] += 1
            keep = per_col[k]
            if keep <= 0:
                continue
            h = heap[k]
            if size[k] < keep:  # push
                p = size[k]
                size[k] += 1
                while p > 0:
                    q = (p - 1) >> 1
                    if h[q] <= w:
                        break
                    h[p] = h[q]
                    p = q
                h[p] = w
            elif w > h[0]:  # replace the smallest kept
                p = 0
                while True:
                    q = 2 * p + 1
                    if q >= keep:
                        break
                    if q + 1 < keep and h[q + 1] < h[q]:
                        q += 1
                    if h[q] >= w:
                        break
                    h[p] = h[q]
                    p = q
                h[p] = w
        row_t[i] = _top_threshold(buf[:c].copy(), per_row)
    col_t = np.full(m, np.inf)
    for k in range(m):
        if seen[k] <= per_col[k]:
            col_t[k] = -np.inf
        elif per_col[k] > 0:
            col_t[k] = heap[k, 0]
    out = np.zeros((n, m), np.bool_)
    for i in range(n):
        for k in range(m):
            if feasible[i, k]:
                w = weights[i, k]
                out[i, k] = w >= row_t[i] or w >= col_t[k]
    return out


@njit(cache=True, nogil=True)
def violations(
    weights: np.ndarray,
    feasible: np.ndarray,
    row_dual: np.ndarray,
    col_dual: np.ndarray,
    tol: float,
    margin: float,
    mark: np.ndarray,
) -> int:
    """Count the feasible pairs whose weight exceeds their duals' sum by more than
    ``tol`` (none: the duals prove the assignment optimal). Those pairs, and the
    other pairs of the same rows within ``margin`` of their duals' sum, are marked
    in ``mark`` (the next candidate graph)."""
    n, m = weights.shape
    found = 0
    for i in range(n):
        ui = row_dual[i]
        bad = 0
        for k in range(m):
            if feasible[i, k] and weights[i, k] > ui + col_dual[k] + tol:
                bad += 1
        if bad:
            found += bad
            for k in range(m):
                if feasible[i, k] and weights[i, k] > ui + col_dual[k] - margin:
                    mark[i, k] = True
    return found


@njit(cache=True, nogil=True)
def _push(hk: np.ndarray, hc: np.ndarray, hn: int, key: float, col: int) -> int:
    p = hn
    while p > 0:
        q = (p - 1) >> 1
        if hk[q] <= key:
            break
        hk[p] = hk[q]
        hc[p] = hc[q]
        p = q
    hk[p] = key
    hc[p] = col
    return hn + 1


@njit(cache=True, nogil=True)
def _pop(hk: np.ndarray, hc: np.ndarray, hn: int) -> int:
    """Remove the heap's top (read it first from ``hk[0]``, ``hc[0]``)."""
    hn -= 1
    lk = hk[hn]
    lc = hc[hn]
    p = 0
    while True:
        c = 2 * p + 1
        if c >= hn:
            break
        if c + 1 < hn and hk[c + 1] < hk[c]:
            c += 1
        if hk[c] >= lk:
            break
        hk[p] = hk[c]
        hc[p] = hc[c]
        p = c
    hk[p] = lk
    hc[p] = lc
    return hn


@njit(cache=True, nogil=True)
def assign(
    lo: np.ndarray,
    hi: np.ndarray,
    cols: np.ndarray,
    costs: np.ndarray,
    cap: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row ``r``'s edges are ``cols[lo[r]:hi[r]]`` at ``costs[...]``; column ``k``
    takes at most ``cap[k]`` rows. Returns (column of each row, -1 for the dummy;
    row duals ``u``; column duals ``v``), minimising the total cost."""
    n = lo.size
    m = cap.size
    dummy = m
    width = m + 1
    inf = np.inf
    v = np.zeros(width)
    u = np.zeros(n)
    col_of = np.full(n, -2, np.int64)  # -2: not yet placed
    load = np.zeros(width, np.int64)
    room = np.empty(width, np.int64)
    room[:m] = cap
    room[dummy] = n + 1
    start = np.zeros(m + 1, np.int64)
    for k in range(m):
        start[k + 1] = start[k] + cap[k]
    slot = np.full(start[m] + 1, -1, np.int64)  # rows held by each column
    slot_of = np.full(n, -1, np.int64)
    # Row reduction: each row's cheapest edge is tight; taken while there is room.
    for i in range(n):
        best = 0.0
        bk = dummy
        for e in range(lo[i], hi[i]):
            if costs[e] < best:
                best = costs[e]
                bk = cols[e]
        u[i] = best
        if bk == dummy:
            col_of[i] = -1
            load[dummy] += 1
        elif load[bk] < room[bk]:
            s = start[bk] + load[bk]
            slot[s] = i
            slot_of[i] = s
            load[bk] += 1
            col_of[i] = bk
    d = np.full(width, inf)
    prev = np.empty(width, np.int64)
    scanned = np.zeros(width, np.bool_)
    seen = np.zeros(width, np.bool_)
    order = np.empty(width, np.int64)
    touched = np.empty(width, np.int64)
    heap_size = cols.size + 2 * width + 8
    hk = np.empty(heap_size)
    hc = np.empty(heap_size, np.int64)
    for s in range(n):
        if col_of[s] != -2:
            continue
        n_touched = 0
        hn = 0
        for e in range(lo[s], hi[s] + 1):
            if e < hi[s]:
                k = cols[e]
                nd = costs[e] - u[s] - v[k]
            else:
                k = dummy
                nd = -u[s] - v[dummy]
            if nd < d[k]:
                d[k] = nd
                prev[k] = s
                if not seen[k]:
                    seen[k] = True
                    touched[n_touched] = k
                    n_touched += 1
                hn = _push(hk, hc, hn, nd, k)
        n_scanned = 0
        end = -1
        while True:
            key = hk[0]
            k = hc[0]
            hn = _pop(hk, hc, hn)
            if scanned[k] or key > d[k]:
                continue  # a stale entry
            if load[k] < room[k]:
                end = k
                break
            scanned[k] = True
            order[n_scanned] = k
            n_scanned += 1
            dk = d[k]
            for t in range(start[k], start[k] + room[k]):
                r = slot[t]
                base = dk - u[r]
                for e in range(lo[r], hi[r] + 1):
                    if e < hi[r]:
                        col = cols[e]
                        if scanned[col]:
                            continue
                        nd = base + costs[e] - v[col]
                    else:
                        col = dummy
                        nd = base - v[dummy]
                    if nd < d[col]:
                        d[col] = nd
                        prev[col] = r
                        if not seen[col]:
                            seen[col] = True
                            touched[n_touched] = col
                            n_touched += 1
                        hn = _push(hk, hc, hn, nd, col)
        delta = d[end]
        for q in range(n_scanned):
            k = order[q]
            v[k] += d[k] - delta
            for t in range(start[k], start[k] + room[k]):
                u[slot[t]] += delta - d[k]
        u[s] += delta
        # Augment: the end column takes its predecessor row, whose old column takes
        # its own predecessor (into the slot just left), back to the new row.
        k = end
        free_slot = -1
        while True:
            r = prev[k]
            old = col_of[r]
            old_slot = slot_of[r]
            if k == dummy:
                load[dummy] += 1
                slot_of[r] = -1
                col_of[r] = -1
            else:
                if load[k] < room[k]:
                    new_slot = start[k] + load[k]
                    load[k] += 1
                else:
                    new_slot = free_slot
                slot[new_slot] = r
                slot_of[r] = new_slot
                col_of[r] = k
            if old == -2:
                break
            free_slot = old_slot
            k = old
        for q in range(n_scanned):
            scanned[order[q]] = False
        for q in range(n_touched):
            d[touched[q]] = inf
            seen[touched[q]] = False
    return col_of, u, v
