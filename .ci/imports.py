#!/usr/bin/env python3
"""The import graph of src/ (one node per file; edges from `crate::` and
`super::` paths outside `#[cfg(test)]`): prints its size and every cycle
(strongly connected component), and exits 1 if there is one.

    python3 .ci/imports.py [SRC_DIR]
"""
import os, re, sys
root = sys.argv[1] if len(sys.argv) > 1 else 'src'
mods = {}
for dp, _, fs in os.walk(root):
    for f in fs:
        if not f.endswith('.rs'): continue
        p = os.path.join(dp, f); rel = os.path.relpath(p, root)[:-3]
        parts = rel.split('/')
        if parts[-1] in ('mod', 'lib', 'main'): parts = parts[:-1]
        mods[tuple(parts)] = p
def strip_tests(text):
    i = text.find('#[cfg(test)]')
    return text if i < 0 else text[:i]
def resolve(path):
    # longest prefix that is a module
    for n in range(len(path), 0, -1):
        if tuple(path[:n]) in mods: return tuple(path[:n])
    return None
edges = {m: set() for m in mods}
for m, p in mods.items():
    text = strip_tests(open(p).read())
    text = re.sub(r'//.*', '', text)
    # expand `use crate::{a, b::c}` groups roughly
    for g in re.finditer(r'crate::\{([^}]*)\}', text):
        for item in re.split(r',\s*', g.group(1)):
            item = item.strip()
            if item: 
                t = resolve(item.split('::'))
                if t and t != m and t != m[:len(t)]: edges[m].add(t)
    for mm in re.finditer(r'\bcrate::((?:\w+::)*\w+)', text):
        t = resolve(mm.group(1).split('::'))
        if t and t != m and t != m[:len(t)]: edges[m].add(t)
    for mm in re.finditer(r'\b((?:super::)+)((?:\w+::)*\w+)', text):
        ups = mm.group(1).count('super::')
        is_modrs = os.path.basename(p) in ('mod.rs',)
        base = list(m[:len(m) - ups]) if True else []
        t = resolve(base + mm.group(2).split('::'))
        if t and t != m and t != m[:len(t)]: edges[m].add(t)
# Tarjan
index = {}; low = {}; stack = []; on = set(); sccs = []; i = [0]
sys.setrecursionlimit(10000)
def sc(v):
    index[v] = low[v] = i[0]; i[0] += 1; stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: sccs.append(comp)
for v in edges:
    if v not in index: sc(v)
name = lambda t: '::'.join(t) or 'lib'
print(f"{len(mods)} files, {sum(len(e) for e in edges.values())} edges, {len(sccs)} cycles")
for c in sccs: print('  cycle:', ', '.join(sorted(name(x) for x in c)))
sys.exit(1 if sccs else 0)
