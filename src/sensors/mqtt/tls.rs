//! The rustls client configuration of an `mqtts://` broker, built from the PEM files of
//! `mqtt.tls_ca_file` and, for mutual TLS, `mqtt.tls_cert_file` and `mqtt.tls_key_file`.
//!
//! The files are read once, when the subscriber starts, so that a missing or malformed
//! file stops `citycore serve` with the name of its setting instead of failing each
//! reconnect. Replacing a certificate therefore needs a restart.

use std::{path::Path, sync::Arc};

use rustls::{
    ClientConfig, RootCertStore,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
};

use crate::config::MqttSettings;

/// A TLS file that cannot be used, with the setting that names it.
#[derive(Debug, thiserror::Error)]
pub enum TlsFileError {
    #[error("invalid setting {key}: cannot read {path}: {error}")]
    Unreadable { key: &'static str, path: String, error: std::io::Error },
    #[error("invalid setting {key}: {path} contains no PEM {expected} ({reason})")]
    NotPem { key: &'static str, path: String, expected: &'static str, reason: String },
    #[error("invalid setting {key}: {path} is not a usable {expected}: {reason}")]
    Rejected { key: &'static str, path: String, expected: &'static str, reason: String },
}

/// Builds the client configuration of a TLS broker, with the ring provider that the
/// HTTP and SMTP clients use too.
///
/// # Errors
/// [`TlsFileError`] naming the setting whose file is missing, unreadable, not PEM, or
/// rejected by rustls (a key that does not fit its certificate, for example).
pub fn client_config(settings: &MqttSettings) -> Result<ClientConfig, TlsFileError> {
    let roots = root_store(&settings.tls_ca_file)?;
    // NOTE: rustls 0.23.48 deprecates the ring provider because it lacks post-quantum key
    // exchange. The aws-lc-rs provider has it, but it is a second crypto library with a
    // C build, and reqwest and lettre here use ring.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default TLS versions")
        .with_root_certificates(roots);
    if settings.tls_cert_file.is_empty() {
        return Ok(builder.with_no_client_auth());
    }
    let chain = certificates("mqtt.tls_cert_file", &settings.tls_cert_file)?;
    let key = private_key(&settings.tls_key_file)?;
    builder.with_client_auth_cert(chain, key).map_err(|error| TlsFileError::Rejected {
        key: "mqtt.tls_key_file",
        path: settings.tls_key_file.clone(),
        expected: "private key of mqtt.tls_cert_file",
        reason: error.to_string(),
    })
}

fn root_store(path: &str) -> Result<RootCertStore, TlsFileError> {
    let key = "mqtt.tls_ca_file";
    let mut roots = RootCertStore::empty();
    for certificate in certificates(key, path)? {
        roots.add(certificate).map_err(|error| TlsFileError::Rejected {
            key,
            path: path.to_owned(),
            expected: "CA certificate",
            reason: error.to_string(),
        })?;
    }
    Ok(roots)
}

/// Reads every certificate of a PEM file; other PEM sections are skipped.
fn certificates(
    key: &'static str,
    path: &str,
) -> Result<Vec<CertificateDer<'static>>, TlsFileError> {
    let bytes = read(key, path)?;
    let not_pem = |reason: String| TlsFileError::NotPem {
        key,
        path: path.to_owned(),
        expected: "certificate",
        reason,
    };
    let certificates = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| not_pem(error.to_string()))?;
    if certificates.is_empty() {
        return Err(not_pem("no BEGIN CERTIFICATE section".to_owned()));
    }
    Ok(certificates)
}

fn private_key(path: &str) -> Result<PrivateKeyDer<'static>, TlsFileError> {
    let key = "mqtt.tls_key_file";
    let bytes = read(key, path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| TlsFileError::NotPem {
        key,
        path: path.to_owned(),
        expected: "private key",
        reason: error.to_string(),
    })
}

fn read(key: &'static str, path: &str) -> Result<Vec<u8>, TlsFileError> {
    std::fs::read(Path::new(path)).map_err(|error| TlsFileError::Unreadable {
        key,
        path: path.to_owned(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls_settings(ca: &Path) -> MqttSettings {
        MqttSettings {
            url: "mqtts://127.0.0.1".to_owned(),
            tls_ca_file: ca.display().to_string(),
            ..MqttSettings::default()
        }
    }

    #[test]
    fn client_config_names_a_missing_ca_file() {
        let dir = tempfile::tempdir().unwrap();
        let error = client_config(&tls_settings(&dir.path().join("absent.pem"))).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, TlsFileError::Unreadable { .. }), "{message}");
        assert!(message.contains("mqtt.tls_ca_file"), "{message}");
        assert!(message.contains("absent.pem"), "{message}");
    }

    #[test]
    fn client_config_rejects_a_ca_file_without_pem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.der");
        std::fs::write(&path, [0x30, 0x82, 0x01, 0x0a]).unwrap();
        let error = client_config(&tls_settings(&path)).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, TlsFileError::NotPem { .. }), "{message}");
        assert!(message.contains("mqtt.tls_ca_file"), "{message}");
    }

    #[test]
    fn client_config_rejects_a_malformed_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        let text = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        std::fs::write(&path, text).unwrap();
        let error = client_config(&tls_settings(&path)).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, TlsFileError::Rejected { .. }), "{message}");
        assert!(message.contains("mqtt.tls_ca_file"), "{message}");
    }
}
