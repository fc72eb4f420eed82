//! `index.html`: one self-contained page per report folder (inline style, no script, nothing
//! fetched): the summaries, every figure, each analysis's tables, the stages with their timings
//! and outputs, and the provenance. Written as well-formed XHTML so it can be checked by parsing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::links::{href, relative_to};
use super::markdown::to_html;
use super::provenance::{PROVENANCE_FILE, Provenance, RUNS_FILE, RunLine, SPEC_FILE, read_runs};
use crate::cache::{format_utc, write_atomic};
use crate::exec::{RunSummary, format_seconds};
use crate::files::tables::read_parquet;

pub const INDEX_FILE: &str = "index.html";

/// The page's sections: anchor, title, the file-name prefix of its files, its Markdown summary.
const SECTIONS: [(&str, &str, &str, &str); 4] = [
    ("pool", "Pool: accuracy against sparsity", "", "summary.md"),
    (
        "attribution",
        "Interpretability: attribution maps",
        "attribution",
        "attribution.md",
    ),
    ("lost", "Object discovery: LOST", "lost", "lost.md"),
    ("ha", "Human alignment: model-vs-human", "ha", "ha.md"),
];

/// Files the page lists under provenance rather than under a section.
const RUN_FILES: [&str; 4] = [SPEC_FILE, PROVENANCE_FILE, RUNS_FILE, "run.json"];

const STYLE: &str = "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:72em;\
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
h1{border-bottom:2px solid #444}h2{margin-top:2em;border-bottom:1px solid #bbb}\
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}\
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f2f2f2}\
figure{display:inline-block;margin:.6em;vertical-align:top}\
figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:.85em;color:#555}\
nav a{margin-right:1em}code{background:#f4f4f4;padding:0 .2em}";

/// Writes `dir/index.html` for the report folder `dir`, after the run `summary` and with the
/// folder's `provenance`. Returns the page's path.
pub fn write_index(
    dir: &Path,
    summary: &RunSummary,
    provenance: &Provenance,
) -> anyhow::Result<PathBuf> {
    let files = list_files(dir)?;
    let mut body = String::new();
    let present: Vec<_> = SECTIONS
        .iter()
        .filter(|(_, _, prefix, md)| dir.join(md).exists() || prefix.is_empty())
        .collect();
    write!(body, "<nav>")?;
    for (anchor, title, _, _) in &present {
        write!(body, "<a href=\"#{anchor}\">{}</a>", escape(title))?;
    }
    write!(
        body,
        "<a href=\"#stages\">Stages</a><a href=\"#provenance\">Provenance</a></nav>"
    )?;
    if dir.join("verdict.md").exists() {
        section_markdown(&mut body, dir, "verdict", "Verdict", "verdict.md")?;
    }
    for (anchor, title, prefix, md) in present {
        section_markdown(&mut body, dir, anchor, title, md)?;
        let own: Vec<&String> = files
            .iter()
            .filter(|f| section_of(f) == *prefix && !f.ends_with(".md"))
            .collect();
        figures(&mut body, dir, &own)?;
        tables(&mut body, dir, &own)?;
    }
    stages(&mut body, dir, summary)?;
    provenance_section(&mut body, provenance, &read_runs(dir)?)?;
    let page = format!(
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head>\
         <meta charset=\"utf-8\"/><title>{title}</title><style>{STYLE}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>\n",
        title = escape(&format!("pvr report: {}", provenance.report_name)),
    );
    let path = dir.join(INDEX_FILE);
    write_atomic(&path, page.as_bytes())?;
    Ok(path)
}

/// Names of the plain files and folders of `dir`, sorted, without the page and the run files.
fn list_files(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && name != INDEX_FILE && !RUN_FILES.contains(&name.as_str()) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The prefix of the section a file belongs to: an analysis's name when the file is named
/// after it (`lost.png`, `lost_examples.svg`), otherwise the pool's (`""`).
fn section_of(file: &str) -> &'static str {
    let stem = file.split('.').next().unwrap_or(file);
    SECTIONS
        .iter()
        .map(|(_, _, prefix, _)| *prefix)
        .find(|p| !p.is_empty() && (stem == *p || stem.starts_with(&format!("{p}_"))))
        .unwrap_or("")
}

fn section_markdown(
    body: &mut String,
    dir: &Path,
    anchor: &str,
    title: &str,
    md: &str,
) -> anyhow::Result<()> {
    write!(body, "<section id=\"{anchor}\"><h2>{}</h2>", escape(title))?;
    let path = dir.join(md);
    if let Ok(text) = std::fs::read_to_string(&path) {
        body.push_str(&to_html(&text));
        write!(
            body,
            "<p>Source: <a href=\"{}\">{}</a></p>",
            href(Path::new(md)),
            escape(md)
        )?;
    }
    body.push_str("</section>");
    Ok(())
}

/// Every PNG of the section, with its SVG twin linked when there is one.
fn figures(body: &mut String, dir: &Path, files: &[&String]) -> anyhow::Result<()> {
    for png in files.iter().filter(|f| f.ends_with(".png")) {
        let stem = png.trim_end_matches(".png");
        let svg = format!("{stem}.svg");
        let link = |name: &str| href(Path::new(name));
        write!(
            body,
            "<figure><a href=\"{png_href}\"><img src=\"{png_href}\" alt=\"{alt}\"/></a>\
             <figcaption>{alt} (<a href=\"{png_href}\">PNG</a>",
            png_href = link(png),
            alt = escape(stem),
        )?;
        if dir.join(&svg).exists() {
            write!(body, ", <a href=\"{}\">SVG</a>", link(&svg))?;
        }
        body.push_str(")</figcaption></figure>");
    }
    Ok(())
}

/// The section's other files: Parquet tables with their shape and columns, the rest as links.
fn tables(body: &mut String, dir: &Path, files: &[&String]) -> anyhow::Result<()> {
    let rest: Vec<_> = files
        .iter()
        .filter(|f| !f.ends_with(".png") && !f.ends_with(".svg"))
        .collect();
    if rest.is_empty() {
        return Ok(());
    }
    body.push_str("<table><tr><th>file</th><th>rows</th><th>columns</th></tr>");
    for name in rest {
        let (rows, columns) = if name.ends_with(".parquet") {
            let frame = read_parquet(&dir.join(name))?;
            let names: Vec<String> = frame
                .get_column_names()
                .iter()
                .map(|c| c.to_string())
                .collect();
            (frame.height().to_string(), names.join(", "))
        } else {
            (String::new(), String::new())
        };
        write!(
            body,
            "<tr><td><a href=\"{}\">{}</a></td><td>{rows}</td><td><code>{}</code></td></tr>",
            href(Path::new(name.as_str())),
            escape(name),
            escape(&columns)
        )?;
    }
    body.push_str("</table>");
    Ok(())
}

/// Every stage: how this run got it, the time and machine of the run that computed it, and a
/// link to its outputs in the cache.
fn stages(body: &mut String, dir: &Path, summary: &RunSummary) -> anyhow::Result<()> {
    body.push_str(
        "<section id=\"stages\"><h2>Stages</h2><p>Times are those of the run that computed each \
         result; a cached stage keeps them.</p><table><tr><th>stage</th><th>kind</th>\
         <th>this run</th><th>time</th><th>computed on</th><th>at (UTC)</th><th>outputs</th></tr>",
    );
    for stage in &summary.stages {
        let outputs = stage
            .output_dir
            .as_deref()
            .and_then(|out| relative_to(dir, out))
            .map(|rel| format!("<a href=\"{}\">cache entry</a>", href(&rel)))
            .unwrap_or_default();
        write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{:?}</td><td>{}</td><td>{}</td><td>{}</td><td>{outputs}</td></tr>",
            escape(&stage.stage),
            escape(&stage.kind),
            stage.status,
            format_seconds(stage.seconds),
            escape(stage.built_on.as_deref().unwrap_or("")),
            stage.built_unix.map(format_utc).unwrap_or_default(),
        )?;
    }
    body.push_str("</table></section>");
    Ok(())
}

fn provenance_section(body: &mut String, p: &Provenance, runs: &[RunLine]) -> anyhow::Result<()> {
    let overrides = if p.overrides.is_empty() {
        "none".to_string()
    } else {
        p.overrides.join(" ")
    };
    let rows = [
        ("experiment", p.experiment.clone()),
        ("spec file", p.spec_file.clone()),
        ("overrides (--set)", overrides),
        (
            "pvr",
            format!("{} (commit {})", p.pvr_version, p.git_commit),
        ),
        (
            "device",
            format!("{} (Burn backend {})", p.device, p.backend),
        ),
        ("host", p.host.clone()),
        ("CPU", format!("{} ({} logical CPUs)", p.cpu_model, p.cpus)),
        ("OS", p.os.clone()),
        ("written", format_utc(p.created_unix)),
    ];
    body.push_str("<section id=\"provenance\"><h2>Provenance</h2><table>");
    for (key, value) in rows {
        write!(body, "<tr><th>{key}</th><td>{}</td></tr>", escape(&value))?;
    }
    body.push_str("</table><p>");
    for file in RUN_FILES {
        write!(body, "<a href=\"{}\">{file}</a> ", href(Path::new(file)))?;
    }
    body.push_str(
        "</p><table><tr><th>run at (UTC)</th><th>host</th><th>commit</th>\
                   <th>wall</th><th>ran</th><th>cached</th><th>failed</th><th>skipped</th></tr>",
    );
    for run in runs {
        write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            format_utc(run.created_unix),
            escape(&run.host),
            escape(&run.git_commit),
            format_seconds(run.wall_seconds),
            run.ran,
            run.cached,
            run.failed,
            run.skipped
        )?;
    }
    body.push_str("</table></section>");
    Ok(())
}

/// Text for XHTML content and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
