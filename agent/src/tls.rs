//! TLS for every HTTPS client kai makes (the model's reqwest client and kube's): one rustls
//! crypto provider for the process.

/// Installs the ring crypto provider for rustls, which reqwest and kube share. Harmless twice.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
