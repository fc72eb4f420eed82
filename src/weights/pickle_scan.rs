//! What else a `.pth` file's pickle names besides a state dict. pvr never executes a pickle
//! (burn-store parses it), but a checkpoint that also references `os.system` or any other
//! callable deserves a word: it was made by something other than `torch.save(state_dict)`, and
//! torch.load would run it. This walks the opcodes and lists every global the pickle references
//! that a state dict does not need.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::Path;

/// Globals a `torch.save`d state dict (or torchvision's reference checkpoint) refers to.
fn is_state_dict_global(name: &str) -> bool {
    name == "collections.OrderedDict"
        || name.starts_with("torch._utils._rebuild_")
        || name.starts_with("torch._tensor._rebuild_")
        || name == "torch.serialization._get_layout"
        || name == "torch.device"
        || (name.starts_with("torch.") && name.ends_with("Storage"))
        || name.starts_with("torch.storage.")
}

/// Globals the pickle(s) of `path` reference beyond a state dict's, sorted; empty for a plain
/// state dict or a file that is not a pickle. Best effort: an opcode it does not know ends the
/// walk of that pickle.
pub fn foreign_globals(path: &Path) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let pickles = if bytes.starts_with(b"PK\x03\x04") {
        zip_pickles(&bytes)
    } else {
        vec![bytes]
    };
    let mut names = BTreeSet::new();
    for pickle in &pickles {
        names.extend(globals(pickle));
    }
    names
        .into_iter()
        .filter(|name| !is_state_dict_global(name))
        .collect()
}

/// The `*.pkl` members of a `torch.save` zip archive.
fn zip_pickles(bytes: &[u8]) -> Vec<Vec<u8>> {
    let Ok(mut archive) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for index in 0..archive.len() {
        let Ok(mut member) = archive.by_index(index) else {
            continue;
        };
        if member.name().is_ok_and(|name| name.ends_with(".pkl")) {
            let mut data = Vec::new();
            if member.read_to_end(&mut data).is_ok() {
                out.push(data);
            }
        }
    }
    out
}

/// `module.name` of every GLOBAL, INST and STACK_GLOBAL in a stream of pickles.
fn globals(data: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut reader = Ops { data, at: 0 };
    // Strings recently pushed (and memoised), for STACK_GLOBAL's two operands.
    let mut strings: Vec<String> = Vec::new();
    let mut memo: HashMap<u64, String> = HashMap::new();
    // MEMOIZE numbers every object it stores, strings or not.
    let mut memoized = 0u64;
    let mut last_string: Option<String> = None;
    while let Some(op) = reader.byte() {
        let pushed = match op {
            b'c' | b'i' => {
                let (Some(module), Some(name)) = (reader.line(), reader.line()) else {
                    break;
                };
                found.push(format!("{module}.{name}"));
                None
            }
            0x93 => {
                if let [.., module, name] = strings.as_slice() {
                    found.push(format!("{module}.{name}"));
                }
                None
            }
            0x8c | b'U' | b'C' => reader.sized(1).map(text),
            b'X' | b'T' | b'B' => reader.sized(4).map(text),
            0x8d | 0x8e | 0x96 => reader.sized(8).map(text),
            b'V' | b'S' => reader.line(),
            // Memo stores leave the stack (and so the last string) as it is.
            b'q' | b'r' | 0x94 | b'p' => {
                let Some(index) = memo_index(op, &mut reader, memoized) else {
                    break;
                };
                if op == 0x94 {
                    memoized += 1;
                }
                if let Some(text) = &last_string {
                    memo.insert(index, text.clone());
                }
                continue;
            }
            b'h' | b'j' | b'g' => {
                let Some(index) = memo_index(op, &mut reader, memoized) else {
                    break;
                };
                memo.get(&index).cloned()
            }
            _ => match fixed_argument(op) {
                Some(len) => {
                    if reader.skip(len).is_none() {
                        break;
                    }
                    None
                }
                None => break,
            },
        };
        last_string = pushed.clone();
        strings.extend(pushed);
    }
    found
}

/// The memo index a memo opcode names (MEMOIZE: the next free one).
fn memo_index(op: u8, reader: &mut Ops<'_>, next: u64) -> Option<u64> {
    match op {
        b'q' | b'h' => reader.uint(1),
        b'r' | b'j' => reader.uint(4),
        b'p' | b'g' => reader.line()?.parse().ok(),
        _ => Some(next),
    }
}

/// Bytes of argument of opcodes with a fixed-size one; None for an opcode this walker does not
/// know.
fn fixed_argument(op: u8) -> Option<usize> {
    Some(match op {
        0x80 | b'K' => 1, // PROTO, BININT1
        b'M' => 2,        // BININT2
        b'J' => 4,        // BININT
        b'G' | 0x95 => 8, // BINFLOAT, FRAME
        b'(' | b')' | b']' | b'}' | b't' | 0x85 | 0x86 | 0x87 | b'a' | b'e' | b's' | b'u'
        | b'R' | b'b' | b'N' | 0x88 | 0x89 | b'.' | b'0' | b'1' | b'2' | 0x81 | 0x92 | b'o'
        | b'Q' | 0x8f | 0x90 | 0x91 | 0x97 | 0x98 => 0,
        _ => return None,
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A cursor over pickle bytes.
struct Ops<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Ops<'a> {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.data.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn skip(&mut self, len: usize) -> Option<&'a [u8]> {
        let slice = self.data.get(self.at..self.at.checked_add(len)?)?;
        self.at += len;
        Some(slice)
    }

    fn uint(&mut self, width: usize) -> Option<u64> {
        let bytes = self.skip(width)?;
        Some(
            bytes
                .iter()
                .rev()
                .fold(0u64, |value, &b| (value << 8) | u64::from(b)),
        )
    }

    /// A length of `width` little-endian bytes, then that many bytes.
    fn sized(&mut self, width: usize) -> Option<&'a [u8]> {
        let len = usize::try_from(self.uint(width)?).ok()?;
        self.skip(len)
    }

    fn line(&mut self) -> Option<String> {
        let rest = self.data.get(self.at..)?;
        let end = rest.iter().position(|&b| b == b'\n')?;
        self.at += end + 1;
        Some(text(&rest[..end]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Protocol 2: `{"w": 1, "x": os.system("true")}` as Python writes it, by hand.
    fn pickle_with_a_call() -> Vec<u8> {
        let mut p = vec![0x80, 2, b'}', b'q', 0];
        p.extend(b"(X\x01\x00\x00\x00wq\x01K\x01");
        p.extend(b"X\x01\x00\x00\x00xq\x02cposix\nsystem\nq\x03");
        p.extend(b"X\x04\x00\x00\x00trueq\x04\x85q\x05Rq\x06u.");
        p
    }

    #[test]
    fn finds_a_global_call_in_a_pickle() {
        assert_eq!(globals(&pickle_with_a_call()), ["posix.system"]);
    }

    #[test]
    fn finds_stack_globals_through_the_memo() {
        // Protocol 4: SHORT_BINUNICODE module, MEMOIZE, SHORT_BINUNICODE name, STACK_GLOBAL,
        // then the module again through BINGET and another name.
        let mut p = vec![0x80, 4];
        p.extend(b"\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94");
        p.extend(b"h\x00\x8c\x04exec\x93.");
        assert_eq!(globals(&p), ["builtins.eval", "builtins.exec"]);
    }

    #[test]
    fn state_dict_globals_are_not_foreign() {
        for name in [
            "collections.OrderedDict",
            "torch._utils._rebuild_tensor_v2",
            "torch.FloatStorage",
        ] {
            assert!(is_state_dict_global(name), "{name}");
        }
        assert!(!is_state_dict_global("posix.system"));
    }

    #[test]
    fn pytorch_made_fixtures_hold_nothing_foreign() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "pth") {
                // The walk reaches the tensors, so it did not stop at the first opcode.
                let bytes = std::fs::read(&path).unwrap();
                let pickles = if bytes.starts_with(b"PK\x03\x04") {
                    zip_pickles(&bytes)
                } else {
                    vec![bytes]
                };
                let all: Vec<String> = pickles.iter().flat_map(|p| globals(p)).collect();
                assert!(
                    all.iter().any(|g| g == "torch._utils._rebuild_tensor_v2"),
                    "{}: {all:?}",
                    path.display()
                );
                let foreign = foreign_globals(&path);
                // torchvision's reference train.py also saves its argparse arguments.
                assert!(
                    foreign.iter().all(|g| g == "argparse.Namespace"),
                    "{}: {foreign:?}",
                    path.display()
                );
            }
        }
    }
}
