//! Phones started from a saved state.

use super::TestPhone;
use crate::conversation::Conversation;
use crate::harness::states;
use crate::harness::{MapKv, SavedStateError};
use crate::record::Record;
use crate::storage::{Change, Loaded, Storage};

impl TestPhone {
    /// A phone whose pair's conversation is already at `json`, a saved state of `C` at its
    /// current [`Conversation::STATE_VERSION`]: what `phone.state::<Value>()` or the dev
    /// phone's state panel show, or the state API's answer (an object with `state` and
    /// `state_version`, `count`, …, whose `state_version` and `count` are then used). The
    /// state rides in the pair's cookie, as if the last reply had left it, so the next text
    /// continues from it.
    ///
    /// ```
    /// use sms_conversation_worker::conversations::Survey;
    /// use sms_conversation_worker::harness::TestPhone;
    /// let mut phone = TestPhone::from_state::<Survey>(&[], r#"{"Zip": {"name": "Ada"}}"#).unwrap();
    /// assert_eq!(phone.text("94110").texts(), ["Can we text you updates? Reply Y for yes or N for no."]);
    /// // A state that does not read is an error, never a silent fresh start.
    /// assert!(TestPhone::from_state::<Survey>(&[], r#"{"Zap": 1}"#).is_err());
    /// ```
    pub fn from_state<C: Conversation>(
        vars: &[(&str, &str)],
        json: &str,
    ) -> Result<TestPhone, SavedStateError> {
        let saved = states::parse::<C>(json, None)?;
        TestPhone::new::<C>(vars)?.seeded(saved)
    }

    /// [`TestPhone::from_state`] for a state saved under `version` of `C`'s state (an older
    /// one is read through [`Conversation::upgrade`] on the next message, as the worker
    /// would); a `state_version` in `json` wins over `version`.
    pub fn from_state_version<C: Conversation>(
        vars: &[(&str, &str)],
        version: u32,
        json: &str,
    ) -> Result<TestPhone, SavedStateError> {
        let saved = states::parse::<C>(json, Some(version))?;
        TestPhone::new::<C>(vars)?.seeded(saved)
    }

    /// The pair's cookie now holds a record with `saved`'s state and count.
    fn seeded(mut self, saved: states::Snapshot) -> Result<TestPhone, SavedStateError> {
        let record = Record {
            seq: 1,
            count: saved.count,
            first_seen: self.now,
            last_seen: self.now,
            state: saved.state,
            ..Record::default()
        };
        let set_cookie = self.cookie_of(&record)?;
        self.keep_cookie(&set_cookie);
        Ok(self)
    }

    /// The `Set-Cookie` of a reply that left `record`: the state reaches the worker the way a
    /// real reply's would, sealed by the worker's own code.
    fn cookie_of(&self, record: &Record) -> Result<String, SavedStateError> {
        let storage = Storage::<MapKv>::new(
            &self.setup.config.storage,
            self.pair(),
            self.now,
            None,
            None,
        );
        let stored = storage.save(record, Change::Counted, &Loaded::default());
        stored
            .set_cookie
            .ok_or_else(|| SavedStateError::NoCookie(stored.error.map(|e| e.to_string())))
    }
}
