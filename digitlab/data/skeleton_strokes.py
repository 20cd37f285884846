"""MNIST digits as pen strokes: a one-pixel skeleton walked into the few long strokes a hand draws.

A digit is binarised (>= 0.5) and thinned (:func:`digitlab.data.thinning.zhang_suen` with Lü &
Wang's correction, which keeps diagonal strokes two pixels thick); :func:`trace_skeleton` then walks
the skeleton graph as a person would draw it: strokes start at free ends (topmost first), then at
junctions, then on closed loops; at a junction the walk goes on along the branch that turns least,
so a 4 becomes two strokes and an 8 one; short spurs (thinning artefacts) are dropped and a
skeleton in many pieces is joined, nearest ends first, into at most four strokes. NumPy only.
"""

from __future__ import annotations

import numpy as np

from digitlab.data.thinning import zhang_suen

__all__ = ["trace_skeleton", "mnist_strokes"]

#: Pixels of the skeleton graph: a branch from a free end to a junction shorter than this is a
#: thinning artefact (a spur on a corner), not a stroke a person drew.
_SPUR_PIXELS = 3
#: Moving-average passes that turn a staircase of skeleton pixels into a pen's smooth path.
_SMOOTHING_PASSES = 2
#: A person draws a digit in one to four strokes.
_MAX_STROKES = 4

_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def _graph(pixels: set) -> dict:
    """8-neighbour adjacency of skeleton pixels (row, col). A diagonal link is left out when a
    pixel at the corner joins the two already, so a bend is a path, not a triangle."""
    adj = {}
    for r, c in pixels:
        nb = []
        for dr, dc in _OFFSETS:
            q = (r + dr, c + dc)
            if q not in pixels:
                continue
            if dr and dc and ((r + dr, c) in pixels or (r, c + dc) in pixels):
                continue
            nb.append(q)
        adj[(r, c)] = nb
    return adj


def _branches(adj: dict) -> list[list]:
    """Split the graph into branches: pixel paths between nodes whose degree is not 2 (free ends,
    junctions, lone pixels); closed loops with no such node become one branch starting and ending
    at their topmost pixel."""
    key = {p for p, nb in adj.items() if len(nb) != 2}
    used: set = set()
    out = []
    for k in sorted(key):
        if not adj[k]:
            out.append([k])            # a lone pixel: a dot
        for q in adj[k]:
            if frozenset((k, q)) in used:
                continue
            path, cur = [k, q], q
            used.add(frozenset((k, q)))
            while cur not in key:
                nxt = next((n for n in adj[cur] if frozenset((cur, n)) not in used), None)
                if nxt is None:        # the path closed on itself
                    break
                used.add(frozenset((cur, nxt)))
                path.append(nxt)
                cur = nxt
            out.append(path)
    for start in sorted(adj):          # what is left are loops of degree-2 pixels
        for q in adj[start]:
            if frozenset((start, q)) in used:
                continue
            path, cur = [start, q], q
            used.add(frozenset((start, q)))
            while cur != start:
                nxt = next((n for n in adj[cur] if frozenset((cur, n)) not in used), None)
                if nxt is None:
                    break
                used.add(frozenset((cur, nxt)))
                path.append(nxt)
                cur = nxt
            out.append(path)
    return out


def _prune_spurs(pixels: set) -> set:
    """Remove short branches that hang off a junction (thinning artefacts), keeping the rest."""
    for _ in range(2):
        adj = _graph(pixels)
        spurs = []
        for b in _branches(adj):
            ends = (len(adj[b[0]]), len(adj[b[-1]]))
            if 1 in ends and max(ends) >= 3 and len(b) - 1 < _SPUR_PIXELS:
                spurs.append(b[:-1] if ends[0] == 1 else b[1:])
        if not spurs:
            break
        for s in spurs:
            pixels = pixels - set(s)
    return pixels


def _direction(path: list, at_end: bool) -> np.ndarray:
    """Unit direction of a pixel path over its last (or first) few pixels, leaving (entering)."""
    k = min(4, len(path) - 1)
    a, b = (path[-1 - k], path[-1]) if at_end else (path[0], path[k])
    d = np.array([b[1] - a[1], b[0] - a[0]], dtype=np.float64)
    n = np.hypot(*d)
    return d / n if n > 0 else d


def trace_skeleton(skel: np.ndarray) -> list[np.ndarray]:
    """Walk a one-pixel skeleton into ordered pen strokes, as a person would draw it.

    Parameters
    ----------
    skel : array_like of bool, shape (H, W)

    Returns
    -------
    list of numpy.ndarray, each (n, 2) float64
        Stroke points in (x, y) pixel-centre coordinates (pixel (row, col) is at x = col + 0.5,
        y = row + 0.5), unsmoothed. Strokes start at free ends, topmost first, then at
        junctions, then on closed loops; at a junction a stroke continues along the unused branch
        that turns least. An empty skeleton gives no strokes.
    """
    pixels = {(int(r), int(c)) for r, c in zip(*np.nonzero(np.asarray(skel, dtype=bool)))}
    if not pixels:
        return []
    pixels = _prune_spurs(pixels)
    adj = _graph(pixels)
    branches = _branches(adj)
    at_node: dict = {}
    for i, b in enumerate(branches):
        at_node.setdefault(b[0], []).append(i)
        at_node.setdefault(b[-1], []).append(i)
    unused = set(range(len(branches)))

    def starts(degree_test) -> list:
        return sorted(n for n in at_node if degree_test(len(adj[n]))
                      and any(i in unused for i in at_node[n]))

    strokes = []
    while unused:
        cands = starts(lambda d: d <= 1) or starts(lambda d: d >= 3)
        if cands:
            node = cands[0]
            i = min(i for i in at_node[node] if i in unused)
        else:                           # only closed loops are left: start at the topmost pixel
            i = min(unused, key=lambda j: min(branches[j]))
            node = branches[i][0]
        path = list(branches[i]) if branches[i][0] == node else branches[i][::-1]
        unused.discard(i)
        while True:
            end = path[-1]
            options = [j for j in at_node.get(end, ()) if j in unused]
            if not options or len(path) < 2:
                break
            heading = _direction(path, at_end=True)
            leaving = [branches[j] if branches[j][0] == end else branches[j][::-1] for j in options]
            # the branch that turns least: the largest cosine between the heading and its start
            k = int(np.argmax([heading @ _direction(b, at_end=False) for b in leaving]))
            path.extend(leaving[k][1:])
            unused.discard(options[k])
        strokes.append(np.array([[c + 0.5, r + 0.5] for r, c in path], dtype=np.float64))
    return _at_most(strokes, _MAX_STROKES)


def _at_most(strokes: list[np.ndarray], n: int) -> list[np.ndarray]:
    """Join strokes, nearest ends first, until there are at most ``n``: a hand draws a digit in a
    few strokes, and the rare skeleton in many pieces (broken by thinning) is one it drew through."""
    strokes = list(strokes)
    while len(strokes) > n:
        best = None
        for i in range(len(strokes)):
            for j in range(len(strokes)):
                if i == j:
                    continue
                for a in (strokes[i], strokes[i][::-1]):
                    for b in (strokes[j], strokes[j][::-1]):
                        d = float(np.hypot(*(a[-1] - b[0])))
                        if best is None or d < best[0]:
                            best = (d, i, j, a, b)
        _, i, j, a, b = best
        joined = np.vstack([a, b[1:] if np.array_equal(a[-1], b[0]) else b])
        strokes = [s for k, s in enumerate(strokes) if k not in (i, j)]
        strokes.insert(min(i, j), joined)
    return strokes


def _smooth(stroke: np.ndarray, passes: int = _SMOOTHING_PASSES) -> np.ndarray:
    """A three-point moving average along the stroke, ends fixed (a closed stroke stays closed)."""
    s = stroke.copy()
    for _ in range(passes):
        if len(s) < 3:
            break
        s[1:-1] = (s[:-2] + s[1:-1] + s[2:]) / 3.0
    return s


def mnist_strokes(image: np.ndarray) -> list[np.ndarray]:
    """The pen strokes of one MNIST digit: binarised at half intensity, thinned, traced, smoothed.

    Parameters
    ----------
    image : array_like, shape (28, 28)
        uint8 0..255 or float 0..1, ink high.

    Returns
    -------
    list of numpy.ndarray, each (n, 2) float64, (x, y) in the image's pixel coordinates
    """
    img = np.asarray(image)
    if img.ndim != 2:
        raise ValueError(f"a digit image must be 2-D, got shape {img.shape}")
    scale = 255.0 if np.issubdtype(img.dtype, np.integer) else 1.0
    return [_smooth(s) for s in trace_skeleton(zhang_suen(img / scale >= 0.5, keep_diagonals=True))]
