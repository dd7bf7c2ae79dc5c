//! The conversations this crate ships, each behind its own cargo feature (`counter`,
//! `survey`, `studio`), registered by a worker the way any conversation is: by type, in
//! [`crate::worker!`].

#[cfg(feature = "counter")]
pub mod counter;
#[cfg(feature = "studio")]
pub mod studio;
#[cfg(feature = "survey")]
pub mod survey;
#[cfg(feature = "counter")]
pub mod template;

#[cfg(feature = "counter")]
pub use counter::Counter;
#[cfg(feature = "studio")]
pub use studio::Studio;
#[cfg(feature = "survey")]
pub use survey::Survey;

/// The shipped conversations, for this crate's own tests, benches and fuzz targets (a
/// worker lists its own in [`crate::worker!`]).
#[cfg(all(feature = "counter", feature = "survey"))]
#[doc(hidden)]
pub static SHIPPED: crate::registry::Conversations = crate::registry::Conversations::new(&[
    crate::registry::Registered::of::<Counter>(),
    crate::registry::Registered::of::<Survey>(),
]);
