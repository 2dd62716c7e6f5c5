package htmlreport

import "html/template"

// Style is the look every bwemu report page shares (bwemu load's too):
// type, headings, tables, verdict colours, banners. A page adds its own
// rules after it.
func Style() template.CSS { return pageStyle }

// ContentSecurityPolicy forbids the page every fetch and every script: a
// report is read offline, and a journal message can never become code.
// Styles are inline; images may only be data: URLs.
const ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

const pageStyle template.CSS = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",Arial,sans-serif;color:#1b1b1b;max-width:1100px;margin:0 auto;padding:1.5em}
h1{margin-bottom:.1em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.sub{color:#555;margin-top:0}
.banner{padding:.8em 1em;border-radius:6px;margin:1em 0;font-weight:500}
.bound{background:#fde2e1;border:2px solid #c62828}.interrupted{background:#fff4d6;border:2px solid #d59b00}
table{border-collapse:collapse;margin:.5em 0}th,td{padding:.25em .8em;border-bottom:1px solid #e4e4e4;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#1b7a1b;font-weight:700}.fail{color:#c62828;font-weight:700}.warn{color:#9a6b00;font-weight:700}.muted{color:#666}
.nodata{color:#777;font-style:italic}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:13px;white-space:pre-wrap;word-break:break-word}
code{font-size:13px}
.cols{display:flex;gap:3em;flex-wrap:wrap}
`

// caseStyle is what the run and conformance report add: the cases, their
// findings and the sequence diagrams.
const caseStyle template.CSS = `
.outcome{display:inline-block;padding:.1em .6em;border-radius:4px;color:#fff;font-weight:700;margin-right:.5em}
.outcome.pass{background:#1b7a1b}.outcome.fail{background:#c62828}.outcome.warn{background:#b07b00}
.counts span{margin-right:1.2em}
details.case{border:1px solid #ddd;border-left:6px solid #bbb;border-radius:6px;margin:.8em 0;padding:.3em .9em}
details.case.case-fail{border-left-color:#c62828}details.case.case-pass{border-left-color:#1b7a1b}details.case.case-warn{border-left-color:#d59b00}
details.case>summary{cursor:pointer;font-size:16px;padding:.3em 0;list-style-position:outside}
summary .verdict{display:inline-block;min-width:5.5em}
summary .where,summary .took{color:#666;font-size:13px;margin-left:.6em}
.finding{border-left:3px solid #c62828;padding-left:.8em;margin:.6em 0}
.finding h4{margin:.2em 0;color:#c62828}.finding .headline{margin:.2em 0;font-weight:500;white-space:pre-wrap;word-break:break-word}
figure{margin:1em 0;overflow-x:auto}figcaption{font-weight:600;margin-bottom:.3em;font-size:14px}
svg.seq{max-width:100%;height:auto;font-family:"Liberation Sans",Arial,Helvetica,sans-serif;background:#fff}
svg.seq .lane rect{fill:#eef2f7;stroke:#8a9bb0}svg.seq .lane text{font-size:13px;font-weight:700;fill:#1b1b1b}
svg.seq .life{stroke:#8a9bb0;stroke-dasharray:4 4}
svg.seq .col{font-size:11px;fill:#777}
svg.seq .at{font-size:11px;fill:#777;font-variant-numeric:tabular-nums}
svg.seq .tag{font-size:11px;font-weight:700}
svg.seq .s0{fill:#1f5fa8}svg.seq .s1{fill:#8a3fa0}svg.seq .s2{fill:#0f7a6c}svg.seq .s3{fill:#a8521f}svg.seq .s4{fill:#5a6b12}svg.seq .s5{fill:#a01f4f}
svg.seq rect.s0{fill:#1f5fa8}svg.seq rect.s1{fill:#8a3fa0}svg.seq rect.s2{fill:#0f7a6c}svg.seq rect.s3{fill:#a8521f}svg.seq rect.s4{fill:#5a6b12}svg.seq rect.s5{fill:#a01f4f}
svg.seq .span{opacity:.55}
svg.seq .row line{stroke:#333;stroke-width:1.3}svg.seq .row polygon{fill:#333}
svg.seq .row line.dashed{stroke-dasharray:5 3}
svg.seq .row .label{font-size:12.5px;fill:#1b1b1b}svg.seq .row .detail{font-size:11px;fill:#666}
svg.seq .ok line{stroke:#1b7a1b}svg.seq .ok polygon{fill:#1b7a1b}svg.seq .ok .label{fill:#1b6a1b}
svg.seq .bad line{stroke:#c62828;stroke-width:2}svg.seq .bad polygon{fill:#c62828}svg.seq .bad .label{fill:#c62828;font-weight:700}
svg.seq .warn line{stroke:#b07b00}svg.seq .warn polygon{fill:#b07b00}svg.seq .warn .label{fill:#8a5f00}
svg.seq .media line{stroke:#1f5fa8;stroke-width:4}svg.seq .media polygon{fill:#1f5fa8}
svg.seq .note rect{fill:#f3f3f3;stroke:#ccc}svg.seq .note .label{font-size:12px}
svg.seq .note.bad rect{fill:#fde2e1;stroke:#c62828}svg.seq .note.warn rect{fill:#fff4d6;stroke:#d59b00}
svg.seq .note.fault rect{fill:#fff0e0;stroke:#e07000}svg.seq .note.fault .label{fill:#a04a00;font-weight:700}
svg.seq .gap .label{font-size:12px;fill:#777;font-style:italic}
svg.seq .hl{fill:#fde2e1;opacity:.6}
svg.seq .failure rect{fill:#fde2e1;stroke:#c62828;stroke-width:1.5}
svg.seq .failure text{font-size:12px;fill:#5a1010}svg.seq .failure .expectation{font-weight:700;fill:#c62828;font-size:12.5px}
svg.seq .failure .more{font-style:italic;fill:#777}
table.journal{font-size:12.5px;width:100%}table.journal td{padding:.1em .5em;font-family:ui-monospace,"Liberation Mono",Menlo,monospace}
table.journal tr.bad td{color:#c62828}
.recordings li{margin:.2em 0}
`

// page is the run and conformance report. It holds no script and loads
// nothing (ContentSecurityPolicy says so to the browser too): styles are
// inline and diagrams are SVG markup in the page.
var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"caseStyle": func() template.CSS { return caseStyle },
	"add":       func(a, b int) int { return a + b },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="` + ContentSecurityPolicy + `">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}{{if .Outcome}}: {{.Outcome}}{{end}}</title>
<style>{{.Style}}{{caseStyle}}</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{if .Subtitle}}<p class="sub">{{.Subtitle}}</p>{{end}}
<p class="counts" id="summary">{{if .Outcome}}<span class="outcome {{.OutcomeClass}}">{{.Outcome}}</span>{{end}}{{range .Counts}}<span class="{{.Class}}">{{.N}} {{.Label}}</span>{{end}}</p>
{{range .Notes}}<div class="banner interrupted">{{.}}</div>
{{end}}
{{if .Cases}}<table id="cases"><tr><th>verdict</th><th>case</th><th>where</th><th class="n">time</th></tr>
{{range .Cases}}<tr><td class="{{.Class}}">{{.Label}}</td><td><a href="#{{.Anchor}}">{{.Name}}</a></td><td class="muted">{{.Where}}</td><td class="n">{{.Duration}}</td></tr>
{{end}}</table>{{else}}<p class="nodata">No case ran.</p>{{end}}
{{range .Cases}}
<details class="case case-{{.Class}}" id="{{.Anchor}}"{{if .Open}} open{{end}}>
<summary><span class="verdict {{.Class}}">{{.Label}}</span> <span class="name">{{.Name}}</span>{{if .Where}}<span class="where">{{.Where}}</span>{{end}}{{if .Duration}}<span class="took">{{.Duration}}</span>{{end}}</summary>
{{if .Reason}}<pre class="reason">{{.Reason}}</pre>{{end}}
{{range .Advice}}<p class="advice">advice: {{.}}</p>
{{end}}{{range .Findings}}<div class="finding"><h4>{{.Expectation}}{{if .Pos}} <span class="muted">({{.Pos}})</span>{{end}}</h4><p class="headline">{{.Headline}}</p>
{{- if .Rest}}<details><summary>the whole account ({{.RestLines}} more lines)</summary><pre>{{.Rest}}</pre></details>{{end}}</div>
{{end}}
{{if .Recordings}}<p>Recordings (what the caller heard and said):</p><ul class="recordings">
{{range .Recordings}}<li>stream {{.Stream}}: {{if .Error}}not recorded to files: {{.Error}}{{else}}{{if .HeardLink}}<a href="{{.HeardLink}}">heard</a>{{else}}heard {{.Heard}}{{end}} · {{if .SaidLink}}<a href="{{.SaidLink}}">said</a>{{else}}said {{.Said}}{{end}}{{end}}</li>
{{end}}</ul>{{end}}
{{range .Diagrams}}{{template "diagram" .}}{{else}}<p class="nodata">No journal: nothing to draw.</p>{{end}}
{{if .Journal}}<details class="journal"><summary>journal ({{len .Journal}} entries{{if .JournalCut}}, {{.JournalCut}} more in the journal file{{end}}){{if .JournalLink}} · <a href="{{.JournalLink}}">{{.JournalFile}}</a>{{end}}</summary>
<table class="journal"><tr><th>time</th><th>kind</th><th>by</th><th>stream</th><th>message</th></tr>
{{range .Journal}}<tr{{if .Class}} class="{{.Class}}"{{end}}><td>{{.At}}</td><td>{{.Kind}}</td><td>{{.By}}</td><td>{{.Stream}}</td><td>{{.Message}}</td></tr>
{{end}}</table></details>{{else if .JournalLink}}<p>journal: <a href="{{.JournalLink}}">{{.JournalFile}}</a></p>{{end}}
</details>
{{end}}
</body>
</html>
{{- define "diagram"}}
<figure class="call"><figcaption>{{if .CallID}}call {{.CallID}}{{else}}outside any call{{end}} · {{.Entries}} journal entries</figcaption>
<svg class="seq" viewBox="0 0 {{.Width}} {{.Height}}" width="{{.Width}}" height="{{.Height}}" role="img" aria-label="sequence diagram of {{if .CallID}}call {{.CallID}}{{else}}entries outside any call{{end}}">
<text class="col" x="6" y="30">time</text><text class="col" x="70" y="30">stream</text>
<g class="lane"><rect x="{{.LaneE | add -95}}" y="8" width="190" height="30" rx="4"/><text x="{{.LaneE}}" y="28" text-anchor="middle">bwemu (as Bandwidth)</text></g>
<g class="lane"><rect x="{{.LaneA | add -45}}" y="8" width="90" height="30" rx="4"/><text x="{{.LaneA}}" y="28" text-anchor="middle">app</text></g>
<line class="life" x1="{{.LaneE}}" y1="{{.LifeTop}}" x2="{{.LaneE}}" y2="{{.LifeBottom}}"/>
<line class="life" x1="{{.LaneA}}" y1="{{.LifeTop}}" x2="{{.LaneA}}" y2="{{.LifeBottom}}"/>
{{$d := .}}{{range .Spans}}<rect class="span s{{.Color}}" x="{{$d.LaneE | add -5}}" y="{{.Y}}" width="10" height="{{.H}}"/>
{{end}}{{range .Rows}}{{template "row" .}}
{{end}}</svg></figure>
{{end}}
{{- define "row"}}<g class="row {{.Kind}} {{.Class}}{{if .Anchor}} anchor{{end}}"{{if .Expectation}} data-expectation="{{.Expectation}}"{{end}}><title>{{.Title}}</title>
{{- if .Anchor}}<rect class="hl" x="0" y="{{.Y}}" width="980" height="{{.H}}"/>{{end}}
{{- if .At}}<text class="at" x="6" y="{{.TextY}}">{{.At}}</text>{{end}}
{{- if .Tag}}<text class="tag s{{.Color}}" x="70" y="{{.TextY}}">{{.Tag}}</text>{{end}}
{{- if eq .Kind "arrow"}}<line{{if .Dashed}} class="dashed"{{end}} x1="{{.X1}}" y1="{{.LineY}}" x2="{{.X2}}" y2="{{.LineY}}"/><polygon points="{{.Head}}"/><text class="label" x="{{.Mid}}" y="{{.TextY}}" text-anchor="middle">{{.Label}}</text>{{if .Detail}}<text class="detail" x="{{.Mid}}" y="{{.DetailY}}" text-anchor="middle">{{.Detail}}</text>{{end}}
{{- else if eq .Kind "note"}}<rect x="{{.BoxX}}" y="{{.BoxY}}" width="{{.BoxW}}" height="{{.BoxH}}" rx="4"/><text class="label" x="{{.Mid}}" y="{{.TextY | add 4}}" text-anchor="middle">{{.Label}}</text>
{{- else if eq .Kind "failure"}}<rect x="{{.BoxX}}" y="{{.BoxY}}" width="{{.BoxW}}" height="{{.BoxH}}" rx="4"/>{{range .Lines}}<text class="{{.Class}}" x="78" y="{{.Y}}">{{.Text}}</text>{{end}}
{{- else}}<text class="label" x="{{.Mid}}" y="{{.TextY | add 2}}" text-anchor="middle">{{.Label}}</text>
{{- end}}</g>{{end}}`))
