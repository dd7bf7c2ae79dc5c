//! The conversations this crate ships, each behind its own cargo feature (`counter`,
//! `survey`, `studio`), registered by a worker the way any conversation is: by type, in
//! [`crate::worker!`].

#[cfg(feature = "counter")]
pub mod counter;
#[cfg(feature = "survey")]
pub mod survey;
#[cfg(feature = "studio")]
pub mod studio;
#[cfg(feature = "counter")]
pub mod template;

#[cfg(feature = "studio")]
pub use studio::Studio;
#[cfg(feature = "counter")]
pub use counter::Counter;
#[cfg(feature = "survey")]
pub use survey::Survey;
