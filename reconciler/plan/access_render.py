"""Renders of an ``AccessReport`` (pure): text (terminal table), json
(``specs/access.schema.json``), markdown (a PR comment, kept under 60,000 characters) and
html (one self-contained file).

The html page has no external asset: inline CSS and a small inline script that filters the
matrix (two text boxes; the URL hash ``#principal=X&resource=Y`` pre-fills them, which is how
``drift --format html`` links to a principal's row) and sorts it (click a column header, or
``#sort=<resource>`` in the hash: highest right first). Without
the script every row shows; printed, the controls are hidden and the table keeps its borders.
"""

from __future__ import annotations

import html
import json

from reconciler.plan.access import AccessReport, Cell

MARKDOWN_LIMIT = 60_000
_HOLDERS = 20  # key holders named per line in text and markdown (json and html list them all)
_SHORT = {"read": "R", "write": "W", "admin": "A", None: "-"}


def _cell_text(c: Cell) -> str:
    mark = " !" if c.differs else ""
    return f"{c.right or '-'} ({', '.join(c.paths) or 'none'}){mark}"


def _intent(c: Cell) -> str:
    if not c.differs:
        return ""
    return f"spec: {c.intended or 'none'}" + (
        f" ({', '.join(c.intended_paths)})" if c.intended_paths else ""
    )


def _sections(report: AccessReport) -> list[tuple[str, list[str]]]:
    """Key custody and credentials as titled lists of lines (shared by text and markdown)."""
    custody = []
    for k in report.custody:
        shown = list(k.holders[:_HOLDERS])
        if len(k.holders) > _HOLDERS:
            shown.append(f"and {len(k.holders) - _HOLDERS} more")
        holders = ", ".join(shown) or "nobody"
        line = f"{k.resource}: held by {holders}"
        if len(k.holders) == 1:
            line += " [single key holder: one lost device from unreadable]"
        custody.append(line)
        custody += [
            f"  revocation debt: {d['principal']} lost access {d['revoked_at']}; the key was "
            "never rotated, they may still hold a copy"
            for d in k.debt
        ]
    tokens = [
        f"{t['address']}: age {t['age_days']} d, expires {t['expires_at'] or 'never'}"
        + (
            f", rotate after {t['rotate_after_days']} d"
            if t["rotate_after_days"] is not None
            else ""
        )
        + (" [ROTATION DUE]" if t["rotation_due"] else "")
        for t in report.tokens
    ]
    secrets = [
        f"{s['address']} {s['attribute']}: "
        + (
            f"fingerprint only, last set {s['set_at']} by plan {s['set_by_plan']}"
            if s["set_at"]
            else "fingerprint only, set before this tool kept dates"
            if s["fingerprint_known"]
            else "unknown (never applied from here)"
        )
        for s in report.secrets
    ]
    pending = [f"{p.address}: {p.pending}" for p in report.pending]
    return [
        ("Key custody (E2EE)", custody),
        ("Service-account tokens", tokens),
        ("Integration secrets (known by fingerprint only)", secrets),
        ("Principals with a step left (invite, keys)", pending),
    ]


def render_text(report: AccessReport) -> str:
    """A terminal table: one line per non-empty cell, grouped by principal; ``!`` marks a cell
    that differs from the spec."""
    lines = [f"Effective access ({report.generated_at}); ! = differs from the spec", ""]
    lines += [f"note: {n}" for n in report.notes] + ([""] if report.notes else [])
    width = max((len(c.resource) for c in report.cells), default=10)
    current = None
    for c in report.cells:
        if c.principal != current:
            current = c.principal
            lines.append(current)
        lines.append(f"  {c.resource:<{width}}  {_cell_text(c)}  {_intent(c)}".rstrip())
    for title, body in _sections(report):
        lines += ["", f"{title}:"] + [f"  {b}" for b in body or ["none"]]
    return "\n".join(lines) + "\n"


def render_json(report: AccessReport) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_markdown(report: AccessReport) -> str:
    """A PR comment: the cells that differ from the spec, custody and credentials, then the
    cells that match; cut (saying so) before ``MARKDOWN_LIMIT`` characters."""
    differs = [c for c in report.cells if c.differs]
    head = [
        "## Effective access",
        "",
        f"{len(report.cells)} grants, {len(differs)} differ from the spec.",
        "",
        *[f"> **Note:** {n}\n" for n in report.notes],
    ]
    table = ["| principal | resource | right (path) | spec |", "|---|---|---|---|"]

    def rows(which: list[Cell]) -> list[str]:
        return table + [
            f"| `{c.principal}` | `{c.resource}` | {c.right or 'none'} "
            f"({', '.join(c.paths) or '-'}){' ⚠️' if c.differs else ''} | {c.intended or 'none'} |"
            for c in which
        ]

    body = ["### Differs from the spec", "", *(rows(differs) if differs else ["none"])]
    for title, lines in _sections(report):
        body += ["", f"### {title}", ""] + [f"- {b}" for b in lines or ["none"]]
    body += ["", "### Whole matrix", "", *rows([c for c in report.cells if not c.differs])]
    # Cut line by line before the limit (a PR comment's), saying so: what differs from the spec,
    # custody and credentials come first, so what is cut is the least urgent (matching cells).
    kept: list[str] = []
    used = 0
    lines = head + body
    for n, line in enumerate(lines):
        if used + len(line) + 1 > MARKDOWN_LIMIT - 200:
            kept.append(f"\n_…{len(lines) - n} more lines cut; see the json or html report._")
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept) + "\n"


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1f2328}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #d0d7de;padding:2px 6px;text-align:center;vertical-align:top}
th{background:#f6f8fa;cursor:pointer;font-weight:600}
th.p,td.p{text-align:left;white-space:nowrap}
td.read{background:#ddf4ff}td.write{background:#fff8c5}td.admin{background:#ffebe9}
td.differs{outline:2px solid #cf222e;outline-offset:-2px}
.controls input{margin-right:1em}
thead th{position:sticky;top:0}
th.r{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}
@media print{.controls{display:none}body{margin:0}th{position:static}td{break-inside:avoid}}
"""

_SCRIPT = """
(function(){
var m=document.getElementById('matrix'),pi=document.getElementById('fp'),
ri=document.getElementById('fr'),cnt=document.getElementById('count');
function apply(){var p=pi.value.toLowerCase(),r=ri.value.toLowerCase(),n=0;
var heads=m.tHead.rows[0].cells,cols=[];
for(var i=1;i<heads.length;i++){var ok=heads[i].dataset.r.toLowerCase().indexOf(r)>=0;
cols[i]=ok;heads[i].style.display=ok?'':'none';}
var rows=m.tBodies[0].rows;for(var j=0;j<rows.length;j++){var row=rows[j],
show=row.dataset.p.toLowerCase().indexOf(p)>=0;row.style.display=show?'':'none';if(show)n++;
for(var k=1;k<row.cells.length;k++)row.cells[k].style.display=cols[k]?'':'none';}
cnt.textContent=n+' principals shown';}
var rank={'':0,read:1,write:2,admin:3};
Array.prototype.forEach.call(m.tHead.rows[0].cells,function(th,i){th.addEventListener('click',
function(){var b=m.tBodies[0],rows=Array.prototype.slice.call(b.rows),
f=th.dataset.dir!=='1';th.dataset.dir=f?'1':'0';var d=(f?1:-1)*(i?-1:1);
rows.sort(function(x,y){
var a=i?rank[x.cells[i].dataset.v]:x.dataset.p,c=i?rank[y.cells[i].dataset.v]:y.dataset.p;
return (a<c?-1:a>c?1:0)*d;});rows.forEach(function(r){b.appendChild(r);});});});
function fromHash(){var h=new URLSearchParams(location.hash.slice(1));
pi.value=h.get('principal')||'';ri.value=h.get('resource')||'';apply();var s=h.get('sort');
if(s!==null){Array.prototype.forEach.call(m.tHead.rows[0].cells,function(th,i){
if((i?th.dataset.r:'principal')===s)th.click();});}}
pi.addEventListener('input',apply);ri.addEventListener('input',apply);
window.addEventListener('hashchange',fromHash);fromHash();
})();
"""


def render_html(report: AccessReport) -> str:
    """One self-contained page: the filterable, sortable matrix, custody and credentials."""
    e = html.escape
    cells = {(c.principal, c.resource): c for c in report.cells}
    used = [r for r in report.resources if any(c.resource == r for c in report.cells)]
    head = "".join(f"<th class='r' data-r='{e(r)}' title='{e(r)}'>{e(r)}</th>" for r in used)
    body = []
    for p in report.principals:
        tds = []
        for r in used:
            c = cells.get((p.address, r))
            if c is None:
                tds.append("<td data-v=''></td>")
                continue
            cls = f"{c.right or 'none'}{' differs' if c.differs else ''}"
            tip = f"{_cell_text(c)} {_intent(c)}".strip()
            mark = "!" if c.differs else ""
            tds.append(
                f"<td class='{cls}' data-v='{e(c.right or '')}' title='{e(tip)}'>"
                f"{_SHORT[c.right]}{mark}</td>"
            )
        pend = f" <small>({e(p.pending)})</small>" if p.pending else ""
        body.append(
            f"<tr id='{e(p.address)}' data-p='{e(p.address)}'><td class='p'>"
            f"{e(p.address)}{pend}</td>{''.join(tds)}</tr>"
        )
    sections = []
    for title, lines in _sections(report):
        items = "".join(f"<li>{e(x)}</li>" for x in lines) or "<li>none</li>"
        sections.append(f"<h2>{e(title)}</h2><ul>{items}</ul>")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            "<html lang='en'><head><meta charset='utf-8'>",
            "<title>Effective access</title>",
            f"<style>{_CSS}</style></head><body>",
            f"<h1>Effective access</h1><p>Generated {e(report.generated_at)}. R read, W write, "
            "A admin; a red outline (!) marks a cell that differs from the spec; hover a cell "
            "for its paths.</p>",
            *[f"<p class='note'><strong>Note:</strong> {e(n)}</p>" for n in report.notes],
            "<p class='controls'><label>principal <input id='fp'></label>"
            "<label>resource <input id='fr'></label><span id='count'></span></p>",
            f"<table id='matrix'><thead><tr><th class='p'>principal</th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>",
            *sections,
            f"<script>{_SCRIPT}</script>",
            "</body></html>",
        ]
    )


def render_access(report: AccessReport, fmt: str) -> str:
    """Render in ``fmt``: text, json, markdown or html."""
    renderers = {
        "text": render_text,
        "json": render_json,
        "markdown": render_markdown,
        "html": render_html,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown access format {fmt!r}")
    return renderers[fmt](report)
