#!/usr/bin/env python3
"""Import circles between source files, from `use crate::...`, `super::` and `self::` paths.

For every crate under the workspace (each `*/src` with a lib.rs or main.rs) this maps each file to
its module path, reads every `crate::`, `super::` and `self::` path in the file (use statements with
their brace groups, and paths written inline), and resolves each to the deepest module file it
names. An item a module only re-exports (`pub use child::Item`) is followed to the child that
defines it, so a re-export alone makes no arrow back to the parent. A module's own test file
(`foo/tests.rs`, `mod tests;`) is left out: tests sit above what they test. An arrow from a
module up to one of its ancestors (`super::Thing` declared by the parent `mod.rs`) is left out too:
a module and its children are one unit, and the rule is about circles between separate parts
(siblings, or files in different subtrees). `--strict` counts those arrows as well, to see them.

It prints every circle (strongly connected set of files) and fails only on circles that are not
in scripts/module-cycles.allow, so the rule "arrows between modules run one way" stays true while
known circles are worked off. Run: python3 scripts/module-cycles.py [--graph] [--strict]
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOW = os.path.join(ROOT, "scripts", "module-cycles.allow")
CRATES = ["agent", "tools", "sandbox", "tests"]
STRICT = "--strict" in sys.argv


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    # String literals could hold `crate::` text; drop their contents.
    text = re.sub(r"'(?:\\.|[^'\\])'", "' '", text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return drop_test_code(text)


def drop_test_code(text):
    """Remove `#[cfg(test)]` items: inline test modules and test-only imports sit above the code."""
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?(?:mod\s+\w+\s*\{|use\s[^;]*;|mod\s+\w+\s*;)", text)
        if not m:
            return text
        end = m.end()
        if text[end - 1] == "{":
            depth = 1
            while end < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
        text = text[: m.start()] + text[end:]


def module_files(src):
    """Map module path (tuple of names) -> file, for every .rs file under src."""
    mods = {}
    for dirpath, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src)[:-3].split(os.sep)
            if rel[-1] in ("lib", "main") and len(rel) == 1:
                key = ()
            elif rel[-1] == "mod":
                key = tuple(rel[:-1])
            else:
                key = tuple(rel)
            # lib.rs and main.rs share the root; keep lib.rs as the root, main.rs as its own node.
            if rel == ["main"] and os.path.exists(os.path.join(src, "lib.rs")):
                key = ("<main>",)
            mods[key] = path
    return mods


def expand_use(tree):
    """Expand a use tree (`a::{b, c::{d, e}}`) into flat paths."""
    tree = tree.strip()
    depth = 0
    for i, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                prefix = tree[:i]
                inner = tree[i + 1 : tree.rindex("}")]
                parts, cur, d = [], "", 0
                for c in inner:
                    if c == "," and d == 0:
                        parts.append(cur)
                        cur = ""
                        continue
                    d += c == "{"
                    d -= c == "}"
                    cur += c
                parts.append(cur)
                out = []
                for p in parts:
                    if p.strip():
                        out.extend(prefix + q for q in expand_use(p))
                return out
            depth += 1
    tree = re.sub(r"\s+as\s+\w+$", "", tree)
    return [re.sub(r"\s+", "", tree)]


def paths_in(text, children=()):
    """Every crate/super/self path in the text, and every path that starts with the name of one
    of this module's own submodules (`stream::read`, `use client::ModelClient`), as segments."""
    found = []
    for m in re.finditer(r"\buse\s+([^;]*);", text):
        for p in expand_use(m.group(1)):
            found.append(p)
    rest = re.sub(r"\buse\s+[^;]*;", "", text)
    for m in re.finditer(r"\b(?:crate|super|self)(?:::(?:super|\w+))+", rest):
        found.append(m.group(0))
    for name in children:
        for m in re.finditer(r"(?<![\w:])" + name + r"(?:::\w+)+", rest):
            found.append("self::" + m.group(0))
    out = []
    for p in found:
        segs = [s for s in p.split("::") if s]
        if segs and segs[0] in ("crate", "super", "self"):
            out.append(segs)
        elif segs and segs[0] in children:
            out.append(["self"] + segs)
    return out


def reexports(text):
    """Names a module re-exports from its children: name -> child path segments."""
    out = {}
    for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]*);", text):
        for p in expand_use(m.group(1)):
            segs = [s for s in p.split("::") if s]
            if segs and segs[0] == "self":
                segs = segs[1:]
            if len(segs) >= 2 and segs[0] != "super":
                out[segs[-1]] = segs
    return out


def resolve(mods, texts, here, segs):
    """The module path a crate/super/self path lands in, or None if it leaves the crate."""
    if segs[0] == "crate":
        base, rest = (), segs[1:]
    else:
        base = list(here)
        rest = segs
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                if not base:
                    return None
                base.pop()
            rest = rest[1:]
        base = tuple(base)
    cur = base
    for s in rest:
        if cur + (s,) in mods:
            cur = cur + (s,)
            continue
        # An item: follow a re-export from a child module, a few hops at most.
        for _ in range(4):
            rx = reexports(texts.get(cur, "")).get(s)
            if not rx:
                break
            nxt = cur
            if rx[0] == "crate":
                nxt, rx = (), rx[1:]
            for r in rx[:-1]:
                if nxt + (r,) in mods:
                    nxt = nxt + (r,)
                else:
                    break
            if nxt == cur or not nxt:
                break
            cur = nxt
        break
    return cur


def graph_for(crate):
    src = os.path.join(ROOT, crate, "src")
    if not os.path.isdir(src):
        return {}, {}
    mods = module_files(src)
    texts = {k: strip_comments(open(v, encoding="utf-8").read()) for k, v in mods.items()}
    edges = {k: set() for k in mods}
    for here, text in texts.items():
        if here and here[-1] == "tests":
            continue
        origin = here if here != ("<main>",) else ()
        children = [k[-1] for k in mods if len(k) == len(origin) + 1 and k[:-1] == origin]
        for segs in paths_in(text, children):
            tgt = resolve(mods, texts, origin, segs)
            if tgt is None or tgt == here or tgt not in mods:
                continue
            if tgt and tgt[-1] == "tests":
                continue
            # An arrow up to an ancestor (a child using what its parent module declares) is part
            # of one module and its children, not a circle between parts; --strict counts it.
            if not STRICT and origin[: len(tgt)] == tgt:
                continue
            edges[here].add(tgt)
    names = {k: os.path.relpath(v, ROOT) for k, v in mods.items()}
    return edges, names


def sccs(edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


def load_allow():
    allowed = set()
    if os.path.exists(ALLOW):
        for line in open(ALLOW, encoding="utf-8"):
            line = line.split("#", 1)[0].strip()
            if line:
                allowed.add(frozenset(line.split()))
    return allowed


def main():
    show_graph = "--graph" in sys.argv
    allowed = load_allow()
    seen, new = [], []
    for crate in CRATES:
        edges, names = graph_for(crate)
        if show_graph:
            for k in sorted(edges, key=lambda k: names[k]):
                for t in sorted(edges[k], key=lambda t: names[t]):
                    print(f"{names[k]} -> {names[t]}")
        for comp in sccs(edges):
            files = sorted(names[c] for c in comp)
            seen.append(files)
            if frozenset(files) not in allowed:
                new.append(files)
            inside = set(comp)
            arrows = sorted(
                f"{names[a]} -> {names[b]}" for a in comp for b in edges[a] if b in inside
            )
            tag = "NEW" if frozenset(files) not in allowed else "allowed"
            print(f"circle ({tag}): {' '.join(files)}")
            for a in arrows:
                print(f"    {a}")
    stale = allowed - {frozenset(f) for f in seen}
    for s in sorted(" ".join(sorted(s)) for s in stale):
        print(f"note: allow-list entry no longer a circle, remove it: {s}")
    if new:
        print(f"{len(new)} new import circle(s); break them (move the shared type down)", file=sys.stderr)
        return 1
    print(f"module circles: {len(seen)} known, 0 new")
    return 0


if __name__ == "__main__":
    sys.exit(main())
