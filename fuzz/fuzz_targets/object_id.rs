//! Arbitrary bytes as the start of a provider's response, read for the id
//! of the object it created: as a JSON object and as an event stream.
//!
//! Checks: the watcher never panics; what it finds does not depend on how
//! the bytes are cut into chunks (the first byte picks the cut); an id it
//! finds is one the gateway accepts in a URL; and for a JSON object with
//! one `"id"` key whose value is a valid id, it finds that id.
#![no_main]

use cordon_gateway::object_id::{IdWatcher, Watch, valid_id};
use libfuzzer_sys::fuzz_target;

fn watch(mut w: IdWatcher, data: &[u8], size: usize) -> Watch {
    for piece in data.chunks(size.max(1)) {
        let got = w.feed(piece);
        if got != Watch::NeedMore {
            return got;
        }
    }
    w.finish()
}

fuzz_target!(|input: &[u8]| {
    let Some((&cut, data)) = input.split_first() else {
        return;
    };
    for make in [IdWatcher::json as fn() -> IdWatcher, IdWatcher::sse] {
        let whole = watch(make(), data, data.len());
        let pieces = watch(make(), data, usize::from(cut % 17) + 1);
        assert_eq!(whole, pieces, "the answer depends on the chunking");
        if let Watch::Found(id) = &whole {
            assert!(valid_id(id), "{id:?}");
        }
    }
    let json = watch(IdWatcher::json(), data, data.len());
    if let Ok(serde_json::Value::Object(o)) = serde_json::from_slice(data)
        && let Some(id) = o.get("id").and_then(|v| v.as_str())
        && valid_id(id)
        && data.windows(4).filter(|w| w == b"\"id\"").count() == 1
    {
        assert_eq!(json, Watch::Found(id.to_owned()));
    }
});
