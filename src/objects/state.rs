//! The state API's calls in the pair's object (features `objects` and `state-api`).

use super::calls::{ObjectError, StateCall};
use super::follow_up::schedule;
use super::storage::{load_pair, load_record, save_record, ObjectStore};

use crate::app::{Runtime, Setup};
use crate::record::Pair;
use crate::storage::{Source, Store};

/// A call of the state API: the record the object keeps, read, ended or corrected. A change
/// cancels a follow-up asked for before it (its sequence no longer matches).
pub async fn state<S: Store, O: ObjectStore>(
    setup: &Setup,
    call: &StateCall,
    store: &O,
    rt: &Runtime<'_, S>,
) -> Result<(u16, String), ObjectError> {
    let conversation = setup.conversation.as_ref();
    let Some(stored_pair) = load_pair(store).await? else {
        let nobody = Pair {
            account_sid: "",
            to: "",
            from: "",
        };
        let (status, body, _) = crate::admin::apply(
            &call.op,
            &nobody,
            None,
            Source::Object,
            conversation,
            rt.now,
        );
        return Ok((status, body));
    };
    let pair = stored_pair.pair();
    let record = load_record(setup, store, &pair, rt.now).await?;
    let (status, body, changed) = crate::admin::apply(
        &call.op,
        &pair,
        record,
        Source::Object,
        conversation,
        rt.now,
    );
    if let Some(changed) = changed {
        save_record(setup, store, &pair, &changed, rt.now).await?;
        if call.op == crate::admin::StateOp::Reset {
            schedule(store, None, changed.seq, rt.now).await?;
        }
    }
    Ok((status, body))
}
