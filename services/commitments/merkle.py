"""A Merkle tree over the history as RFC 9162 (Certificate Transparency 2.0) defines it:
SHA-256, a leaf hashed with a 0x00 prefix, an inner node with 0x01, the left subtree the
largest power of two smaller than the whole. Proofs are its audit paths, so any RFC 9162
verifier checks them. Leaves here are leaf hashes already (see `leaf_hash`).

Written on hashlib rather than PyPI's pymerkle: its trees match, but its consistency
proofs are its own format (extra hashes and bit masks), not RFC 9162's.
"""
import hashlib


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n):
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves, start=0, end=None):
    """The tree hash of leaves[start:end]; the empty tree's is SHA-256 of nothing."""
    end = len(leaves) if end is None else end
    if end - start == 0:
        return hashlib.sha256(b"").digest()
    if end - start == 1:
        return leaves[start]
    k = _split(end - start)
    return _node(root(leaves, start, start + k), root(leaves, start + k, end))


def inclusion_path(index, leaves, start=0, end=None):
    """The audit path of leaves[index] in the tree of leaves[start:end], bottom first."""
    end = len(leaves) if end is None else end
    if end - start <= 1:
        return []
    k = _split(end - start)
    if index < start + k:
        return inclusion_path(index, leaves, start, start + k) + [root(leaves, start + k, end)]
    return inclusion_path(index, leaves, start + k, end) + [root(leaves, start, start + k)]


def consistency_proof(first, leaves):
    """The proof that the tree of leaves[:first] is a prefix of the tree of all of them."""
    if not 0 < first < len(leaves):
        return []
    return _subproof(first, leaves, 0, len(leaves), True)


def _subproof(m, leaves, start, end, whole):
    n = end - start
    if m == n:
        return [] if whole else [root(leaves, start, end)]
    k = _split(n)
    if m <= k:
        return _subproof(m, leaves, start, start + k, whole) + [root(leaves, start + k, end)]
    return _subproof(m - k, leaves, start + k, end, False) + [root(leaves, start, start + k)]


class Frontier:
    """A growing tree kept as the roots of its perfect subtrees, left to right: appending a
    leaf and reading the root cost a few hashes, however large the tree."""

    def __init__(self, size=0, peaks=()):
        self.size, self.peaks = size, list(peaks)  # peaks: (height, hash)

    def copy(self):
        return Frontier(self.size, self.peaks)

    def append(self, leaf):
        node, height = leaf, 0
        while self.peaks and self.peaks[-1][0] == height:
            node, height = _node(self.peaks.pop()[1], node), height + 1
        self.peaks.append((height, node))
        self.size += 1

    def root(self):
        if not self.peaks:
            return hashlib.sha256(b"").digest()
        node = self.peaks[-1][1]
        for _, left in reversed(self.peaks[:-1]):
            node = _node(left, node)
        return node
