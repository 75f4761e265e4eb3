//! The hash maps of the diagnosis's indexes: seeded foldhash rather than SipHash, as a
//! diagnosis of a 100,000-pod cluster hashes millions of keys (still seeded per process, so
//! names a cluster's users choose cannot be made to collide).

/// A hash map with the fast seeded hasher.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A hash set with the fast seeded hasher.
pub(crate) type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
