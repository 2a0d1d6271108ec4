//! Publishing an approved change to a fleet: when the console serves nodes
//! that share a PostgreSQL store, an approval signs the whole set as a
//! bundle with the publisher's key and makes it the fleet's active version,
//! as `cordon directives publish` does, instead of changing one node's files.

use std::path::Path;
use std::sync::Arc;

use cordon_audit::SigningKey;
use cordon_fleet::{Bundle, BundleFile, SignedBundle};
use cordon_source::SourceFile;
use cordon_store::postgres::Published;
use cordon_store::{PostgresStore, StoreError};

use crate::ConsoleError;

/// Where bundles are published: the fleet's shared store.
pub trait BundleStore: Send + Sync {
    /// Stores a signed bundle and makes it the fleet's active version
    /// ([`PostgresStore::publish_bundle`]).
    ///
    /// # Errors
    /// Storage failures, or an id that is not a bundle id.
    fn publish_bundle(
        &self,
        id: &str,
        policy_version: &str,
        content: &[u8],
        signature: &str,
    ) -> Result<Published, StoreError>;
}

impl BundleStore for PostgresStore {
    fn publish_bundle(
        &self,
        id: &str,
        policy_version: &str,
        content: &[u8],
        signature: &str,
    ) -> Result<Published, StoreError> {
        PostgresStore::publish_bundle(self, id, policy_version, content, signature)
    }
}

/// The publisher's key and the store it publishes to.
pub struct Publisher {
    /// The private key nodes trust the public half of (`fleet.publisher_keys`).
    pub key: SigningKey,
    /// The fleet's shared store.
    pub store: Arc<dyn BundleStore>,
}

impl Publisher {
    /// Signs `files` and `catalog`, which compile to `policy_version`, as a
    /// bundle and makes it the fleet's active version.
    ///
    /// # Errors
    /// [`ConsoleError::Publish`] when it cannot be signed or stored.
    pub fn publish(
        &self,
        policy_version: &str,
        files: &[SourceFile],
        catalog: &SourceFile,
    ) -> Result<(SignedBundle, Published), ConsoleError> {
        let bundle = Bundle::new(
            policy_version,
            files.iter().map(bundle_file).collect(),
            bundle_file(catalog),
        );
        let signed = bundle
            .sign(&self.key)
            .map_err(|e| ConsoleError::Publish(e.to_string()))?;
        let published = self
            .store
            .publish_bundle(
                &signed.id,
                policy_version,
                &signed.content,
                &signed.signature,
            )
            .map_err(|e| ConsoleError::Publish(e.to_string()))?;
        Ok((signed, published))
    }
}

/// A file as a bundle holds it: named without its directory.
fn bundle_file(f: &SourceFile) -> BundleFile {
    BundleFile {
        name: Path::new(f.name())
            .file_name()
            .map_or_else(|| f.name().to_owned(), |n| n.to_string_lossy().into_owned()),
        text: f.text().to_owned(),
    }
}
