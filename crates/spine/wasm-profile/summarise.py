"""Where the analysis spent its time in a V8 CPU profile (run.sh, PROFILE=1):
self and inclusive time per function under `insitu_spine::analyse`, and
which functions call libm (fminf, round: calls in wasm, instructions natively)."""
import collections
import json
import sys

profile = json.load(open(sys.argv[1]))
nodes = {n["id"]: n for n in profile["nodes"]}
parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}


def name(node):
    return nodes[node]["callFrame"]["functionName"] or "(anonymous)"


def chain(node):
    names = []
    while node is not None:
        names.append(name(node))
        node = parent.get(node)
    return names


own, within, libm = collections.Counter(), collections.Counter(), collections.Counter()
deltas = profile["timeDeltas"]
for at, sample in enumerate(profile["samples"]):
    micros = deltas[at + 1] if at + 1 < len(deltas) else 0
    names = chain(sample)
    if not any(n.startswith("insitu_spine::analyse") for n in names):
        continue
    own[names[0]] += micros
    for n in set(names):
        within[n] += micros
    if names[0] in ("fmin", "fminf", "fmax", "fmaxf", "round", "roundf") and len(names) > 1:
        libm[(names[0], names[1])] += micros
total = sum(own.values()) or 1
print(f"analysis: {total / 1000:.0f} ms sampled")
for title, counts in (("self", own), ("inclusive", within)):
    print(f"--- {title}")
    for n, micros in counts.most_common(20):
        print(f"{micros / 1000:8.0f} ms {100 * micros / total:5.1f}%  {n[:110]}")
print("--- libm calls, by caller")
for (callee, caller), micros in libm.most_common(10):
    print(f"{micros / 1000:8.0f} ms  {callee} from {caller[:90]}")
