//! Checks a report page: it parses as XHTML, and every `href`/`src` names a file or folder that
//! exists (relative to the page) or an element id on the page.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail};
use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// The links of `page` that resolve to nothing, as `attribute="target"`. Errors when the page
/// does not parse.
pub fn broken_links(page: &Path) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(page).with_context(|| format!("reading {}", page.display()))?;
    let (ids, links) =
        scan(&text).with_context(|| format!("{} is not well-formed XHTML", page.display()))?;
    let base = page.parent().unwrap_or(Path::new("."));
    Ok(links
        .into_iter()
        .filter(|(_, target)| !resolves(base, target, &ids))
        .map(|(attribute, target)| format!("{attribute}=\"{target}\""))
        .collect())
}

/// What a page names: its element ids, and `(attribute, target)` of every `href` and `src`.
type Names = (BTreeSet<String>, Vec<(String, String)>);

fn scan(text: &str) -> anyhow::Result<Names> {
    let mut reader = Reader::from_str(text);
    let mut ids = BTreeSet::new();
    let mut links = Vec::new();
    let mut depth = 0usize;
    loop {
        let event = reader
            .read_event()
            .with_context(|| format!("at byte {}", reader.buffer_position()))?;
        let tag = match &event {
            Event::Start(tag) => {
                depth += 1;
                tag
            }
            Event::Empty(tag) => tag,
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        for attribute in tag.attributes() {
            let attribute = attribute?;
            let name = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
            let value = attribute
                .decode_and_unescape_value(reader.decoder())?
                .into_owned();
            match name.as_str() {
                "id" => {
                    ids.insert(value);
                }
                "href" | "src" => links.push((name, value)),
                _ => {}
            }
        }
    }
    if depth != 0 {
        bail!("{depth} element(s) left open");
    }
    Ok((ids, links))
}

fn resolves(base: &Path, target: &str, ids: &BTreeSet<String>) -> bool {
    if let Some(id) = target.strip_prefix('#') {
        return ids.contains(id);
    }
    // The page is meant to work offline: no scheme other than local files.
    if target.contains("://") || target.is_empty() {
        return false;
    }
    base.join(percent_decode(target)).exists()
}

/// Undoes the percent-encoding [`href`] applies.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A relative path as an `href`: `/`-separated, with characters outside a safe set
/// percent-encoded.
pub fn href(path: &Path) -> String {
    let text = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `to` relative to the folder `from` (both made absolute first), so that a page links into
/// the cache wherever the two live.
pub fn relative_to(from: &Path, to: &Path) -> Option<PathBuf> {
    let from = std::fs::canonicalize(from).ok()?;
    let to = std::fs::canonicalize(to).ok()?;
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for component in &to[common..] {
        path.push(component);
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_unknown_ids_and_remote_links_are_broken() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a b.png"), b"").unwrap();
        let page = dir.path().join("index.html");
        let text = r##"<!DOCTYPE html><html><body id="top"><a href="#top">t</a>
            <img src="a%20b.png"/><a href="gone.parquet">x</a><a href="#nowhere">y</a>
            <a href="https://example.org/">z</a></body></html>"##;
        std::fs::write(&page, text).unwrap();
        assert_eq!(
            broken_links(&page).unwrap(),
            [
                "href=\"gone.parquet\"",
                "href=\"#nowhere\"",
                "href=\"https://example.org/\""
            ]
        );
    }

    #[test]
    fn a_page_that_does_not_parse_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path().join("index.html");
        std::fs::write(&page, "<html><body><p>open</body></html>").unwrap();
        assert!(broken_links(&page).is_err());
    }

    #[test]
    fn relative_paths_climb_to_the_common_folder() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("r/q"), dir.path().join("c/e"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        assert_eq!(relative_to(&a, &b).unwrap(), Path::new("../../c/e"));
        assert_eq!(href(Path::new("../x y/z.png")), "../x%20y/z.png");
    }
}
