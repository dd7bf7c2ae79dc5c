//! The state API's calls in the pair's object (features `objects` and `state-api`).

use super::object::PairObject;
use super::store::ObjectStore;
use crate::object_calls::{ObjectError, StateCall};

use crate::object_calls::StateOp;
use crate::record::{Pair, Record};
use crate::seal::TooLarge;
use crate::storage::{Source, Store};

#[cfg_attr(
    not(any(target_arch = "wasm32", feature = "harness")),
    allow(dead_code)
)]
impl<O: ObjectStore, K: Store> PairObject<'_, O, K> {
    /// A call of the state API: the record the object keeps, read, ended or corrected. A
    /// change cancels a follow-up asked for before it (its sequence no longer matches).
    pub(crate) async fn state(&self, call: &StateCall) -> Result<(u16, String), ObjectError> {
        let Some(stored_pair) = self.load_pair().await? else {
            // No conversation yet: the state API answers as for nobody.
            let nobody = Pair {
                account_sid: "",
                to: "",
                from: "",
            };
            let (status, body, _) = self.apply(call, &nobody, None);
            return Ok((status, body));
        };
        let pair = stored_pair.pair();
        let record = self.load_record(&pair).await?;
        let (status, body, changed) = self.apply(call, &pair, record);
        if let Some(changed) = changed {
            match self.save_record(&pair, &changed).await {
                Err(ObjectError::TooLarge(e)) => return Ok(too_large(&e)),
                other => other?,
            }
            if call.op == StateOp::Reset {
                self.schedule(None, changed.seq).await?;
            }
        }
        Ok((status, body))
    }

    /// The state API's operation on the object's record: the answer and any changed record.
    fn apply(
        &self,
        call: &StateCall,
        pair: &Pair<'_>,
        record: Option<Record>,
    ) -> (u16, String, Option<Record>) {
        let conversation = self.setup.conversation.as_ref();
        let (op, now) = (&call.op, self.now());
        crate::state_ops::apply(op, pair, record, Source::Object, conversation, now)
    }
}

/// The answer to a change whose record is too large to keep: 413, the record kept before
/// unchanged.
fn too_large(e: &TooLarge) -> (u16, String) {
    let why = format!("the state is too large to keep: {}", e.detail());
    (413, serde_json::json!({ "error": why }).to_string())
}
