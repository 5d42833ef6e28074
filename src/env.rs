//! The environment the gate runs in, with empty values dropped (GitHub passes every declared
//! action input, set or not, and unset ones arrive empty) and values that are not UTF-8 kept
//! apart, so they are refused by name rather than read as unset.

use std::collections::BTreeMap;
use std::ffi::OsString;

#[derive(Clone, Debug, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
    not_utf8: Vec<String>,
}

impl Env {
    pub fn from_process() -> Self {
        Self::from_os(std::env::vars_os())
    }

    pub fn from_os(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        let mut env = Env::default();
        for (name, value) in vars {
            let Ok(name) = name.into_string() else { continue };
            match value.into_string() {
                Ok(value) if value.trim().is_empty() => {}
                Ok(value) => {
                    env.vars.insert(name, value);
                }
                Err(_) => env.not_utf8.push(name),
            }
        }
        env
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self::from_os(pairs.into_iter().map(|(k, v)| (OsString::from(k.into()), OsString::from(v.into()))))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub fn is_true(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The names of the set variables.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str).chain(self.not_utf8.iter().map(String::as_str))
    }

    pub fn pairs(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.vars.iter().map(|(k, v)| (k.clone(), v.clone()))
    }

    /// This environment with each of `set` replacing (or adding) a variable; an empty value unsets it.
    pub fn with(&self, set: &[(&str, &str)]) -> Env {
        let mut env = self.clone();
        for (name, value) in set {
            env.not_utf8.retain(|n| n != name);
            if value.trim().is_empty() {
                env.vars.remove(*name);
            } else {
                env.vars.insert((*name).to_string(), (*value).to_string());
            }
        }
        env
    }

    /// Names whose value is not valid UTF-8.
    pub fn not_utf8(&self) -> impl Iterator<Item = &str> {
        self.not_utf8.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn empty_values_are_unset_and_bad_bytes_are_kept_apart() {
        let env = Env::from_os([
            (OsString::from("A"), OsString::from("1")),
            (OsString::from("B"), OsString::from("  ")),
            (OsString::from("C"), OsString::from_vec(b"5m\xff".to_vec())),
        ]);
        assert_eq!((env.get("A"), env.get("B"), env.get("C")), (Some("1"), None, None));
        assert_eq!(env.not_utf8().collect::<Vec<_>>(), ["C"]);
        assert_eq!(env.names().collect::<Vec<_>>(), ["A", "C"]);
    }
}
