//! What validation finds: problems, each with the dotted key it concerns, so the loader can
//! point at the key in the file (or at the `--set` that gave it).

/// A list of (dotted key, message) problems; empty when a spec is usable.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Problems {
    list: Vec<(String, String)>,
}

impl Problems {
    pub fn new() -> Problems {
        Problems::default()
    }

    /// Records `message` against `key` unless `ok`.
    pub fn check(&mut self, ok: bool, key: &str, message: impl Into<String>) {
        if !ok {
            self.add(key, message);
        }
    }

    pub fn add(&mut self, key: &str, message: impl Into<String>) {
        self.list.push((key.to_string(), message.into()));
    }

    pub fn extend(&mut self, other: Problems) {
        self.list.extend(other.list);
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &(String, String)> {
        self.list.iter()
    }

    pub fn into_vec(self) -> Vec<(String, String)> {
        self.list
    }
}

impl FromIterator<(String, String)> for Problems {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Problems {
        Problems {
            list: iter.into_iter().collect(),
        }
    }
}
