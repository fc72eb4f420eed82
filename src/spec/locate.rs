//! Maps between dotted key paths (`prune.rate`, `attribution.1.steps` for the second
//! `[[attribution]]` table) and byte spans of a TOML document, so that errors found after
//! deserialization still point at a file, line and column.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// Line and column (both 1-based) of a byte offset; the column counts characters, so a caret
/// under it lines up after non-ASCII text.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Span of the value at `path` (or of the deepest table on the way, if the key is absent).
/// A numeric part indexes an array (of tables).
pub fn span_of(text: &str, path: &str) -> Option<Range<usize>> {
    let doc = DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut found = None;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let (_, mut value) = table.iter().find(|(k, _)| k.get_ref().as_ref() == part)?;
        if let (DeValue::Array(items), Some(index)) = (
            value.get_ref(),
            parts.peek().and_then(|p| p.parse::<usize>().ok()),
        ) {
            parts.next();
            value = items.get(index)?;
        }
        found = Some(value.span());
        match value.get_ref() {
            DeValue::Table(inner) => table = inner,
            _ => break,
        }
    }
    found
}

/// Dotted path of the innermost key whose key or value span contains `span`.
pub fn key_at(text: &str, span: &Range<usize>) -> Option<String> {
    let doc = DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    descend(doc.get_ref(), span, &mut path);
    (!path.is_empty()).then(|| path.join("."))
}

fn descend(table: &DeTable<'_>, span: &Range<usize>, path: &mut Vec<String>) -> bool {
    let contains = |outer: &Range<usize>| outer.start <= span.start && span.end <= outer.end;
    for (key, value) in table.iter() {
        path.push(key.get_ref().to_string());
        // A `[section]` table's span covers its header only, so look inside tables first.
        if let DeValue::Table(inner) = value.get_ref()
            && descend(inner, span, path)
        {
            return true;
        }
        // `[[section]]` tables: an array whose items are tables, named by their index.
        if let DeValue::Array(items) = value.get_ref() {
            for (index, item) in items.iter().enumerate() {
                if let DeValue::Table(inner) = item.get_ref() {
                    path.push(index.to_string());
                    if descend(inner, span, path) {
                        return true;
                    }
                    path.pop();
                }
            }
        }
        if contains(&key.span()) || contains(&value.span()) {
            return true;
        }
        path.pop();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "name = \"größe\"\nrate = 2";
        assert_eq!(line_col(text, text.find("rate").unwrap()), (2, 1));
        // `ö` and `ß` take two bytes each; the closing quote is the 14th character.
        assert_eq!(line_col(text, text.rfind('"').unwrap()), (1, 14));
    }

    const DOC: &str = "[experiment]\nname = \"x\"\n\n[prune]\nrate = 1.5\ninclude = [\"*\"]\n";

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col(DOC, 0), (1, 1));
        let offset = DOC.find("rate").unwrap();
        assert_eq!(line_col(DOC, offset), (5, 1));
    }

    #[test]
    fn span_of_finds_nested_values() {
        let span = span_of(DOC, "prune.rate").unwrap();
        assert_eq!(&DOC[span], "1.5");
        assert!(span_of(DOC, "train.epochs").is_none());
    }

    #[test]
    fn arrays_of_tables_are_indexed() {
        let doc = "[experiment]\nname = \"x\"\n\n[[attribution]]\nmethod = \"gradcam\"\n\n[[attribution]]\nmethod = \"ig\"\nsteps = 0\n";
        let span = span_of(doc, "attribution.1.steps").unwrap();
        assert_eq!(&doc[span], "0");
        let span = span_of(doc, "attribution.0.method").unwrap();
        assert_eq!(&doc[span], "\"gradcam\"");
        let offset = doc.find("0\n").unwrap();
        assert_eq!(
            key_at(doc, &(offset..offset + 1)).as_deref(),
            Some("attribution.1.steps")
        );
    }

    #[test]
    fn key_at_names_the_key_under_a_span() {
        let offset = DOC.find("1.5").unwrap();
        assert_eq!(
            key_at(DOC, &(offset..offset + 3)).as_deref(),
            Some("prune.rate")
        );
    }
}
