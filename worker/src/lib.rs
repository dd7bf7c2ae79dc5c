//! This repository's own worker: the shipped counter (the default) and survey, registered
//! the way any worker registers its conversations.

use sms_conversation_worker::conversations::{Counter, Survey};

sms_conversation_worker::worker!(Counter, Survey);
