//! What the person asked for, read from the message alone: Twilio's keywords and the reset
//! keyword come before any state is read.

use crate::config::Config;
use crate::conversation::InboundMessage;

/// Twilio's opt-out keywords (Advanced Opt-Out's defaults). On SMS Twilio confirms the
/// opt-out itself and refuses anything sent after it (error 21610), so the answer is an empty
/// `<Response/>`; on WhatsApp nothing stops a sender but the pair's own opt-out.
const STOP_KEYWORDS: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "REVOKE",
];

/// Twilio's opt-in keywords. `YES` opts in only a person who opted out: from anyone else it
/// is an answer like any other.
const START_KEYWORDS: &[&str] = &["START", "UNSTOP"];

pub(super) const YES: &str = "YES";

/// Twilio's help keywords, answered with `HELP_REPLY` when it is set.
const HELP_KEYWORDS: &[&str] = &["HELP", "INFO"];

/// What the person asked for, before any state is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intent {
    /// A message for the conversation.
    Message,
    /// The reset keyword: forget the conversation.
    Reset,
    /// An opt-out keyword: the pair is opted out; Twilio answers it, we stay silent.
    OptOut,
    /// An opt-in keyword: the opt-out, if any, is cleared.
    OptIn,
    /// A help keyword, with `HELP_REPLY` set.
    Help,
    /// A delivery report pointed at this URL: not a message.
    StatusCallback,
}

impl Intent {
    pub(crate) fn of(message: &InboundMessage, config: &Config) -> Intent {
        if message.is_status_callback() {
            Intent::StatusCallback
        } else {
            Intent::keyword(message, config)
        }
    }

    /// What a message's word (or Twilio's name for its kind) asks for.
    fn keyword(message: &InboundMessage, config: &Config) -> Intent {
        let word = message.body.trim();
        // With Advanced Opt-Out, Twilio names the keyword's kind whatever its wording.
        let kind = message.opt_out_type.as_deref().unwrap_or("");
        if word.eq_ignore_ascii_case(&config.reset_keyword) {
            Intent::Reset
        } else if asks(word, kind, STOP_KEYWORDS, "STOP") {
            Intent::OptOut
        } else if asks(word, kind, START_KEYWORDS, "START") {
            Intent::OptIn
        } else if config.help_reply.is_some() && asks(word, kind, HELP_KEYWORDS, "HELP") {
            Intent::Help
        } else {
            Intent::Message
        }
    }
}

/// Whether `word` is one of `keywords`, or Twilio named the message's kind `name`.
fn asks(word: &str, kind: &str, keywords: &[&str], name: &str) -> bool {
    keywords.iter().any(|k| k.eq_ignore_ascii_case(word)) || kind.eq_ignore_ascii_case(name)
}
