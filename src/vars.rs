//! The worker's vars and secrets as one lookup, and the error a bad one makes.
//!
//! A leaf module: the core configuration, the sealing keys and each conversation read their
//! own settings through [`Vars`], so none of them needs to know about the others.

use std::fmt;

/// A configuration variable that is missing or has an unusable value.
///
/// Its `Display` names the variable and the problem, never the value: values are
/// often secrets.
///
/// ```
/// use sms_conversation_worker::prelude::*;
///
/// /// Needs the clinic's API URL.
/// struct Clinic { api: String }
///
/// impl Conversation for Clinic {
///     const NAME: &'static str = "clinic";
///     type State = ();
///     fn new(vars: &Vars<'_>) -> Result<Self, ConfigError> {
///         let api = vars.get("CLINIC_API_URL").ok_or_else(|| ConfigError::new("CLINIC_API_URL", "is not set"))?;
///         Ok(Clinic { api })
///     }
///     async fn reply(&self, _: &InboundMessage, _: &View<'_>, _: &mut (), _: &Context<'_>) -> Reply {
///         Reply::text(format!("Asking {}", self.api))
///     }
/// }
///
/// // Every webhook of such a worker answers `500 misconfigured: CLINIC_API_URL is not set`.
/// let error = TestPhone::new::<Clinic>(&[]).err().unwrap();
/// assert_eq!(error.to_string(), "CLINIC_API_URL is not set");
/// assert!(TestPhone::new::<Clinic>(&[("CLINIC_API_URL", "https://clinic.test")]).is_ok());
/// ```
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
///
/// ```
/// use sms_conversation_worker::prelude::*;
///
/// let lookup = |name: &str| match name {
///     "REMIND" => Some("yes".to_string()),
///     "REMINDER_SECONDS" => Some("7200".to_string()),
///     "EMPTY" => Some(String::new()),
///     _ => None,
/// };
/// let vars = Vars::new(&lookup);
/// assert_eq!(vars.flag("REMIND", false), Ok(true));
/// assert_eq!(vars.number("REMINDER_SECONDS", 3600, 60..=86_400, "of seconds"), Ok(7200));
/// assert_eq!(vars.get("EMPTY"), None); // blank is unset: the default
/// let too_long = vars.number("REMINDER_SECONDS", 3600, 60..=3600, "of seconds").unwrap_err();
/// assert_eq!(too_long.variable, "REMINDER_SECONDS");
/// ```
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
