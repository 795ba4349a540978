"""The report (``bot.feedback.report.summary``) as one self-contained HTML page: inline CSS and SVG, no
script, no external asset (it opens from a file, an e-mail attachment or a phone). Every number on the
page is a number of the summary; every text from users is escaped; only http(s) URLs become links."""

from __future__ import annotations

from html import escape

from bot.feedback.report import TIER_LABELS, TIERS

COLORS = {"answered": "#2e7d32", "unsure": "#f9a825", "handed_off": "#c62828", "up": "#1565c0", "down": "#6d4c41"}
CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b;
       background: #f4f5f7; }
main { max-width: 960px; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.4rem; margin: 0 0 4px; }
h2 { font-size: 1.1rem; margin: 0 0 8px; }
section { background: #fff; border-radius: 8px; padding: 16px; margin: 12px 0; box-shadow: 0 1px 2px #0002; }
.muted { color: #5a5a5a; font-size: .9rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 8px; }
.card { background: #fff; border-radius: 8px; padding: 10px 12px; box-shadow: 0 1px 2px #0002; }
.card b { display: block; font-size: 1.5rem; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: .9rem; margin: 6px 0; }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px;
            vertical-align: -1px; }
svg { width: 100%; max-width: 640px; height: auto; display: block; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.n { white-space: nowrap; }
td.q { overflow-wrap: anywhere; }
td.d { white-space: nowrap; }
a { color: #0b57d0; overflow-wrap: anywhere; }
@media (max-width: 480px) {
  main { padding: 10px; }
  section { padding: 12px 10px; }
  th, td { padding: 5px 4px; font-size: .85rem; }
  .wide { display: none; }
}
"""


def _num(value) -> str:
    return f"{value:,}" if isinstance(value, int) else escape(str(value))


def _link(url: str | None) -> str:
    if not url:
        return "—"
    shown = escape(url)
    if url.startswith(("https://", "http://")):
        return f'<a href="{escape(url, quote=True)}">{shown}</a>'
    return shown


def _reasons(reasons) -> str:
    """What voters wrote in Teams' 👎 form, under the question."""
    if not reasons:
        return ""
    return '<div class="muted">' + " · ".join(f"“{escape(str(r))}”" for r in reasons) + "</div>"


def _bars(weeks: list[dict], keys: tuple[str, ...], stacked: bool, title: str, height: int = 150) -> str:
    """An SVG bar chart, one group per week: stacked (tiers) or side by side (votes)."""
    n = max(len(weeks), 1)
    width, left, bottom, top = 420, 30, 20, 8
    slot = (width - left) / n
    totals = [sum(w[k] for k in keys) if stacked else max([w[k] for k in keys] + [0]) for w in weeks]
    peak = max(totals + [1])
    scale = (height - bottom - top) / peak
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title, quote=True)}">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#999"/>',
             f'<text x="{left - 4}" y="{top + 10}" font-size="11" text-anchor="end" fill="#555">{peak}</text>',
             f'<text x="{left - 4}" y="{height - bottom}" font-size="11" text-anchor="end" fill="#555">0</text>']
    for i, week in enumerate(weeks):
        x = left + i * slot + slot * 0.15
        bar = slot * 0.7
        y = height - bottom
        for j, key in enumerate(keys):
            value = week[key]
            h = value * scale
            if stacked:
                y -= h
                bx, bw, by = x, bar, y
            else:
                bw = bar / len(keys)
                bx, by = x + j * bw, height - bottom - h
            if value:
                parts.append(f'<rect x="{bx:.1f}" y="{by:.1f}" width="{bw:.1f}" height="{h:.1f}" '
                             f'fill="{COLORS[key]}"><title>{escape(week["week"])}: {value} '
                             f'{escape(TIER_LABELS.get(key, key))}</title></rect>')
        if n <= 16 or i % 2 == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 6}" font-size="9" text-anchor="middle" '
                         f'fill="#555">{escape(week["week"][5:])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _legend(items: list[tuple[str, str]]) -> str:
    return '<div class="legend">' + "".join(
        f'<span><i style="background:{COLORS[key]}"></i>{escape(label)}</span>' for key, label in items) + "</div>"


def render(report: dict, title: str = "handbook-bot report") -> str:
    """The page for a ``summary`` dict."""
    totals, weeks, index = report["totals"], report["weeks"], report["index"]
    sources = ", ".join(f"{s['name']} @ {s['commit'][:10]}" if s.get("commit") else f"{s['name']} (folder)"
                        for s in index["sources"]) or "unknown"
    cards = [("questions", "questions"), ("answered", "answered"), ("unsure", "unsure"),
             ("handed_off", "handed off"), ("up", "👍"), ("down", "👎")]
    week_rows = "".join(
        f'<tr><td class="d">{escape(w["week"])}</td>' + "".join(f'<td class="n">{_num(w[k])}</td>'
                                                     for k in (*TIERS, "up", "down")) + "</tr>"
        for w in reversed(weeks))
    unanswered = "".join(
        f'<tr><td class="q">{escape(r["question"])}{_reasons(r.get("reasons"))}</td>'
        f'<td class="n">{_num(r["count"])}</td>'
        f'<td class="n">{_num(r["escalated"])}</td><td class="n">{_num(r["down_votes"])}</td>'
        f'<td class="n wide">{escape(str(r["last_seen"])[:10])}</td></tr>'
        for r in report["unanswered"]) or '<tr><td colspan="5">None yet.</td></tr>'
    voted_down = "".join(
        f'<tr><td class="q">{_link(s["url"])}</td><td class="n">{_num(s["down"])}</td>'
        f'<td class="n">{_num(s["up"])}</td><td class="n">{_num(s["shown"])}</td></tr>'
        for s in report["sections_voted_down"]) or '<tr><td colspan="4">No section has a 👎 yet.</td></tr>'
    gated = f" · passed the quality gate {escape(index['gated_at'])}" if index.get("gated_at") else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<h1>{escape(title)}</h1>
<p class="muted">Generated {escape(report["generated_at"])} · index built {escape(str(index["built_at"] or "unknown"))}
from {escape(sources)} · {_num(index["sections"] or 0)} sections{gated}</p>
<div class="cards" id="totals">
{"".join(f'<div class="card" data-key="{k}"><b>{_num(totals[k])}</b>{escape(label)}</div>' for k, label in cards)}
</div>
<section>
<h2>Questions per week, by reply</h2>
{_legend([(k, TIER_LABELS[k]) for k in TIERS])}
{_bars(weeks, TIERS, True, "questions per week by reply tier")}
<h2 style="margin-top:14px">Votes per week</h2>
{_legend([("up", "👍 helpful"), ("down", "👎 not helpful")])}
{_bars(weeks, ("up", "down"), False, "votes per week", height=110)}
<div class="scroll"><table id="weeks">
<thead><tr><th>week of</th><th class="n">answered</th><th class="n">unsure</th><th class="n">handed off</th>
<th class="n">👍</th><th class="n">👎</th></tr></thead>
<tbody>{week_rows}</tbody></table></div>
</section>
<section>
<h2>Most asked questions the bot could not answer</h2>
<p class="muted">Answered unsure or handed off to DAPA, or voted 👎: the gaps to close in the handbook.</p>
<div class="scroll"><table id="unanswered">
<thead><tr><th>question</th><th class="n">asked</th><th class="n">to DAPA</th><th class="n">👎</th>
<th class="n wide">last</th></tr></thead>
<tbody>{unanswered}</tbody></table></div>
</section>
<section>
<h2>Sections voted down most</h2>
<div class="scroll"><table id="sections">
<thead><tr><th>section</th><th class="n">👎</th><th class="n">👍</th><th class="n">shown</th></tr></thead>
<tbody>{voted_down}</tbody></table></div>
</section>
<p class="muted">No names or e-mail addresses are stored: only a salted hash of each Teams user id.</p>
</main>
</body>
</html>
"""
