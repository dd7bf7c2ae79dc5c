//! The worker's vars and secrets as one lookup, and the error a bad one makes.
//!
//! A leaf module: the core configuration, the sealing keys and each conversation read their
//! own settings through [`Vars`], so none of them needs to know about the others.

use std::fmt;

/// A configuration variable that is missing or has an unusable value.
///
/// Its `Display` names the variable and the problem, never the value: values are
/// often secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable or secret, as named in `wrangler.toml` / `.dev.vars`.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl ConfigError {
    /// A problem with `variable`.
    pub fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        Self {
            variable,
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.variable, self.problem)
    }
}

impl std::error::Error for ConfigError {}

/// Vars and secrets by name (in the worker: `env.secret(name)`, then `env.var(name)`).
///
/// Empty values count as unset, so `KEY=` in `.dev.vars` means "default".
#[derive(Clone, Copy)]
pub struct Vars<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Vars<'a> {
    /// Wraps a lookup of variable names.
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup }
    }

    /// The value of `name`, trimmed; `None` when unset or blank.
    ///
    /// ```
    /// use sms_conversation_worker::vars::Vars;
    /// let lookup = |name: &str| (name == "GREETING").then(|| " hi ".to_string());
    /// let vars = Vars::new(&lookup);
    /// assert_eq!(vars.get("GREETING").as_deref(), Some("hi"));
    /// assert_eq!(vars.get("OTHER"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// `name` parsed as a boolean (`true`/`false`, `1`/`0`, `yes`/`no`), `default` when unset.
    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        let Some(v) = self.get(name) else {
            return Ok(default);
        };
        match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(ConfigError::new(name, "must be \"true\" or \"false\"")),
        }
    }

    /// `name` as a whole number within `range` (`unit` names it in the error), `default`
    /// when unset.
    pub fn number(
        &self,
        name: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
        unit: &str,
    ) -> Result<u64, ConfigError> {
        let Some(v) = self.get(name) else {
            return Ok(default);
        };
        match v.parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(ConfigError::new(
                name,
                format!(
                    "must be a whole number {unit} from {} to {}",
                    range.start(),
                    range.end()
                ),
            )),
        }
    }
}

impl fmt::Debug for Vars<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secrets.
        f.write_str("Vars(<lookup>)")
    }
}
