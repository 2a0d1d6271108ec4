//! Integration tests of `cordon-audit` through its public API: snapshots of
//! every text format it emits, interoperability with published vectors, and
//! property tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test fixtures fail the test loudly"
)]

mod formats;
mod interop;
mod props;

use cordon_audit::SigningKey;

/// Snapshot assertion storing snapshots in `tests/snapshots/`.
macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}
pub(crate) use snap;

/// The fixed test key: deterministic Ed25519 signatures make snapshots stable.
pub fn test_key() -> SigningKey {
    SigningKey::from_seed("audit.example.com/cordon", [0x42; 32]).unwrap()
}
