"""Small-cell suppression of additive tables: primary and complementary (secondary).

Block data form a tree per metric (micro-grid → grid → community → street → district) in which
every parent is the sum of its children. Hiding the small counts alone (primary suppression)
does not protect them: a parent total minus the published siblings gives the hidden child back,
and a hidden parent is the sum of its published children. Each parent and its children form one
equation ``parent = sum(children)``; a value is derivable from that equation when it is its only
unknown. The rule applied here, until nothing changes:

1. **Primary:** every value from 1 to ``below - 1`` is hidden (zeros stay: they reveal nothing).
2. **Subtraction:** in an equation whose parent is published, if exactly one child is hidden,
   also hide the smallest published non-zero sibling (ties: the smallest code).
3. **Addition:** in an equation whose parent is hidden, if no child is hidden, hide the smallest
   published non-zero child (else the parent is the sum of its children).

Afterwards no equation has exactly one unknown, so no hidden value equals a published parent
minus published siblings, nor a sum of published children. Values stay as they are (nothing is
perturbed); combining several equations can still bound a hidden value (a full linear audit, as
statistical offices run with tau-argus, is beyond this rule).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

Node = TypeVar("Node", bound=Hashable)


def complementary_suppression(
    values: Mapping[Node, float],
    children: Mapping[Node, Sequence[Node]],
    below: int,
    *,
    order: Mapping[Node, object] | None = None,
) -> set[Node]:
    """The nodes to hide in one additive tree (primary and complementary).

    Parameters
    ----------
    values
        Value of each node; a node absent from ``values`` is 0.
    children
        The children of each parent node (each child has one parent).
    below
        Values from 1 to ``below - 1`` are hidden first.
    order
        Sort key for ties between equal values (default: the node itself).

    Returns
    -------
    set
        Every node to hide.

    Examples
    --------
    >>> tree = {"G": ["a", "b", "c"]}
    >>> sorted(complementary_suppression({"G": 20, "a": 2, "b": 7, "c": 11}, tree, 5))
    ['a', 'b']
    """
    key = order or {}
    hidden = {n for n, v in values.items() if 0 < v < below}

    def pick(candidates: Iterable[Node]) -> Node | None:
        shown = [c for c in candidates if c not in hidden and values.get(c, 0) > 0]
        if not shown:
            return None
        return min(shown, key=lambda c: (values.get(c, 0), str(key.get(c, c))))

    # parents in a fixed order: the result must not depend on how ``children`` was built (a
    # dict filled from a set iterates in an order that moves with Python's string hashing)
    parents = sorted(children, key=lambda p: str(key.get(p, p)))
    changed = True
    while changed:
        changed = False
        for parent in parents:
            kids = children[parent]
            n_hidden = sum(1 for c in kids if c in hidden)
            need = n_hidden == 0 if parent in hidden else n_hidden == 1
            if not need:
                continue
            partner = pick(kids)
            if partner is not None:
                hidden.add(partner)
                changed = True
    return hidden


def single_equation_leaks(
    values: Mapping[Node, float], children: Mapping[Node, Sequence[Node]], hidden: set[Node]
) -> list[Node]:
    """Hidden nodes that one equation gives back (the property the rule guarantees: none).

    A hidden child is derivable when its published parent minus its published siblings leaves
    it alone; a hidden parent when all its children are published.
    """
    leaks: list[Node] = []
    for parent, kids in children.items():
        unknown = [c for c in kids if c in hidden and values.get(c, 0) != 0]
        if parent in hidden:
            unknown.append(parent)
        if len(unknown) == 1:
            leaks.append(unknown[0])
    return leaks
