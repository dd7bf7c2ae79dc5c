//! What carries over between texts: the cookie jar, the clock, the isolate.

use super::TestPhone;
use crate::seal::our_cookie_values;
use crate::storage::{Memory, TWILIO_COOKIE_SECONDS};

impl TestPhone {
    /// Drops the pair's cookie, as Twilio may.
    pub fn lose_cookie(&mut self) {
        self.jar = None;
    }

    /// Lets `seconds` pass (the cookie goes when its `Max-Age` has); with objects bound,
    /// the alarms that fall due meanwhile fire, in order: the follow-ups due are sent
    /// ([`TestPhone::sent`]), as the pair's object would send them.
    pub fn wait(&mut self, seconds: u64) {
        let until = self.now + seconds;
        while let Some(at) = self.next_alarm_by(until) {
            self.now = at.max(self.now);
            self.sync_clock();
            if let Some(objects) = &self.objects {
                objects.fire_alarms();
            }
        }
        self.now = until;
        self.sync_clock();
    }

    /// The next alarm due by `until`, when the objects are bound: the wait stops at each, in
    /// order, as time would.
    fn next_alarm_by(&self, until: u64) -> Option<u64> {
        self.objects
            .as_ref()?
            .next_alarm()
            .filter(|at| *at <= until)
    }

    /// The next messages reach another isolate, which remembers nothing.
    pub fn new_isolate(&mut self) {
        self.memory = Memory::default();
    }

    /// The cookie the phone would send now.
    pub fn cookie(&self) -> Option<&str> {
        self.jar
            .as_ref()
            .filter(|(_, expires)| self.now < *expires)
            .map(|(c, _)| c.as_str())
    }

    /// Replaces the pair's cookie (e.g. with an older one).
    pub fn set_cookie(&mut self, cookie: Option<String>) {
        self.jar = cookie.map(|c| (c, u64::MAX));
    }

    /// Stores a `Set-Cookie` as Twilio's jar would: the value until `Max-Age`, or nothing.
    pub(super) fn keep_cookie(&mut self, set_cookie: &str) {
        let max_age = max_age(set_cookie);
        let value = set_cookie.split(';').next().unwrap_or("");
        self.jar = (max_age > 0 && !our_cookie_values(value).iter().all(String::is_empty))
            .then(|| (value.to_string(), self.now + max_age));
    }
}

/// A `Set-Cookie`'s `Max-Age`, at most the four hours Twilio keeps a cookie (without one
/// too).
fn max_age(set_cookie: &str) -> u64 {
    set_cookie
        .split(';')
        .filter_map(|attr| attr.trim().strip_prefix("Max-Age="))
        .find_map(|v| v.parse::<u64>().ok())
        .map_or(TWILIO_COOKIE_SECONDS, |s| s.min(TWILIO_COOKIE_SECONDS))
}
