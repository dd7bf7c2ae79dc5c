//! This repository's own worker: the shipped counter (the default), survey and Studio flow
//! runner, registered the way any worker registers its conversations.

use sms_conversation_worker::conversations::{Counter, Studio, Survey};

sms_conversation_worker::worker!(Counter, Survey, Studio);
