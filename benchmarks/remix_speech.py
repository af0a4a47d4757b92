"""Speech enhancement robustness check: the 12 dev speech items remixed at one SNR.

The dev corpus ``../shared/corpus/dev/speech`` has 12 items, 3 per input SNR
(-5, 0, +5, +10 dB), so a per-SNR median is a median of 3.  Here every item's clean
speech stem is remixed with its own noise stem at one global SNR (default -5 dB, and
0 dB), which gives 12 items per SNR, and every method is scored per item with
``../shared/peers/score.py`` (``score_arrays``: BSS Eval v3 / SI-SDR, PESQ-WB and STOI of
the speech estimate).

Mixing follows the corpus convention (``meta.json``: "snr_definition": 10 log10(sum
speech^2 / sum noise^2) over the whole clip, incl. silences; stems int16, mixture = the
exact integer sum of the stems): the speech stem is kept, the noise stem is scaled to the
target SNR, then both are scaled by one common gain so that the mixture peak equals the
item's ``mixture_peak_dbfs_target``, both stems are rounded to int16 and the mixture is
their integer sum.  Remixing an item at its own nominal SNR reproduces its mixture to a
few LSB (the corpus rounded float stems once; here the already rounded stems are rescaled
by a gain within 0.01 dB of 1); the script prints the largest difference as a check.

Rows: ours (``log_mmse`` default, ``log_mmse(harmonic_regeneration=True)``,
``mmse_stsa(harmonic_regeneration=True)``, ``omlsa``, ``wiener_dd``, all on their
defaults), the peers run as ``../shared/peers/results/speech/*.json`` record their
``params`` (``noisereduce.reduce_noise(y, sr, stationary=True/False)``,
``logmmse.logmmse(y_float32, sr)`` defaults, ``pyroomacoustics.denoise
.apply_spectral_sub(y)`` defaults with the output advanced by 256 samples = its hop), and
the noisy mixture.  The peers' noise estimate is mixture - speech estimate.  Nothing is
tuned: every method runs on its defaults (or the one option named in the row).

"Our best" is declared before the run: ``log_mmse(harmonic_regeneration=True)`` (the row
the issue 10 PESQ claim at -5 dB rests on).  The win counts compare it per item with
(a) each peer, (b) the peer with the best median on that metric over these 12 items and
(c) the best peer on that item (the per-item maximum over the four peers).

Usage (from the repository root, bench extra installed; not part of the test suite)::

    python -m benchmarks.remix_speech                # -5 and 0 dB
    python -m benchmarks.remix_speech --snr -5       # one SNR
    python -m benchmarks.remix_speech --check-peers  # first: the peers on the original
                                                     # items against their stored figures
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

import numpy as np
import soundfile as sf

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "shared", "corpus", "dev", "speech")
PEERS = os.path.join(HERE, "..", "..", "shared", "peers")
OUR_BEST = "log_mmse (harmonic_regeneration)"
OURS = (
    ("log_mmse", "log_mmse", {}),
    ("log_mmse (harmonic_regeneration)", "log_mmse", {"harmonic_regeneration": True}),
    ("mmse_stsa (harmonic_regeneration)", "mmse_stsa", {"harmonic_regeneration": True}),
    ("omlsa", "omlsa", {}),
    ("wiener_dd", "wiener_dd", {}),
)
PEER_NAMES = ("noisereduce_stationary", "noisereduce_nonstationary", "logmmse",
              "pra_spectral_sub")
METRICS = (("pesq_wb", "PESQ-WB", "{:.4f}"), ("stoi", "STOI", "{:.4f}"),
           ("si_sdr_i", "SI-SDR impr. (dB)", "{:+.2f}"))


# ----------------------------------------------------------------------------- mixing
def _read_int16(path):
    x, sr = sf.read(path, dtype="int16", always_2d=True)
    return x[:, 0].astype(np.int64), sr


def remix(item_dir: str, snr_db: float):
    """(speech, noise, mixture) as float64 (int16 / 32768), the sr and the actual SNR."""
    with open(os.path.join(item_dir, "meta.json")) as fh:
        meta = json.load(fh)
    s, sr = _read_int16(os.path.join(item_dir, "stems", "speech.flac"))
    n, _ = _read_int16(os.path.join(item_dir, "stems", "noise.flac"))
    s = s.astype(np.float64)
    n = n.astype(np.float64)
    n = n * np.sqrt(np.sum(s ** 2) / np.sum(n ** 2) / 10.0 ** (snr_db / 10.0))
    peak = 32768.0 * 10.0 ** (meta["made_with"]["mixture_peak_dbfs_target"] / 20.0)
    g = peak / np.max(np.abs(s + n))
    si = np.round(g * s).astype(np.int64)
    ni = np.round(g * n).astype(np.int64)
    mi = si + ni
    if np.max(np.abs(mi)) > 32767:
        raise ValueError(f"{item_dir}: remix clips")
    actual = 10.0 * np.log10(np.sum(si.astype(np.float64) ** 2)
                             / np.sum(ni.astype(np.float64) ** 2))
    return si / 32768.0, ni / 32768.0, mi / 32768.0, sr, actual, meta


# ---------------------------------------------------------------------------- methods
def _ours(method, params):
    import dsp_separate as ds

    def run(y, sr):
        out = ds.get_separator(method)(**params).separate(y, sr)
        return out["signal"], out["noise"]
    return run


def _peer(name):
    if name.startswith("noisereduce"):
        import noisereduce

        stationary = name == "noisereduce_stationary"

        def run(y, sr):
            est = noisereduce.reduce_noise(y=y.copy(), sr=sr, stationary=stationary)
            return est, y - est
    elif name == "logmmse":
        import logmmse

        def run(y, sr):
            est = np.asarray(logmmse.logmmse(y.copy(), sr), dtype=np.float64)
            est = np.pad(est, (0, max(0, y.size - est.size)))[: y.size]
            return est, y - est
    elif name == "pra_spectral_sub":
        from pyroomacoustics.denoise import apply_spectral_sub

        def run(y, sr):
            est = np.asarray(apply_spectral_sub(y.copy()), dtype=np.float64)
            est = np.concatenate([est[256:], np.zeros(256)])  # advance by the hop
            est = np.pad(est, (0, max(0, y.size - est.size)))[: y.size]
            return est, y - est
    else:
        raise KeyError(name)
    return run


def rows():
    out = [(label, "ds", _ours(m, p)) for label, m, p in OURS]
    out += [(name, "peer", _peer(name)) for name in PEER_NAMES]
    out += [("mixture", "floor", lambda y, sr: (y, np.zeros_like(y)))]
    return out


# ---------------------------------------------------------------------------- scoring
def _score(speech, noise, mix, sr, est_speech, est_noise):
    sys.path.insert(0, PEERS)
    from score import score_arrays

    res = score_arrays(np.stack([speech, noise])[:, None, :],
                       [np.asarray(est_speech, np.float64), np.asarray(est_noise, np.float64)],
                       ["speech", "noise"], sr, mode="named", mixture=mix[None],
                       perceptual="speech")
    d = res["sources"]["speech"]
    return {k: float(d[k]) if d.get(k) is not None else np.nan
            for k in ("sdr", "si_sdr", "pesq_wb", "stoi")}


def run_snr(snr_db: float, items) -> tuple[dict, dict]:
    """{row: {item: metrics}} and the remix info per item."""
    table = {}
    info = {}
    mixes = {}
    for item in items:
        speech, noise, mix, sr, actual, meta = remix(item, snr_db)
        name = os.path.basename(item)
        check = None
        if meta["snr_db_nominal"] == snr_db:  # the remix must reproduce the corpus mixture
            orig, _ = _read_int16(os.path.join(item, "mixture.flac"))
            check = int(np.max(np.abs(np.round(mix * 32768).astype(np.int64) - orig)))
        info[name] = {"snr_actual": actual, "noise": meta["noise_type"], "check_lsb": check}
        mixes[name] = (speech, noise, mix, sr)
    for label, kind, fn in rows():
        per = {}
        for name, (speech, noise, mix, sr) in mixes.items():
            y = mix.astype(np.float32)
            est_s, est_n = fn(y, sr)
            per[name] = _score(speech, noise, mix, sr, est_s, est_n)
        table[label] = (kind, per)
    floor = table["mixture"][1]
    for _, per in table.values():
        for name, d in per.items():
            d["si_sdr_i"] = d["si_sdr"] - floor[name]["si_sdr"]
    return table, info


# ---------------------------------------------------------------------------- report
def _vals(per, key):
    return np.array([per[k][key] for k in sorted(per)], dtype=np.float64)


def report(snr_db, table, info) -> str:
    n = len(info)
    lines = [f"### remixed at {snr_db:+g} dB ({n} items; actual SNR "
             f"{min(v['snr_actual'] for v in info.values()):+.3f} .. "
             f"{max(v['snr_actual'] for v in info.values()):+.3f} dB)", ""]
    checks = {k: v["check_lsb"] for k, v in info.items() if v["check_lsb"] is not None}
    if checks:
        lines += [f"Check: the {len(checks)} items whose corpus SNR is {snr_db:+g} dB, remixed, "
                  f"equal the corpus mixtures to within {max(checks.values())} LSB (int16; "
                  "the corpus rounded its float stems once, the remix rescales the rounded "
                  "stems to the recorded peak target).", ""]
    lines += ["| row | kind | " + " | ".join(f"{t} median | {t} mean" for _, t, _ in METRICS)
              + " |", "|---|---|" + "---:|---:|" * len(METRICS)]
    for label, (kind, per) in table.items():
        cells = []
        for key, _, fmt in METRICS:
            v = _vals(per, key)
            cells += [fmt.format(np.nanmedian(v)), fmt.format(np.nanmean(v))]
        lines.append(f"| {label} | {kind} | " + " | ".join(cells) + " |")
    # win counts of our declared best
    best = table[OUR_BEST][1]
    peers = {k: per for k, (kind, per) in table.items() if kind == "peer"}
    lines += ["", f"Per-item wins of **{OUR_BEST}** (declared before the run) — "
              f"wins / ties / losses over {n} items (tie = equal at the printed precision):",
              "", "| against | " + " | ".join(t for _, t, _ in METRICS) + " |",
              "|---|" + "---|" * len(METRICS)]

    def wtl(a, b, fmt):
        ra = [fmt.format(x) for x in a]
        rb = [fmt.format(x) for x in b]
        w = sum(float(x) > float(y) for x, y in zip(ra, rb))
        t = sum(float(x) == float(y) for x, y in zip(ra, rb))
        return f"{w} / {t} / {len(ra) - w - t}"

    for pname, per in peers.items():
        lines.append(f"| {pname} | " + " | ".join(
            wtl(_vals(best, k), _vals(per, k), f) for k, _, f in METRICS) + " |")
    cells = []
    for k, _, f in METRICS:
        top = max(peers, key=lambda p: np.nanmedian(_vals(peers[p], k)))
        cells.append(f"{wtl(_vals(best, k), _vals(peers[top], k), f)} ({top})")
    lines.append("| best peer by median on the metric | " + " | ".join(cells) + " |")
    lines.append("| best peer on each item (max over peers) | " + " | ".join(
        wtl(_vals(best, k), np.nanmax(np.stack([_vals(p, k) for p in peers.values()]), axis=0),
            f) for k, _, f in METRICS) + " |")
    ours = {k: per for k, (kind, per) in table.items() if kind == "ds"}
    cells = []
    for k, _, f in METRICS:
        top = max(peers, key=lambda p: np.nanmedian(_vals(peers[p], k)))
        mine = max(ours, key=lambda m: np.nanmedian(_vals(ours[m], k)))
        cells.append(f"{wtl(_vals(ours[mine], k), _vals(peers[top], k), f)} "
                     f"({mine} vs {top})")
    lines.append("| (after the fact) our best by median vs the best peer by median | "
                 + " | ".join(cells) + " |")
    # paired statistics, declared best vs the best peer by median
    from scipy.stats import binomtest, wilcoxon

    lines += ["", f"Paired differences {OUR_BEST} - best peer by median on the metric "
              f"({n} items; two-sided p-values):", "",
              "| metric | best peer | median diff | mean diff | sign test p | Wilcoxon p |",
              "|---|---|---:|---:|---:|---:|"]
    for k, t, f in METRICS:
        top = max(peers, key=lambda p: np.nanmedian(_vals(peers[p], k)))
        diff = _vals(best, k) - _vals(peers[top], k)
        diff = diff[np.isfinite(diff)]
        nz = diff[diff != 0]
        sign_p = binomtest(int(np.sum(nz > 0)), nz.size).pvalue if nz.size else 1.0
        wil_p = wilcoxon(nz).pvalue if nz.size else 1.0
        lines.append(f"| {t} | {top} | {f.format(np.median(diff))} | {f.format(np.mean(diff))}"
                     f" | {sign_p:.3f} | {wil_p:.3f} |")
    # per item, the declared best against the best peer per item
    lines += ["", f"Per item — {OUR_BEST} / best peer on that item (which):", "",
              "| item | noise | " + " | ".join(t for _, t, _ in METRICS) + " |",
              "|---|---|" + "---|" * len(METRICS)]
    for name in sorted(best):
        cells = []
        for k, _, f in METRICS:
            pv = {p: per[name][k] for p, per in peers.items()}
            top = max(pv, key=lambda p: pv[p] if np.isfinite(pv[p]) else -np.inf)
            cells.append(f"{f.format(best[name][k])} / {f.format(pv[top])} ({top})")
        lines.append(f"| {name} | {info[name]['noise']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def check_peers(items) -> str:
    """Our runs of the peers on the original items against their stored per-item figures."""
    lines = ["| peer | max abs diff PESQ-WB | STOI | SI-SDR (dB) | items |",
             "|---|---|---|---|---|"]
    for name in PEER_NAMES:
        with open(os.path.join(PEERS, "results", "speech", f"{name}.json")) as fh:
            stored = json.load(fh)["items"]
        fn = _peer(name)
        diffs = {"pesq_wb": 0.0, "stoi": 0.0, "si_sdr": 0.0}
        for item in items:
            y, sr = sf.read(os.path.join(item, "mixture.flac"), dtype="float32")
            est_s, est_n = fn(y, sr)
            orig_s, _ = sf.read(os.path.join(item, "stems", "speech.flac"), dtype="float64")
            orig_n, _ = sf.read(os.path.join(item, "stems", "noise.flac"), dtype="float64")
            d = _score(orig_s, orig_n, y.astype(np.float64), sr, est_s, est_n)
            ref = stored[os.path.basename(item)]["sources"]["speech"]
            for k in diffs:
                diffs[k] = max(diffs[k], abs(d[k] - float(ref[k])))
        lines.append(f"| {name} | {diffs['pesq_wb']:.3f} | {diffs['stoi']:.4f} | "
                     f"{diffs['si_sdr']:.3f} | {len(items)} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--snr", type=float, nargs="+", default=[-5.0, 0.0])
    ap.add_argument("--check-peers", action="store_true",
                    help="only: the peers on the original items against their stored figures")
    ap.add_argument("--json", help="also write the per-item figures here")
    a = ap.parse_args(argv)
    items = sorted(glob.glob(os.path.join(CORPUS, "speech_*")))
    if a.check_peers:
        print(check_peers(items))
        return 0
    dump = {}
    for snr in a.snr:
        t0 = time.perf_counter()
        table, info = run_snr(snr, items)
        print(report(snr, table, info))
        print(f"\n({time.perf_counter() - t0:.0f} s)\n", flush=True)
        dump[f"{snr:+g}"] = {"info": info, "rows": {k: v[1] for k, v in table.items()}}
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(dump, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
